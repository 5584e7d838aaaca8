"""Embedding and Masking: where token sequences enter a model, and where their padding is marked.

Both produce a mask (batch, timesteps) that Sequential hands to the next layers, so recurrent
layers skip padded steps: Embedding(mask_zero=True) masks token 0, Masking masks the steps whose
features all equal `mask_value`.
"""

from __future__ import annotations

from nhanh import constraints, initializers, ops, regularizers
from nhanh.layers.layer import Layer


def _maybe(fn, value):
    return None if value is None else fn(value)


class Embedding(Layer):
    """Maps integer indices (any shape) to rows of an (input_dim, output_dim) matrix.

    Args:
        input_dim: Positive int, the vocabulary size (largest index + 1).
        output_dim: Positive int, the length of each embedding vector.
        embeddings_initializer: Initializer of the embedding matrix (name, callable or instance).
        embeddings_regularizer: Regularizer of the embedding matrix, added to the loss.
        embeddings_constraint: Constraint applied to the embedding matrix after each update.
        mask_zero: If True, index 0 is padding: the layer outputs a mask that is False there, so
            later layers (e.g. recurrent ones) skip those steps.
        weights: Initial embedding matrix (or a one-element list holding it), e.g. pretrained
            vectors; builds the layer at once.
        quantization_config: Keras's quantization settings; only `None` is accepted (Keras's
            configs carry it as null).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...); Keras 2's `input_length`
            is accepted and ignored (any sequence length works).
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None,
                 mask_zero: bool = False, weights=None, quantization_config=None, **kwargs):
        kwargs.pop("input_length", None)  # Keras 2's argument; the sequence length is free
        super().__init__(**kwargs)
        if quantization_config is not None:  # Keras 3.15 writes it (null) in every config
            raise NotImplementedError(f"{type(self).__name__}: `quantization_config` is not "
                                      "implemented in nhanh; leave it None (got "
                                      f"quantization_config={quantization_config!r}).")
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding `{arg}` must be a positive integer, got {value!r}.")
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self._initial_weights = weights
        if weights is not None:
            self.build()

    def build(self, input_shape=None) -> None:
        if getattr(self, "embeddings", None) is not None:
            return
        self.embeddings = self.add_weight((self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint,
                                          name="embeddings")
        if self._initial_weights is not None:  # Keras's `weights=[matrix]` (pretrained vectors)
            weights, self._initial_weights = self._initial_weights, None
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])

    def call(self, inputs):
        if "int" not in ops.dtype(inputs):
            inputs = ops.cast(inputs, "int32")
        return ops.take(self.embeddings.value, inputs, axis=0)

    def compute_mask(self, inputs, mask=None):
        """True where the index is not 0 (with mask_zero), else no mask."""
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": _maybe(regularizers.serialize,
                                                 self.embeddings_regularizer),
                "activity_regularizer": _maybe(regularizers.serialize, self.activity_regularizer),
                "embeddings_constraint": _maybe(constraints.serialize,
                                                self.embeddings_constraint),
                "mask_zero": self.mask_zero}


class Masking(Layer):
    """Marks the timesteps whose features all equal `mask_value` as padding, and zeroes them.

    Args:
        mask_value: The value that marks padding: a step is masked when every feature of it equals
            this value.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def _keep(self, inputs, keepdims: bool = False):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=keepdims)

    def call(self, inputs):
        return ops.where(self._keep(inputs, keepdims=True), inputs, ops.zeros_like(inputs))

    def compute_mask(self, inputs, mask=None):
        """True at the steps with at least one feature different from mask_value."""
        return self._keep(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}
