"""Pipeline: a plain layer that applies its layers in order (Keras's preprocessing chain).

Unlike Sequential it is not a Model: no compile or fit, just one layer that other models can hold.
As in Keras, a call that does not say `training` runs the layers in training mode (so augmentation
layers act when the pipeline is mapped over data); a model passes its own `training` down. Each
layer receives the mask the previous one computed.
"""

from __future__ import annotations

from typing import Sequence

from nhanh.layers.layer import Layer, _accepts
from nhanh.layers.serialization import serialize


class Pipeline(Layer):
    """Applies `layers` one after another to the input.

    Args:
        layers: List of layer instances, applied in order.
        name: Name of the layer; `None` derives a unique one.
    """

    def __init__(self, layers: Sequence[Layer], name: str | None = None, **kwargs):
        if not isinstance(layers, (list, tuple)) or not all(isinstance(la, Layer)
                                                           for la in layers):
            raise ValueError("Pipeline: `layers` must be a list of layer instances, e.g. "
                             f"[Rescaling(1 / 255), Dense(3)], got {layers!r}.")
        super().__init__(name=name, **kwargs)
        self._pipeline_layers = list(layers)
        self._layers.extend(la for la in layers if la not in self._layers)

    @property
    def layers(self) -> list[Layer]:
        return list(self._pipeline_layers)

    def build(self, input_shape=None) -> None:
        """Build each layer on the shape the previous one outputs."""
        for layer in self._pipeline_layers:
            if input_shape is None:
                return
            layer._maybe_build(input_shape)
            input_shape = layer.compute_output_shape(input_shape)

    def call(self, inputs, training=None, mask=None):
        training = True if training is None else training  # Keras's default for a Pipeline
        for layer in self._pipeline_layers:
            outputs = layer(inputs, **self._kwargs(layer, training, mask))
            mask = layer.compute_mask(inputs, mask)
            inputs = outputs
        return inputs

    def compute_mask(self, inputs, mask=None):
        """The mask the last layer computes, followed through every layer. Layers that only
        pass a mask on (or drop it) need no values; one that computes its own (Embedding,
        Masking) is shown the real output of the layers before it."""
        last = max((i for i, la in enumerate(self._pipeline_layers)
                    if type(la).compute_mask is not Layer.compute_mask), default=-1)
        for i, layer in enumerate(self._pipeline_layers):
            if i >= last:
                mask = layer.compute_mask(inputs, mask)
                continue
            outputs = layer(inputs, **self._kwargs(layer, False, mask))
            mask, inputs = layer.compute_mask(inputs, mask), outputs
        return mask

    @staticmethod
    def _kwargs(layer: Layer, training, mask) -> dict:
        kwargs = {}
        if _accepts(type(layer).call, "training"):
            kwargs["training"] = training
        if mask is not None and _accepts(type(layer).call, "mask"):
            kwargs["mask"] = mask
        return kwargs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self) -> dict:
        return {"name": self.name,
                "layers": [serialize(la) for la in self._pipeline_layers]}

    @classmethod
    def from_config(cls, config: dict) -> "Pipeline":
        from nhanh.layers.serialization import deserialize

        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError("Pipeline: the config must hold a `layers` list of serialized "
                             f"layers, got layers={layers!r}.")
        config = dict(config)
        config["layers"] = [la if isinstance(la, Layer) else deserialize(la)
                            for la in layers]
        return cls(**config)
