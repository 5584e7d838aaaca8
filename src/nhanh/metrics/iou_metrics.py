"""Intersection-over-union metrics, from one accumulated (num_classes, num_classes)
confusion matrix (rows: true class, columns: predicted class).

IoU of class c = TP / (TP + FP + FN) = cm[c, c] / (row c + column c - cm[c, c]); a metric
averages it over its target classes that occur at all. The variants differ only in how
labels and predictions become class ids: integers, the argmax of one-hot vectors, or a
threshold on a binary score.

As in Keras the matrix is integer by default (dtype 'int32'), so sample weights are cast
to integers: pass whole-number weights, or dtype='float32' for fractional ones.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nhanh import config, ops
from nhanh.metrics.metric import Metric


def confusion_matrix(labels, predictions, num_classes: int, weights=None, dtype="int32"):
    """The (num_classes, num_classes) matrix of (weighted) counts of (label, prediction).

    Args:
        labels: 1-D integer class ids.
        predictions: 1-D integer class ids, of `labels`' length.
        num_classes: Number of classes; ids must lie in [0, num_classes).
        weights: Optional 1-D weights, one per pair.
        dtype: Dtype of the matrix.
    """
    rows = ops.one_hot(ops.cast(labels, "int32"), num_classes, dtype="float32")
    cols = ops.one_hot(ops.cast(predictions, "int32"), num_classes, dtype="float32")
    if weights is not None:
        cols = cols * ops.expand_dims(ops.cast(weights, "float32"), -1)
    return ops.cast(ops.matmul(ops.transpose(rows), cols), dtype)


class _IoUBase(Metric):
    """Accumulates the confusion matrix; subclasses read IoU from it."""

    _direction = "up"  # higher is better (EarlyStopping's mode="auto")

    def __init__(self, num_classes: int, name: str | None = None, dtype: str | None = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(name=name, dtype=dtype or "int32")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"Argument `num_classes` must be a positive int; received "
                             f"{num_classes!r}.")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable((num_classes, num_classes), "zeros",
                                          name="total_confusion_matrix")

    def _class_ids(self, y_true, y_pred):
        if not self.sparse_y_true:
            y_true = ops.argmax(ops.convert_to_tensor(y_true), axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = ops.argmax(ops.convert_to_tensor(y_pred), axis=self.axis)
        return y_true, y_pred

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = self._class_ids(y_true, y_pred)
        y_true = ops.reshape(ops.convert_to_tensor(y_true, self.dtype), (-1,))
        y_pred = ops.reshape(ops.convert_to_tensor(y_pred, self.dtype), (-1,))
        weight = ops.ones_like(y_true) if sample_weight is None else ops.broadcast_to(
            ops.reshape(ops.cast(ops.convert_to_tensor(sample_weight), self.dtype), (-1,)),
            ops.shape(y_true))
        inside = ops.logical_and(
            ops.logical_and(ops.greater_equal(y_true, 0), ops.less(y_true, self.num_classes)),
            ops.logical_and(ops.greater_equal(y_pred, 0), ops.less(y_pred, self.num_classes)))
        if self.ignore_class is not None:
            inside = ops.logical_and(inside, ops.not_equal(y_true, self.ignore_class))
        zero = ops.zeros_like(y_true)
        self.total_cm.assign_add(confusion_matrix(
            ops.where(inside, y_true, zero), ops.where(inside, y_pred, zero),
            self.num_classes, ops.where(inside, weight, ops.zeros_like(weight)), self.dtype))

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class IoU(_IoUBase):
    """Mean IoU over `target_class_ids` (classes absent from labels and predictions skipped).

    Args:
        num_classes: Number of classes; the confusion matrix is num_classes^2.
        target_class_ids: The class ids whose IoU is averaged.
        name: Name of the metric.
        dtype: Dtype of the confusion matrix ('int32' when None).
        ignore_class: A label id left out of the counts (e.g. a void class), or None.
        sparse_y_true: Labels are class ids (True) or one-hot / scores (False, argmax taken).
        sparse_y_pred: Predictions are class ids (True) or scores (False, argmax taken).
        axis: The class axis of non-sparse inputs.
    """

    def __init__(self, num_classes: int, target_class_ids: Sequence[int],
                 name: str | None = None, dtype: str | None = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        target_class_ids = [int(c) for c in target_class_ids]
        if not target_class_ids or max(target_class_ids) >= num_classes \
                or min(target_class_ids) < 0:
            raise ValueError(f"Argument `target_class_ids` must hold class ids in [0, "
                             f"{num_classes}); received {target_class_ids}.")
        self.target_class_ids = target_class_ids

    def result(self):
        cm = ops.cast(ops.convert_to_tensor(self.total_cm), "float32")
        tp = ops.diag(cm)
        union = ops.sum(cm, axis=0) + ops.sum(cm, axis=1) - tp
        ids = ops.convert_to_tensor(np.asarray(self.target_class_ids, "int32"))
        tp, union = ops.take(tp, ids), ops.take(union, ids)
        valid = ops.greater(union, 1e-9)
        iou = ops.where(valid, tp / (union + config.epsilon()), 0.0)
        count = ops.sum(ops.cast(valid, "float32"))
        return ops.sum(iou) / (count + config.epsilon())

    def get_config(self) -> dict:
        return {**super().get_config(), "target_class_ids": self.target_class_ids}


class MeanIoU(IoU):
    """Mean IoU over every class.

    Args:
        num_classes: Number of classes.
        name: Name of the metric.
        dtype: Dtype of the confusion matrix ('int32' when None).
        ignore_class: A label id left out of the counts, or None.
        sparse_y_true: Labels are class ids (True) or one-hot / scores (False).
        sparse_y_pred: Predictions are class ids (True) or scores (False).
        axis: The class axis of non-sparse inputs.
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype: str | None = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(IoU):
    """IoU of a binary task: scores >= `threshold` are class 1, the rest class 0.

    Args:
        target_class_ids: Which of the classes (0, 1) to average.
        threshold: Float; predictions at or above it are class 1.
        name: Name of the metric.
        dtype: Dtype of the confusion matrix ('int32' when None).
    """

    def __init__(self, target_class_ids: Sequence[int] = (0, 1), threshold: float = 0.5,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def _class_ids(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred, "float32")
        return y_true, ops.cast(ops.greater_equal(y_pred, self.threshold), self.dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype,
                "target_class_ids": self.target_class_ids, "threshold": self.threshold}


class OneHotIoU(IoU):
    """IoU over `target_class_ids` for one-hot labels and per-class scores.

    Args:
        num_classes: Number of classes.
        target_class_ids: The class ids whose IoU is averaged.
        name: Name of the metric.
        dtype: Dtype of the confusion matrix ('int32' when None).
        ignore_class: A class id left out of the counts, or None.
        sparse_y_pred: Predictions are class ids (True) or scores (False, argmax taken).
        axis: The class axis.
    """

    def __init__(self, num_classes: int, target_class_ids: Sequence[int],
                 name: str | None = None, dtype: str | None = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """Mean IoU over every class, for one-hot labels and per-class scores.

    Args:
        num_classes: Number of classes.
        name: Name of the metric.
        dtype: Dtype of the confusion matrix ('int32' when None).
        ignore_class: A class id left out of the counts, or None.
        sparse_y_pred: Predictions are class ids (True) or scores (False, argmax taken).
        axis: The class axis.
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype: str | None = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["sparse_y_true"]
        return config
