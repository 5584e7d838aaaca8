"""The Initializer base class and the host-side helpers every initializer shares.

Initial values are computed on the host with NumPy and converted once to the current backend, so
one seed gives bit-identical starting weights on JAX and on PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nhanh import config, ops
from nhanh import random as nhanh_random

Shape = tuple[int, ...]


class Initializer:
    """Makes an initial array: `init(shape, dtype=None)` -> array of the current backend."""

    def __call__(self, shape: Shape, dtype: str | None = None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype).")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Initializer":
        return cls(**config)

    def clone(self) -> "Initializer":
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class RandomInitializer(Initializer):
    """An initializer that draws from a NumPy generator seeded per call.

    With an int seed every call gives the same values; with seed=None each call takes a fresh
    seed from nhanh's global generator, which `nhanh.utils.set_random_seed` makes repeatable.

    Args:
        seed: Int seed, or `None` for a fresh seed per call.
    """

    def __init__(self, seed: int | None = None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
            raise ValueError(f"{type(self).__name__}: `seed` must be an int or None, "
                             f"got {seed!r}.")
        self.seed = None if seed is None else int(seed)

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(nhanh_random.draw_seed() if self.seed is None else self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


def standardize_shape(shape) -> Shape:
    """`shape` as a tuple of non-negative ints, or a ValueError that says what came."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = (None,)
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0
               for d in dims):
        raise ValueError(f"An initializer needs a shape of non-negative ints, got {shape!r}.")
    return tuple(int(d) for d in dims)


def float_dtype(dtype: str | None, who: str) -> str:
    """The dtype to create (floatx by default); random draws only make sense for floats."""
    dtype = dtype or config.floatx()
    if not str(dtype).startswith(("float", "bfloat")):
        raise ValueError(f"{who} draws random floats; it cannot make dtype {dtype!r}. "
                         "Use a float dtype such as 'float32'.")
    return str(dtype)


def to_backend(array: np.ndarray, dtype: str | None = None):
    """Host array -> current backend array of `dtype` (floatx by default).

    Narrow floats are rounded to float32 on the host, so both engines receive the same bits.
    """
    dtype = str(dtype or config.floatx())
    if dtype in ("float32", "float16", "bfloat16"):
        array = np.asarray(array, dtype="float32")
    return ops.convert_to_tensor(array, dtype)


def truncated_normal(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Standard normal draws, those beyond 2 standard deviations redrawn (as Keras does)."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values
