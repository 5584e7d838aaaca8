"""AlphaDropout: dropout for self-normalizing (SELU) networks (Klambauer et al., 2017).

Plain dropout zeroes entries and rescales, which moves the mean and variance that SELU keeps
at 0 and 1. AlphaDropout sets dropped entries to SELU's negative saturation value instead and
applies the affine map that brings a zero-mean, unit-variance input back to zero mean and unit
variance, as Keras 3 does.
"""

from __future__ import annotations

from nhanh import ops, random
from nhanh.layers.layer import Layer

_ALPHA = 1.6732632423543772848170429916717
_SCALE = 1.0507009873554804934193349852946
#: SELU's limit for very negative inputs: where dropped entries are set.
ALPHA_PRIME = -_ALPHA * _SCALE


def _check_noise_shape(noise_shape):
    if noise_shape is None:
        return None
    bad = isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__")
    items = () if bad else tuple(noise_shape)
    if bad or not all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0)
                      for d in items):
        raise ValueError("AlphaDropout: `noise_shape` must be a tuple of positive ints or None "
                         f"(None takes the input's size), got noise_shape={noise_shape!r}.")
    return items


class AlphaDropout(Layer):
    """While training, sets a fraction `rate` of entries to SELU's saturation value and rescales
    so mean and variance are kept; identity otherwise. Masks pass through.

    Args:
        rate: Float in [0, 1], the probability of dropping an entry.
        noise_shape: Shape of the keep/drop mask, broadcast against the inputs (e.g. `(batch, 1,
            features)` drops the same features at every step); a `None` entry takes the input's
            size. `None` means the input's shape.
        seed: Int seed for repeatable draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"AlphaDropout: `rate` must be a float in [0, 1], got rate={rate!r}.")
        self.rate, self.seed = float(rate), seed
        self.noise_shape = _check_noise_shape(noise_shape)
        self.seed_generator = random.SeedGenerator(seed, name=f"{self.name}/seed")

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        if self.rate >= 1:  # everything dropped: the limit of the affine map below is 0
            return ops.zeros_like(inputs)
        shape = tuple(inputs.shape) if self.noise_shape is None else tuple(
            inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        keep = ops.greater_equal(random.uniform(shape, seed=self.seed_generator), self.rate)
        kept = ops.cast(keep, ops.dtype(inputs))
        rate = self.rate
        a = ((1 - rate) * (1 + rate * ALPHA_PRIME ** 2)) ** -0.5
        b = -a * ALPHA_PRIME * rate
        return a * (inputs * kept + ALPHA_PRIME * (1 - kept)) + b

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}
