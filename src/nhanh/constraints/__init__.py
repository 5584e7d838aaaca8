"""Weight constraints: projections applied to a weight after each optimizer step.

`constraint(w)` returns the constrained array (the layer assigns it back). Names follow Keras 3:
'max_norm', 'non_neg', 'unit_norm', 'min_max_norm'.
"""

from __future__ import annotations

from typing import Any, Callable

from nhanh import config, ops, registry

Axis = int | tuple[int, ...] | list[int]


class Constraint:
    """A projection of a weight onto an allowed set: `__call__(w)` -> constrained w."""

    def __call__(self, w):
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Constraint":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _norms(w, axis: Axis):
    return ops.sqrt(ops.sum(ops.square(w), axis=_axis(axis), keepdims=True))


def _axis(axis: Axis):
    return tuple(axis) if isinstance(axis, list) else axis


class MaxNorm(Constraint):
    """Rescales each slice along `axis` whose L2 norm exceeds `max_value` down to it.

    axis=0 constrains each output unit's incoming weights in a Dense kernel (in, out).

    Args:
        max_value: Positive float, the largest norm allowed.
        axis: Int or list of ints, the axes each norm is computed over (0 for a Dense kernel: one
            norm per output unit).
    """

    def __init__(self, max_value: float = 2, axis: Axis = 0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = ops.clip(norms, 0.0, float(self.max_value))
        return w * (desired / (config.epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero."""

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        return w * ops.cast(ops.greater_equal(w, 0.0), ops.dtype(w))


class UnitNorm(Constraint):
    """Divides each slice along `axis` by its L2 norm, so every slice has norm 1.

    Args:
        axis: Int or list of ints, the axes each norm is computed over (0 for a Dense kernel: one
            norm per output unit).
    """

    def __init__(self, axis: Axis = 0):
        self.axis = axis

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each slice's L2 norm into [min_value, max_value], a fraction `rate` of the way.

    Args:
        min_value: Non-negative float, the smallest norm allowed.
        max_value: Float, the largest norm allowed.
        rate: Float in [0, 1]: 1 moves the norm fully into the range after each update, smaller
            values only part of the way.
        axis: Int or list of ints, the axes each norm is computed over (0 for a Dense kernel: one
            norm per output unit).
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: Axis = 0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        clipped = ops.clip(norms, float(self.min_value), float(self.max_value))
        desired = self.rate * clipped + (1.0 - self.rate) * norms
        return w * (desired / (config.epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# Keras exports these lower-case spellings too: constraints.max_norm(3).
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_CLASSES = (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm)
_BY_NAME: dict[str, type] = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
                             "min_max_norm": MinMaxNorm}


_FAMILY = registry.Family("constraint", _BY_NAME, _CLASSES, "max_norm")
serialize, deserialize, get = _FAMILY.serialize, _FAMILY.deserialize, _FAMILY.get


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get",
           "max_norm", "min_max_norm", "non_neg", "serialize", "unit_norm"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
