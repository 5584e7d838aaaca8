"""The Loss base class and the reductions that turn per-sample losses into one number.

A loss is split in two, as in Keras: `call(y_true, y_pred)` gives one loss per sample (per
entry), and `__call__` weights and reduces them. Reducing is shared so every loss treats
`sample_weight` and the reduction argument the same way.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from nhanh import config, ops
from nhanh.losses.shapes import match_weights, pair_shapes
from nhanh.naming import to_snake_case

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction: str | None) -> str | None:
    """The reduction name, with Keras 2's 'auto' read as 'sum_over_batch_size'.

    Args:
        reduction: One of 'sum_over_batch_size', 'sum', 'mean', 'mean_with_sample_weight',
            'none', `None`, or 'auto'.

    Returns:
        The reduction name; anything else raises a ValueError listing the valid ones.
    """
    if reduction == "auto":
        return "sum_over_batch_size"
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`: {reduction!r}. Expected one of "
            f"{', '.join(repr(r) for r in REDUCTIONS)}."
        )
    return reduction


def reduce_values(values, sample_weight=None, reduction: str | None = "sum_over_batch_size"):
    """Sum, mean or nothing over already-weighted losses.

    'sum_over_batch_size' and 'mean' divide the weighted sum by the number of entries (a
    weight of 0 still counts, as in Keras); 'mean_with_sample_weight' divides by the sum of
    the weights instead.

    Args:
        values: Tensor of losses, already multiplied by their weights.
        sample_weight: The weights that were applied, broadcastable to `values`; only
            'mean_with_sample_weight' reads them (as its divisor), `None` means unweighted.
        reduction: A standardized reduction name (see `standardize_reduction`; 'auto' is not
            accepted here).

    Returns:
        A scalar, or `values` unchanged for 'none' / `None` or when `values` is already a
        scalar.
    """
    if reduction in (None, "none") or ops.ndim(values) == 0:
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        weights = ops.broadcast_to(sample_weight, ops.shape(values))
        return ops.safe_divide(total, ops.sum(weights))
    count = math.prod(ops.shape(values))
    return total / count if count else total


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction: str | None = "sum_over_batch_size", dtype=None):
    """Weight per-sample losses (and a validity mask) and reduce them.

    Args:
        values: Tensor of per-sample (or per-entry) losses.
        sample_weight: Weights, one per sample or per entry (a `(batch,)` weight scales every
            entry of its sample); `None` weighs all equally.
        mask: Boolean or 0/1 tensor of the entries that count, or `None` for all. Under
            'sum_over_batch_size' and 'mean', masked-out entries also leave the count that
            the sum is divided by.
        reduction: Reduction name, as accepted by `standardize_reduction`.
        dtype: Dtype the losses are converted to; `None` keeps theirs.

    Returns:
        The reduced loss: a scalar, or the weighted losses for 'none' / `None`.
    """
    reduction = standardize_reduction(reduction)
    values = ops.convert_to_tensor(values, dtype)
    if mask is not None:
        mask = ops.cast(mask, ops.dtype(values))
        if reduction in ("sum_over_batch_size", "mean"):
            # Masked entries drop out of the count: scale valid ones by total / valid.
            mask = mask * ops.safe_divide(float(math.prod(ops.shape(mask))), ops.sum(mask))
        if sample_weight is None:
            sample_weight = mask
        else:
            mask, weight = match_weights(mask, ops.convert_to_tensor(sample_weight))
            sample_weight = mask * weight
    if sample_weight is not None:
        values, sample_weight = match_weights(values, ops.convert_to_tensor(sample_weight))
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


class Loss:
    """Base of every loss: subclasses write `call`; weighting and reduction happen here.

    Calling a loss, `loss(y_true, y_pred, sample_weight=None)`, converts `y_pred` to the
    loss's dtype, computes `call(y_true, y_pred)`, multiplies by the weights and reduces.

    Args:
        name: Name of the loss; `None` uses the class name in snake_case.
        reduction: How per-sample losses become one number: 'sum_over_batch_size' (the
            default) and 'mean' divide the weighted sum by the number of entries, 'sum' keeps
            the sum, 'mean_with_sample_weight' divides by the sum of the weights, and 'none'
            or `None` returns the per-sample losses. Keras 2's 'auto' means
            'sum_over_batch_size'.
        dtype: Dtype the predictions are converted to and the loss is computed in; `None`
            uses `nhanh.config.floatx()`.
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: str | None = None):
        self.name = name or to_snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype_arg = dtype
        self.dtype = dtype or config.floatx()

    def call(self, y_true, y_pred):
        """Per-sample losses; subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def mask(self, y_true, y_pred):
        """Which per-sample losses count (None: all); SparseCategoricalCrossentropy's
        ignore_class uses it so ignored entries leave the average."""
        return None

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred, self.dtype)
        y_true = ops.convert_to_tensor(y_true)
        losses = self.call(y_true, y_pred)
        return reduce_weighted_values(losses, sample_weight, self.mask(y_true, y_pred),
                                      self.reduction, self.dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, "dtype": self._dtype_arg}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """A Loss made from a per-sample function `fn(y_true, y_pred, **kwargs)`.

    Before `fn` is called, labels and predictions whose ranks differ by a trailing size-1
    axis are paired (see `pair_shapes`), so a user's function never broadcasts `(batch,)`
    against `(batch, 1)`.

    Args:
        fn: Callable `(y_true, y_pred, **kwargs)` returning one loss per sample (or entry).
        reduction: Reduction name, as for `Loss`.
        name: Name of the loss; `None` uses `fn`'s name.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
        **kwargs: Keyword arguments passed to `fn` on every call (and saved in the config).
    """

    def __init__(self, fn: Callable, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: str | None = None, **kwargs: Any):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        # As Keras does before any loss function: labels (batch,) against predictions
        # (batch, 1) would otherwise broadcast to (batch, batch) in a user's function.
        y_true, y_pred = pair_shapes(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is LossFunctionWrapper:
            config["fn"] = getattr(self.fn, "__name__", self.fn)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "LossFunctionWrapper":
        config = dict(config)
        if isinstance(config.get("fn"), str):
            from nhanh.losses import get

            config["fn"] = get(config["fn"])
        return cls(**config)

    def __repr__(self) -> str:
        fn = getattr(self.fn, "__name__", self.fn)
        return f"<{type(self).__name__}({fn}, {self._fn_kwargs})>"
