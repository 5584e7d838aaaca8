"""Regularization layers: Dropout."""

from __future__ import annotations

from nhanh import random
from nhanh.layers.layer import Layer


class Dropout(Layer):
    """Zeroes a fraction `rate` of inputs while training, scaling the rest; identity otherwise."""

    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Dropout rate must be in [0, 1], got {rate!r}.")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed
        self.seed_generator = random.SeedGenerator(seed, name=f"{self.name}/seed")

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            return random.dropout(inputs, self.rate, self.noise_shape, seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}
