"""ReversibleEmbedding: an Embedding that can also project hidden states back to vocabulary logits.

Language models often tie the output projection to the input embedding (Press and Wolf, 2016):
`layer(tokens)` looks rows up, `layer(hidden, reverse=True)` multiplies by the transposed matrix.
With `tie_weights=False` the reverse projection has its own (output_dim, input_dim) matrix,
created after `embeddings` so the weight order matches Keras.
"""

from __future__ import annotations

from nhanh import ops
from nhanh.layers.embedding import Embedding


class ReversibleEmbedding(Embedding):
    """An embedding whose `reverse=True` call maps (..., output_dim) to (..., input_dim) logits.

    Args:
        input_dim: Positive int, the vocabulary size (largest index + 1).
        output_dim: Positive int, the length of each embedding vector.
        tie_weights: If True, the reverse projection is the transposed `embeddings`; otherwise
            it is a separate trainable `reverse_embeddings` matrix (output_dim, input_dim).
        embeddings_initializer: Initializer of the embedding matrix (and of the untied reverse
            matrix).
        embeddings_regularizer: Regularizer of the embedding matrix, added to the loss.
        embeddings_constraint: Constraint applied to the embedding matrix after each update.
        mask_zero: If True, index 0 is padding and the forward call outputs a mask.
        reverse_dtype: Dtype of the reverse projection's matmul (e.g. "float32" for logits of a
            float16 model); `None` keeps the layer's dtype.
        logit_soft_cap: If set, reverse logits become `tanh(logits / cap) * cap`, bounding them
            to (-cap, cap).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, input_dim: int, output_dim: int, tie_weights: bool = True,
                 embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero: bool = False,
                 reverse_dtype: str | None = None, logit_soft_cap: float | None = None,
                 **kwargs):
        if logit_soft_cap is not None and not logit_soft_cap > 0:
            raise ValueError("ReversibleEmbedding: `logit_soft_cap` must be a positive number "
                             f"or None, got {logit_soft_cap!r}.")
        # Set before Embedding.__init__, which builds at once when given `weights=`.
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap
        self.reverse_embeddings = None
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)

    def build(self, input_shape=None) -> None:
        if getattr(self, "embeddings", None) is not None:
            return
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                (self.output_dim, self.input_dim), self.embeddings_initializer,
                name="reverse_embeddings")

    def call(self, inputs, reverse: bool = False):
        if not reverse:
            return super().call(inputs)
        if inputs.shape[-1] != self.output_dim:
            raise ValueError(f"Layer {self.name!r} (ReversibleEmbedding) with reverse=True "
                             f"expects inputs (..., {self.output_dim}), but received shape "
                             f"{tuple(inputs.shape)}.")
        kernel = (ops.transpose(self.embeddings.value) if self.tie_weights
                  else self.reverse_embeddings.value)
        if self.reverse_dtype is not None:
            inputs = ops.cast(inputs, self.reverse_dtype)
            kernel = ops.cast(kernel, self.reverse_dtype)
        logits = ops.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            cap = self.logit_soft_cap
            logits = ops.tanh(logits / cap) * cap
        return logits

    def compute_mask(self, inputs, mask=None):
        """The forward call's mask (mask_zero on integer ids); none for the reverse call."""
        if "int" not in ops.dtype(inputs):
            return None
        return super().compute_mask(inputs, mask)

    def compute_output_shape(self, input_shape, reverse: bool = False):
        if reverse:
            return (*input_shape[:-1], self.input_dim)
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "tie_weights": self.tie_weights,
                "reverse_dtype": self.reverse_dtype, "logit_soft_cap": self.logit_soft_cap}
