"""Overlap losses for segmentation: Dice and Tversky.

Both compare the overlap of a predicted mask with the true one, so a small object counts as
much as a large background (pixel-wise crossentropy would be dominated by the background).
`axis=None`, Keras's default, sums over the whole batch and gives one number; pass the
non-batch axes (e.g. `(1, 2, 3)`) for one loss per sample, which `sample_weight` and the
reduction then act on.
"""

from __future__ import annotations

from nhanh import config, ops
from nhanh.losses.loss import LossFunctionWrapper
from nhanh.losses.shapes import prepare

_SBS = "sum_over_batch_size"


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def dice(y_true, y_pred, axis=None):
    """`1 - 2 * sum(t * p) / (sum(t) + sum(p))` over `axis`.

    Args:
        y_true: True masks (0/1, or soft values in [0, 1]).
        y_pred: Predicted masks, of `y_true`'s shape.
        axis: Int or tuple of ints the sums run over; `None` sums over everything.

    Returns:
        The loss with `axis` reduced (a scalar for `axis=None`).
    """
    y_true, y_pred = prepare(y_true, y_pred, "dice")
    axis = _axis(axis)
    overlap = ops.sum(y_true * y_pred, axis=axis)
    total = ops.sum(y_true, axis=axis) + ops.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * overlap / (total + config.epsilon())


def tversky(y_true, y_pred, alpha: float = 0.5, beta: float = 0.5, axis=None):
    """`1 - TP / (TP + alpha * FP + beta * FN)` over `axis`; alpha = beta = 0.5 is Dice.

    Note Keras's naming, kept here: with y_true as t and y_pred as p, the `alpha` term is
    `sum(t * (1 - p))` and the `beta` term `sum((1 - t) * p)`.

    Args:
        y_true: True masks (0/1, or soft values in [0, 1]).
        y_pred: Predicted masks, of `y_true`'s shape.
        alpha: Weight of `sum(t * (1 - p))` (true pixels the prediction misses).
        beta: Weight of `sum((1 - t) * p)` (pixels predicted where there are none).
        axis: Int or tuple of ints the sums run over; `None` sums over everything.

    Returns:
        The loss with `axis` reduced (a scalar for `axis=None`).
    """
    y_true, y_pred = prepare(y_true, y_pred, "tversky")
    axis = _axis(axis)
    overlap = ops.sum(y_true * y_pred, axis=axis)
    missed = ops.sum(y_true * (1.0 - y_pred), axis=axis)
    extra = ops.sum((1.0 - y_true) * y_pred, axis=axis)
    return 1.0 - overlap / (overlap + alpha * missed + beta * extra + config.epsilon())


class Dice(LossFunctionWrapper):
    """Dice loss, one minus the overlap of predicted and true masks (see `dice`).

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        axis: Int or tuple of axes the overlap is summed over; `None` (the default) sums
            over everything, giving one number per batch.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Tversky(LossFunctionWrapper):
    """Tversky loss, Dice with separate weights for the two kinds of error (see `tversky`).

    Args:
        alpha: Weight of `sum(y_true * (1 - y_pred))`.
        beta: Weight of `sum((1 - y_true) * y_pred)`.
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        axis: Int or tuple of axes the sums run over; `None` sums over everything.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction=_SBS, name="tversky",
                 axis=None, dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         beta=beta, axis=axis)
