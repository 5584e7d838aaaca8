"""Pearson and concordance correlation between y_true and y_pred along an axis.

Each is computed per sample (over `axis`), and the metric classes keep its running mean over
samples, as Keras does; they are correlations of each sample's vector, not of the whole data.
"""

from __future__ import annotations

from nhanh import config, ops
from nhanh.losses.shapes import pair_shapes
from nhanh.metrics.reduction import MeanMetricWrapper


def _pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    if "float" not in ops.dtype(y_pred):
        y_pred = ops.cast(y_pred, config.floatx())
    return pair_shapes(ops.convert_to_tensor(y_true, ops.dtype(y_pred)), y_pred)


def pearson_correlation(y_true, y_pred, axis: int = -1):
    """Pearson's r of y_true and y_pred along `axis`: cov / (std_true * std_pred).

    Args:
        y_true: Tensor of targets.
        y_pred: Tensor of predictions, of `y_true`'s shape.
        axis: The axis along which to correlate.

    Returns:
        r in [-1, 1], with `axis` reduced (NaN where either side is constant).
    """
    y_true, y_pred = _pair(y_true, y_pred)
    dt = y_true - ops.mean(y_true, axis=axis, keepdims=True)
    dp = y_pred - ops.mean(y_pred, axis=axis, keepdims=True)
    dt = dt / ops.std(dt, axis=axis, keepdims=True)
    dp = dp / ops.std(dp, axis=axis, keepdims=True)
    return ops.mean(dt * dp, axis=axis)


def concordance_correlation(y_true, y_pred, axis: int = -1):
    """Lin's concordance correlation along `axis`: 2 cov / (var_t + var_p + (mean_t - mean_p)^2).

    Unlike Pearson's r it also penalises a shift or a change of scale between the two.

    Args:
        y_true: Tensor of targets.
        y_pred: Tensor of predictions, of `y_true`'s shape.
        axis: The axis along which to correlate.

    Returns:
        The coefficient in [-1, 1], with `axis` reduced.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    mean_t = ops.mean(y_true, axis=axis, keepdims=True)
    mean_p = ops.mean(y_pred, axis=axis, keepdims=True)
    var_t = ops.var(y_true, axis=axis, keepdims=True)
    var_p = ops.var(y_pred, axis=axis, keepdims=True)
    covariance = (y_true - mean_t) * (y_pred - mean_p)
    norm = var_t + var_p + ops.square(mean_t - mean_p)
    return ops.mean(2 * covariance / (norm + config.epsilon()), axis=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """Running mean over samples of `pearson_correlation` along `axis`.

    Args:
        name: Name of the metric.
        dtype: Dtype of the accumulators and the result.
        axis: The axis along which to correlate.
    """

    _direction = "up"  # higher is better (EarlyStopping's mode="auto")

    def __init__(self, name: str = "pearson_correlation", dtype: str | None = None,
                 axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class ConcordanceCorrelation(MeanMetricWrapper):
    """Running mean over samples of `concordance_correlation` along `axis`.

    Args:
        name: Name of the metric.
        dtype: Dtype of the accumulators and the result.
        axis: The axis along which to correlate.
    """

    _direction = "up"  # higher is better (EarlyStopping's mode="auto")

    def __init__(self, name: str = "concordance_correlation", dtype: str | None = None,
                 axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis
