"""Activation: applies an activation function as a layer."""

from __future__ import annotations

from nhanh import activations
from nhanh.layers.layer import Layer


class Activation(Layer):
    """Applies an activation function to its inputs, element-wise; a mask passes through.

    Args:
        activation: Activation function: a name such as `"relu"`, a callable, or `None` (linear).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
