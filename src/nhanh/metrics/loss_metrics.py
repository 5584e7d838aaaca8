"""Metrics that track a loss function: its running mean over the batches seen.

They reuse the functions of `nhanh.losses`, so a metric and the loss of the same name agree
exactly (cosine similarity is the exception: as a metric it is +cos, as a loss -cos).
"""

from __future__ import annotations

from nhanh import losses, ops
from nhanh.losses.shapes import prepare
from nhanh.metrics.reduction import Mean, MeanMetricWrapper


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """The cosine of the angle between y_true and y_pred along `axis`.

    Args:
        y_true: Tensor of vectors.
        y_pred: Tensor of vectors, of `y_true`'s shape.
        axis: Int, the axis holding the vectors.

    Returns:
        The cosine similarity in [-1, 1], with `axis` reduced.
    """
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of the squared error.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of the absolute error.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Running mean of the absolute percentage error.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Running mean of the squared logarithmic error.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(MeanMetricWrapper):
    """Running mean of log(cosh(error)).

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """Running mean of the cosine similarity (higher is better).

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
        axis: Int, the axis holding the vectors.
    """

    _direction = "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """Square root of the running (weighted) mean squared error over all entries.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = prepare(y_true, y_pred)
        super().update_state(ops.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return ops.sqrt(super().result())


class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean of the binary crossentropy.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
        from_logits: If True, `y_pred` holds logits rather than probabilities.
        label_smoothing: Float in [0, 1]; labels are moved this far towards 0.5.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0):
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the categorical crossentropy.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
        from_logits: If True, `y_pred` holds logits rather than probabilities.
        label_smoothing: Float in [0, 1]; labels are moved this far towards uniform.
        axis: Int, the class axis.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0, axis=-1):
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of the sparse categorical crossentropy.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
        from_logits: If True, `y_pred` holds logits rather than probabilities.
        ignore_class: Optional int label (a padding or "void" class) whose samples give 0;
            they still count in the mean, as in Keras 3 (on its JAX and PyTorch engines).
        axis: Int, the class axis.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)


class KLDivergence(MeanMetricWrapper):
    """Running mean of the KL divergence.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """Running mean of the Poisson loss.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="poisson", dtype=None):
        super().__init__(losses.poisson, name=name, dtype=dtype)


class Hinge(MeanMetricWrapper):
    """Running mean of the hinge loss.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="hinge", dtype=None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Running mean of the squared hinge loss.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Running mean of the categorical hinge loss (one-hot labels, a margin of 1).

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "down"  # an error: lower is better

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)
