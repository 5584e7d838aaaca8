"""Seeded random numbers that work inside compiled training steps.

A SeedGenerator keeps its state in a Variable, so every draw advances state that the training
step carries like any other; the same seed gives the same draws.
"""

from __future__ import annotations

import numpy as np

from nhanh import backend as _backend
from nhanh import ops
from nhanh.variables import Variable

_global_rng = np.random.default_rng()


def set_global_seed(seed: int | None) -> None:
    """Reseed the host generator that hands seeds to layers and initializers."""
    global _global_rng
    _global_rng = np.random.default_rng(seed)


def draw_seed() -> int:
    """A fresh integer seed from the global host generator."""
    return int(_global_rng.integers(0, 2**31 - 1))


class SeedGenerator:
    """Produces a new seed on each `next()`; its state is a Variable."""

    def __init__(self, seed: int | None = None, name: str = "seed_generator"):
        seed = draw_seed() if seed is None else int(seed)
        self.state = Variable(np.array([seed % 2**31, 0], dtype="int32"), shape=(2,),
                              dtype="int32", trainable=False, name=name)

    def next(self):
        state = self.state.value
        self.state.assign(state + ops.convert_to_tensor(np.array([0, 1], dtype="int32")))
        return state


_default_generator: SeedGenerator | None = None


def _seed(seed):
    global _default_generator
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        if _default_generator is None or _default_generator.state._backend is not _backend.get():
            _default_generator = SeedGenerator()
        return _default_generator.next()
    return np.array([int(seed) % 2**31, 0], dtype="int32")


def normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
    return _backend.get().random.normal(shape, _seed(seed), mean, stddev, dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype="float32", seed=None):
    return _backend.get().random.uniform(shape, _seed(seed), minval, maxval, dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
    return _backend.get().random.truncated_normal(shape, _seed(seed), mean, stddev, dtype)


def dropout(inputs, rate: float, noise_shape=None, seed=None):
    """Zero each entry with probability `rate`; scale the rest by 1 / (1 - rate)."""
    inputs = ops.convert_to_tensor(inputs)
    shape = tuple(inputs.shape) if noise_shape is None else tuple(
        inputs.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    keep = _backend.get().random.bernoulli(shape, _seed(seed), 1.0 - rate)
    return ops.where(keep, inputs / (1.0 - rate), ops.zeros_like(inputs))


def shuffle_indices(n: int, seed=None):
    return _backend.get().random.permutation(n, _seed(seed))
