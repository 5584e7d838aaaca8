"""Regression losses: errors between real-valued targets and predictions.

Each function returns one value per sample (the mean over the last axis), as in Keras, and
has a class of the same meaning that adds sample weights and a reduction.
"""

from __future__ import annotations

import math

from nhanh import config, ops
from nhanh.losses.loss import LossFunctionWrapper
from nhanh.losses.shapes import prepare

_SBS = "sum_over_batch_size"


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)**2, axis=-1).

    Args:
        y_true: Target values.
        y_pred: Predictions, of `y_true`'s shape or broadcastable to it (a `(batch,)`
            target meets a `(batch, 1)` prediction as `(batch, 1)`).

    Returns:
        One loss per sample: the mean over the last axis.
    """
    y_true, y_pred = prepare(y_true, y_pred, "mean_squared_error")
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|, axis=-1).

    Args:
        y_true: Target values.
        y_pred: Predictions, of `y_true`'s shape or broadcastable to it (a `(batch,)`
            target meets a `(batch, 1)` prediction as `(batch, 1)`).

    Returns:
        One loss per sample: the mean over the last axis.
    """
    y_true, y_pred = prepare(y_true, y_pred, "mean_absolute_error")
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|(y_true - y_pred) / y_true|, axis=-1), |y_true| floored at epsilon.

    Args:
        y_true: Target values.
        y_pred: Predictions, of `y_true`'s shape or broadcastable to it (a `(batch,)`
            target meets a `(batch, 1)` prediction as `(batch, 1)`).

    Returns:
        One loss per sample: the mean over the last axis. A target of 0 gives a
        very large but finite loss.
    """
    y_true, y_pred = prepare(y_true, y_pred, "mean_absolute_percentage_error")
    scale = ops.maximum(ops.abs(y_true), config.epsilon())
    return 100.0 * ops.mean(ops.abs((y_true - y_pred) / scale), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(1 + y_pred) - log(1 + y_true))**2, axis=-1), inputs floored at epsilon.

    Values below epsilon (negatives included) count as epsilon, so the logarithm stays finite.

    Args:
        y_true: Target values.
        y_pred: Predictions, of `y_true`'s shape or broadcastable to it (a `(batch,)`
            target meets a `(batch, 1)` prediction as `(batch, 1)`).

    Returns:
        One loss per sample: the mean over the last axis.
    """
    y_true, y_pred = prepare(y_true, y_pred, "mean_squared_logarithmic_error")
    eps = config.epsilon()
    diff = ops.log(ops.maximum(y_pred, eps) + 1.0) - ops.log(ops.maximum(y_true, eps) + 1.0)
    return ops.mean(ops.square(diff), axis=-1)


def huber(y_true, y_pred, delta: float = 1.0):
    """Quadratic for errors up to `delta`, linear beyond: robust to outliers.

    Per entry, 0.5 * e**2 where |e| <= delta, else delta * |e| - 0.5 * delta**2.

    Args:
        y_true: Target values.
        y_pred: Predictions, of `y_true`'s shape or broadcastable to it (a `(batch,)`
            target meets a `(batch, 1)` prediction as `(batch, 1)`).
        delta: Positive float, the error size where the loss turns from quadratic to
            linear.

    Returns:
        One loss per sample: the mean over the last axis.
    """
    y_true, y_pred = prepare(y_true, y_pred, "huber")
    error = y_pred - y_true
    abs_error = ops.abs(error)
    quadratic = 0.5 * ops.square(error)
    linear = delta * abs_error - 0.5 * delta**2
    return ops.mean(ops.where(ops.less_equal(abs_error, delta), quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true)), axis=-1), computed without overflow.

    Args:
        y_true: Target values.
        y_pred: Predictions, of `y_true`'s shape or broadcastable to it (a `(batch,)`
            target meets a `(batch, 1)` prediction as `(batch, 1)`).

    Returns:
        One loss per sample: the mean over the last axis.
    """
    y_true, y_pred = prepare(y_true, y_pred, "log_cosh")
    x = y_pred - y_true
    return ops.mean(x + ops.softplus(-2.0 * x) - math.log(2.0), axis=-1)


def l2_normalize(x, axis: int = -1):
    """x / max(||x||, epsilon) along `axis` (finite gradient at 0).

    Args:
        x: Input tensor.
        axis: Int, the axis along which each vector is normalized.

    Returns:
        A tensor of `x`'s shape whose vectors along `axis` have norm 1; vectors shorter than
        epsilon are divided by epsilon instead.
    """
    eps = config.epsilon()
    squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x / ops.sqrt(ops.maximum(squares, eps * eps))


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """Minus the cosine of the angle between y_true and y_pred (Keras's loss sign).

    Args:
        y_true: Tensor of target vectors.
        y_pred: Tensor of predicted vectors, of `y_true`'s shape.
        axis: Int, the axis holding the vectors.

    Returns:
        One loss per vector, in [-1, 1] (-1 when the vectors point the same way), with
        `axis` reduced.
    """
    y_true, y_pred = prepare(y_true, y_pred, "cosine_similarity")
    return -ops.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
logcosh = log_cosh


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squared errors; the loss of the article's linear regression.

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors.

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute error relative to the target, in percent.

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name,
                         dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared error of log(1 + x): relative errors for positive targets.

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name,
                         dtype=dtype)


class Huber(LossFunctionWrapper):
    """Huber loss with threshold `delta`: squared error for small errors, absolute beyond.

    Args:
        delta: Positive float, the error size where the loss turns from quadratic to
            linear.
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, delta=1.0, reduction=_SBS, name="huber_loss", dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class LogCosh(LossFunctionWrapper):
    """log(cosh(error)): like MSE near 0, like MAE far away.

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="log_cosh", dtype=None):
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """Minus the cosine similarity along `axis`; minimising it aligns the vectors.

    Args:
        axis: Int, the axis holding the vectors.
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, axis=-1, reduction=_SBS, name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype,
                         axis=axis)


__all__ = [
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "huber", "log_cosh", "cosine_similarity", "l2_normalize",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Huber", "LogCosh", "CosineSimilarity",
]
