"""Initializers whose values are fixed: zeros, ones, a constant, the identity matrix."""

from __future__ import annotations

from typing import Any

import numpy as np

from nhanh import ops
from nhanh.initializers.initializer import Initializer, Shape, standardize_shape, to_backend


class Constant(Initializer):
    """Every entry equals `value` (a scalar, or an array that broadcasts to the shape).

    Args:
        value: Scalar, or array broadcastable to the requested shape.
    """

    def __init__(self, value: float = 0.0):
        self.value = value

    def __call__(self, shape: Shape, dtype: str | None = None):
        shape = standardize_shape(shape)
        try:
            array = np.broadcast_to(np.asarray(self.value, dtype="float64"), shape)
        except ValueError:
            raise ValueError(f"Constant: value of shape {np.shape(self.value)} cannot fill "
                             f"shape {shape}.") from None
        return to_backend(array, dtype)

    def get_config(self) -> dict[str, Any]:
        value = self.value
        return {"value": value.tolist() if hasattr(value, "tolist") else value}


class Zeros(Constant):
    """All zeros: the usual start for biases."""

    def __init__(self):
        super().__init__(0.0)

    def __call__(self, shape: Shape, dtype: str | None = None):
        # Made by the engine: a host array first would be one more buffer of the variable's
        # size (load_model builds every weight this way before the file fills it).
        stored = to_backend(np.zeros((), "float32"), dtype).dtype  # (JAX: int64 -> int32)
        return ops.zeros(standardize_shape(shape), dtype=stored)

    def get_config(self) -> dict[str, Any]:
        return {}


class Ones(Constant):
    """All ones: the usual start for normalization scales."""

    def __init__(self):
        super().__init__(1.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class Identity(Initializer):
    """`gain` times the identity matrix (2D shapes only; rectangular allowed).

    Args:
        gain: Float multiplying the identity matrix.
    """

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape: Shape, dtype: str | None = None):
        shape = standardize_shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity can only make 2D matrices, got shape {shape} of rank "
                             f"{len(shape)}.")
        return to_backend(self.gain * np.eye(*shape), dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


IdentityInitializer = Identity
