"""Generalized crossentropy (Zhang & Sabuncu, 2018): a crossentropy robust to noisy labels.

`(1 - p ** q) / q`, p the probability of the labelled class, tends to crossentropy as q -> 0
and to mean absolute error at q = 1; a wrong label's pull on the model is bounded.
"""

from __future__ import annotations

from nhanh import ops
from nhanh.losses.loss import LossFunctionWrapper
from nhanh.losses.shapes import format_shape, is_float

_SBS = "sum_over_batch_size"


def _check_q(q) -> None:
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
        raise ValueError(f"`q` must be a float in the open interval (0, 1), got {q!r}. "
                         "Values near 0 behave like crossentropy, near 1 like MAE.")


def categorical_generalized_cross_entropy(y_true, y_pred, q: float):
    """`(1 - p ** q) / q`, p = `y_pred[label]`.

    Args:
        y_true: Integer class labels, `y_pred`'s shape without the class axis (a trailing
            axis of size 1 is dropped; Keras would broadcast it to a wrong shape).
        y_pred: Predicted class probabilities, classes on the last axis.
        q: Float in (0, 1).

    Returns:
        One loss per label: `y_true`'s shape.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    if not is_float(ops.dtype(y_pred)):
        y_pred = ops.cast(y_pred, "float32")
    y_true = ops.convert_to_tensor(y_true)
    if ops.ndim(y_true) == ops.ndim(y_pred) and ops.shape(y_true)[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    if tuple(ops.shape(y_true)) != tuple(ops.shape(y_pred))[:-1]:
        raise ValueError(
            "categorical_generalized_cross_entropy expects integer class labels of shape "
            f"{format_shape(tuple(ops.shape(y_pred))[:-1])} (the predictions without their "
            f"class axis), got {format_shape(tuple(ops.shape(y_true)))}. For one-hot targets "
            "pass y.argmax(axis=-1).")
    classes = ops.shape(y_pred)[-1]
    one_hot = ops.one_hot(ops.cast(y_true, "int32"), classes, dtype=ops.dtype(y_pred))
    p = ops.sum(y_pred * one_hot, axis=-1)
    return (1.0 - ops.power(p, q)) / q


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized crossentropy for integer labels and probabilities, robust to label noise
    (see `categorical_generalized_cross_entropy`).

    Args:
        q: Float in (0, 1): near 0 behaves like crossentropy, near 1 like mean absolute error.
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, q: float = 0.5, reduction=_SBS,
                 name="categorical_generalized_cross_entropy", dtype=None):
        _check_q(q)
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name,
                         dtype=dtype, q=q)
