"""Weight regularizers: penalties added to the loss to keep weights small or orthogonal.

`regularizer(weight)` returns a scalar array of the current backend; layers sum these into the
model's loss. Names follow Keras 3: 'l1', 'l2', 'l1_l2', 'orthogonal_regularizer'.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from nhanh import config, ops, registry


def _non_negative(value: Any, name: str, who: str) -> float:
    if (not isinstance(value, (int, float)) or isinstance(value, bool)
            or not math.isfinite(value) or value < 0):
        raise ValueError(f"{who}: `{name}` must be a non-negative float, got {name}={value!r}.")
    return float(value)


class Regularizer:
    """A penalty on a weight: `__call__(x)` -> scalar added to the loss."""

    def __call__(self, x):
        return ops.convert_to_tensor(0.0)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x²): both penalties at once.

    Args:
        l1: Non-negative float, weight of the L1 term; `None` means 0.
        l2: Non-negative float, weight of the L2 term; `None` means 0.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _non_negative(0.0 if l1 is None else l1, "l1", type(self).__name__)
        self.l2 = _non_negative(0.0 if l2 is None else l2, "l2", type(self).__name__)

    def __call__(self, x):
        x = ops.convert_to_tensor(x)
        penalty = ops.convert_to_tensor(0.0, ops.dtype(x))
        if self.l1:
            penalty = penalty + self.l1 * ops.sum(ops.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * ops.sum(ops.square(x))
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 * sum(|x|): pushes weights to exactly zero (sparse weights).

    Args:
        l1: Non-negative float, the penalty weight; `None` means 0.01.
    """

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=0.01 if l1 is None else l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """l2 * sum(x²) (weight decay): keeps weights small without zeroing them.

    Args:
        l2: Non-negative float, the penalty weight; `None` means 0.01.
    """

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalises the mean |cosine| between pairs of rows (or columns) of a 2D weight.

    factor * 0.5 * sum_{i != j} |<u_i, u_j>| / (n(n-1)/2), with u the unit-normalised rows.

    Args:
        factor: Non-negative float multiplying the penalty.
        mode: `"rows"` or `"columns"`: which vectors of the weight should be orthogonal.
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _non_negative(factor, "factor", "OrthogonalRegularizer")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: `mode` must be 'rows' or 'columns', "
                             f"got {mode!r}.")
        self.mode = mode

    def __call__(self, x):
        if ops.ndim(x) != 2:
            raise ValueError(f"OrthogonalRegularizer needs a 2D weight, got shape "
                             f"{ops.shape(x)}.")
        axis = 1 if self.mode == "rows" else 0
        squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
        unit = ops.multiply(x, ops.rsqrt(ops.maximum(squares, config.epsilon())))
        if self.mode == "columns":
            unit = ops.transpose(unit)
        product = ops.matmul(unit, ops.transpose(unit))
        size = ops.shape(product)[0]
        off_diagonal = ops.multiply(product, 1.0 - ops.eye(size, dtype=ops.dtype(product)))
        pairs = max(size * (size - 1) / 2.0, 1.0)  # one row: no pairs, no penalty
        return self.factor * 0.5 * ops.sum(ops.abs(off_diagonal)) / pairs

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


# Keras exports these lower-case spellings too: regularizers.l2(0.01).
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

_CLASSES = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)
_BY_NAME: dict[str, type] = {"l1": L1, "l2": L2, "l1_l2": L1L2,
                             "orthogonal_regularizer": OrthogonalRegularizer}


_FAMILY = registry.Family("regularizer", _BY_NAME, _CLASSES, "l2")
serialize, deserialize, get = _FAMILY.serialize, _FAMILY.deserialize, _FAMILY.get


__all__ = ["L1", "L1L2", "L2", "OrthogonalRegularizer", "Regularizer", "deserialize", "get",
           "l1", "l1_l2", "l2", "orthogonal_regularizer", "serialize"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
