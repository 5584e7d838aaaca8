"""Categorical hinge: a multi-class margin loss for one-hot labels."""

from __future__ import annotations

from nhanh import ops
from nhanh.losses.loss import LossFunctionWrapper
from nhanh.losses.shapes import prepare

_SBS = "sum_over_batch_size"


def categorical_hinge(y_true, y_pred):
    """`max(neg - pos + 1, 0)`, pos the true class's score, neg the best other score.

    Args:
        y_true: One-hot labels (0/1, or -1/+1), of `y_pred`'s shape.
        y_pred: Predicted scores per class.

    Returns:
        One loss per sample: the class axis reduced.
    """
    y_true, y_pred = prepare(y_true, y_pred, "categorical_hinge", same_shape=True)
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


class CategoricalHinge(LossFunctionWrapper):
    """Categorical hinge loss: the true class must beat every other by a margin of 1
    (see `categorical_hinge`).

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)
