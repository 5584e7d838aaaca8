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
    """Reseed the host generator that hands seeds to layers and initializers.

    `nhanh.utils.set_random_seed` calls this; objects created afterwards draw repeatable
    seeds.

    Args:
        seed: An int, or `None` for fresh entropy from the operating system.
    """
    global _global_rng
    _global_rng = np.random.default_rng(seed)


def draw_seed() -> int:
    """A fresh integer seed from the global host generator.

    Returns:
        An int in [0, 2**31 - 1).
    """
    return int(_global_rng.integers(0, 2**31 - 1))


class SeedGenerator:
    """Produces a new seed on each `next()`; its state is a Variable.

    Because the state is a Variable, a compiled training step carries and advances it like
    any other state.

    Args:
        seed: Initial seed (an int, taken modulo 2**31); `None` draws one from the global
            host generator (see `set_global_seed`).
        name: Name of the state Variable.
    """

    def __init__(self, seed: int | None = None, name: str = "seed_generator"):
        seed = draw_seed() if seed is None else int(seed)
        self.state = Variable(np.array([seed % 2**31, 0], dtype="int32"), shape=(2,),
                              dtype="int32", trainable=False, name=name)

    def next(self):
        """The current seed state (a 2-element int32 tensor); advances the counter."""
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
    """Draws from a normal (Gaussian) distribution.

    Args:
        shape: Shape of the result, a tuple of ints.
        mean: Mean of the distribution.
        stddev: Standard deviation of the distribution.
        dtype: Float dtype of the result (`"float32"` by default, not `floatx()`).
        seed: An int for reproducible draws (the same int gives the same numbers), a
            `SeedGenerator` (advanced by each call, so inside a training step every step
            draws anew), or `None` for a module-wide generator seeded from the global
            host generator.

    Returns:
        A tensor of `shape`.
    """
    return _backend.get().random.normal(shape, _seed(seed), mean, stddev, dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype="float32", seed=None):
    """Draws from a uniform distribution on [minval, maxval).

    Args:
        shape: Shape of the result, a tuple of ints.
        minval: Lower bound (included).
        maxval: Upper bound (excluded).
        dtype: Float dtype of the result (`"float32"` by default, not `floatx()`).
        seed: An int for reproducible draws (the same int gives the same numbers), a
            `SeedGenerator` (advanced by each call, so inside a training step every step
            draws anew), or `None` for a module-wide generator seeded from the global
            host generator.

    Returns:
        A tensor of `shape`.
    """
    return _backend.get().random.uniform(shape, _seed(seed), minval, maxval, dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
    """Draws from a normal distribution conditioned on lying within 2 `stddev` of `mean`.

    Args:
        shape: Shape of the result, a tuple of ints.
        mean: Mean of the untruncated distribution.
        stddev: Standard deviation of the untruncated distribution (the draws' own is
            about 0.88 times it).
        dtype: Float dtype of the result (`"float32"` by default, not `floatx()`).
        seed: An int for reproducible draws (the same int gives the same numbers), a
            `SeedGenerator` (advanced by each call, so inside a training step every step
            draws anew), or `None` for a module-wide generator seeded from the global
            host generator.

    Returns:
        A tensor of `shape`.
    """
    return _backend.get().random.truncated_normal(shape, _seed(seed), mean, stddev, dtype)


def dropout(inputs, rate: float, noise_shape=None, seed=None):
    """Zero each entry with probability `rate`; scale the rest by 1 / (1 - rate).

    The scaling keeps the expected value of each entry unchanged (inverted dropout).

    Args:
        inputs: Input tensor.
        rate: Probability of dropping an entry, in [0, 1).
        noise_shape: Shape of the keep/drop mask, broadcast against `inputs` (e.g.
            `(batch, 1, features)` drops whole features for every time step); a `None`
            entry takes `inputs`' length on that axis. `None` means `inputs`' shape.
        seed: An int for reproducible draws (the same int gives the same numbers), a
            `SeedGenerator` (advanced by each call, so inside a training step every step
            draws anew), or `None` for a module-wide generator seeded from the global
            host generator.

    Returns:
        A tensor of `inputs`' shape.
    """
    inputs = ops.convert_to_tensor(inputs)
    shape = tuple(inputs.shape) if noise_shape is None else tuple(
        inputs.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    keep = _backend.get().random.bernoulli(shape, _seed(seed), 1.0 - rate)
    return ops.where(keep, inputs / (1.0 - rate), ops.zeros_like(inputs))


def shuffle_indices(n: int, seed=None):
    """A random permutation of `range(n)`, for shuffling a data set (not in Keras).

    Args:
        n: Number of indices.
        seed: An int for reproducible draws (the same int gives the same numbers), a
            `SeedGenerator` (advanced by each call, so inside a training step every step
            draws anew), or `None` for a module-wide generator seeded from the global
            host generator.

    Returns:
        An integer tensor of length `n` holding each of 0 ... n - 1 once.
    """
    return _backend.get().random.permutation(n, _seed(seed))


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
