"""Hinge losses for maximum-margin classifiers (labels -1/1; 0/1 labels are converted)."""

from __future__ import annotations

from nhanh import ops
from nhanh.losses.loss import LossFunctionWrapper
from nhanh.losses.shapes import prepare

_SBS = "sum_over_batch_size"


def _signed_labels(y_true):
    """0/1 labels mapped to -1/1; labels that are not all 0/1 are left as they are."""
    is_binary = ops.all(ops.logical_or(ops.equal(y_true, 0), ops.equal(y_true, 1)))
    return ops.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """mean(max(1 - t * y_pred, 0), axis=-1), t the labels as -1 / 1.

    Args:
        y_true: Labels, -1 or 1 (labels that are all 0 or 1 are mapped to -1 / 1 first).
        y_pred: Predicted scores (not squashed), of `y_true`'s shape or broadcastable to it.

    Returns:
        One loss per sample: the mean over the last axis.
    """
    y_true, y_pred = prepare(y_true, y_pred, "hinge")
    margin = 1.0 - _signed_labels(y_true) * y_pred
    return ops.mean(ops.maximum(margin, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - t * y_pred, 0)**2, axis=-1), t the labels as -1 / 1.

    Args:
        y_true: Labels, -1 or 1 (labels that are all 0 or 1 are mapped to -1 / 1 first).
        y_pred: Predicted scores (not squashed), of `y_true`'s shape or broadcastable to it.

    Returns:
        One loss per sample: the mean over the last axis.
    """
    y_true, y_pred = prepare(y_true, y_pred, "squared_hinge")
    margin = 1.0 - _signed_labels(y_true) * y_pred
    return ops.mean(ops.square(ops.maximum(margin, 0.0)), axis=-1)


class Hinge(LossFunctionWrapper):
    """Hinge loss, for maximum-margin classifiers (see `hinge`).

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="hinge", dtype=None):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss: a hinge whose penalty grows quadratically (see `squared_hinge`).

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)
