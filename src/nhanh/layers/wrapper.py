"""Wrapper: the base of layers that hold one other layer and change how it runs (Keras's
`keras.layers.Wrapper`; SpectralNormalization is one)."""

from __future__ import annotations

from nhanh.layers.layer import Layer
from nhanh.layers.serialization import serialize


class Wrapper(Layer):
    """Holds `layer`, builds it with the wrapper, and saves it inside the wrapper's config.

    Subclasses write `call` (usually calling `self.layer`) and whatever else they change.

    Args:
        layer: The layer instance to wrap; its weights are the wrapper's weights too.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, layer: Layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: `layer` must be a layer instance (e.g. "
                             f"Dense(3)), got {layer!r}.")
        super().__init__(**kwargs)
        if self._batch_input_shape is None:  # Wrapper(Dense(3, input_shape=(4,)))
            self._batch_input_shape = layer._batch_input_shape
        self.layer = layer

    def build(self, input_shape=None) -> None:
        self.layer._maybe_build(input_shape)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(),
                "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict) -> "Wrapper":
        from nhanh.layers.serialization import deserialize

        config = dict(config)
        layer = config.pop("layer")
        return cls(layer if isinstance(layer, Layer) else deserialize(layer), **config)
