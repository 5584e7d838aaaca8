"""Accuracy metrics: how often predictions match labels, in each label format.

Which one `metrics=['accuracy']` means depends on the labels and the output; see
`nhanh.metrics.selection.get_for_output`.
"""

from __future__ import annotations

from nhanh import config, ops
from nhanh.losses.shapes import prepare
from nhanh.metrics.reduction import MeanMetricWrapper


def accuracy(y_true, y_pred):
    """Mean over the last axis of y_true == y_pred (exact match).

    Args:
        y_true: Labels.
        y_pred: Predictions, compared with the labels for exact equality.

    Returns:
        A float tensor with the last axis reduced: the fraction of matching entries.
    """
    y_true, y_pred = prepare(y_true, y_pred)
    return ops.mean(ops.cast(ops.equal(y_true, y_pred), config.floatx()), axis=-1)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """Mean over the last axis of y_true == (y_pred > threshold).

    Args:
        y_true: 0/1 labels.
        y_pred: Predicted probabilities (or scores), of `y_true`'s shape.
        threshold: Float; predictions above it count as 1.

    Returns:
        A float tensor with the last axis reduced: the fraction of matching entries.
    """
    y_true, y_pred = prepare(y_true, y_pred)
    predicted = ops.cast(ops.greater(y_pred, threshold), ops.dtype(y_true))
    return ops.mean(ops.cast(ops.equal(y_true, predicted), config.floatx()), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) is the one-hot label's index, else 0.

    Args:
        y_true: One-hot labels, (..., num_classes).
        y_pred: Class scores or probabilities, (..., num_classes).

    Returns:
        A float tensor of 0s and 1s, one per sample (the class axis removed).
    """
    labels = ops.argmax(ops.convert_to_tensor(y_true), axis=-1)
    return _matches(labels, ops.argmax(ops.convert_to_tensor(y_pred), axis=-1))


def _sparse_labels(y_true, y_pred):
    y_true = ops.convert_to_tensor(y_true)
    if ops.ndim(y_true) == ops.ndim(y_pred) and ops.shape(y_true)[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    return ops.cast(y_true, "int32")


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) equals the integer label, else 0.

    Args:
        y_true: Integer class labels, (...) or (..., 1).
        y_pred: Class scores or probabilities, (..., num_classes).

    Returns:
        A float tensor of 0s and 1s, one per sample.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    return _matches(_sparse_labels(y_true, y_pred), ops.argmax(y_pred, axis=-1))


def _matches(labels, predicted):
    return ops.cast(ops.equal(ops.cast(labels, "int32"), ops.cast(predicted, "int32")),
                    config.floatx())


def _in_top_k(labels, y_pred, k: int):
    """Whether each label's score is among the k largest (ties count in the label's favour,
    NaN scores never do)."""
    score = ops.take_along_axis(y_pred, ops.expand_dims(labels, -1), axis=-1)
    score = ops.where(ops.isnan(score), -float("inf"), score)
    better = ops.sum(ops.cast(ops.greater(y_pred, score), "int32"), axis=-1)
    return ops.cast(ops.less(better, k), config.floatx())


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1 where the one-hot label's class is among the k highest predictions.

    Args:
        y_true: One-hot labels, (..., num_classes).
        y_pred: Class scores, (..., num_classes).
        k: Int, how many of the highest scores count as a hit (ties count as hits).

    Returns:
        A float tensor of 0s and 1s, one per sample.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    labels = ops.cast(ops.argmax(ops.convert_to_tensor(y_true), axis=-1), "int32")
    return _in_top_k(labels, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1 where the integer label is among the k highest predictions.

    Args:
        y_true: Integer class labels, (...) or (..., 1).
        y_pred: Class scores, (..., num_classes).
        k: Int, how many of the highest scores count as a hit (ties count as hits).

    Returns:
        A float tensor of 0s and 1s, one per sample.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    return _in_top_k(_sparse_labels(y_true, y_pred), y_pred, k)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "up"

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often thresholded predictions match 0/1 labels.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
        threshold: Float in (0, 1); predictions above it count as 1.
    """

    _direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and not 0 < threshold < 1:
            raise ValueError(f"BinaryAccuracy: `threshold` must lie in (0, 1), got {threshold}.")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the highest prediction is the one-hot label's class.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the highest prediction is the integer label.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the top k predictions.

    Args:
        k: Int, how many of the highest scores count as a hit.
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "up"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the top k predictions.

    Args:
        k: Int, how many of the highest scores count as a hit.
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    _direction = "up"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
