"""F-beta and F1 scores: the weighted harmonic mean of precision and recall, per class.

Predictions become 0/1 either above a threshold or, without one, at each sample's highest
score (so the F1 of a softmax classifier needs no threshold). The counts have one entry per
class, or one in all for `average='micro'`, so the Variables are built once the number of
classes is known: from the model's output shape in `compile`, else from the first batch.
"""

from __future__ import annotations

from nhanh import config, ops
from nhanh.metrics.metric import Metric
from nhanh.variables import in_stateless_scope

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """(1 + beta^2) * precision * recall / (beta^2 * precision + recall), per class.

    Args:
        average: None (one score per class), 'micro' (pool every class's counts), 'macro'
            (the mean of the class scores) or 'weighted' (their mean weighted by how many
            true labels each class has).
        beta: Float > 0, how many times more recall weighs than precision.
        threshold: Float in (0, 1]: scores above it are positive predictions; None takes
            the highest score of each sample as its positive prediction.
        name: Name of the metric.
        dtype: Dtype of the accumulators and the result.
    """

    _direction = "up"  # higher is better (EarlyStopping's mode="auto")

    def __init__(self, average: str | None = None, beta: float = 1.0,
                 threshold: float | None = None, name: str = "fbeta_score",
                 dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError(f"Invalid `average` argument value {average!r}: expected one of "
                             f"{list(_AVERAGES)}.")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value {beta!r}: expected a Python "
                             "float > 0, e.g. beta=2.0.")
        if threshold is not None and (not isinstance(threshold, float)
                                      or not 0.0 < threshold <= 1.0):
            raise ValueError(f"Invalid `threshold` argument value {threshold!r}: expected a "
                             "Python float with 0 < threshold <= 1, or None.")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self.built = False

    def build(self, y_true_shape, y_pred_shape) -> None:
        """Create the counts, one per class (the last axis of y_pred) or one for 'micro'."""
        if self.built:
            return
        y_true_shape = y_pred_shape if y_true_shape is None else y_true_shape
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} expects 2-D inputs of shape (batch_size, "
                             f"num_classes) with num_classes known; received y_true.shape="
                             f"{tuple(y_true_shape)} and y_pred.shape={tuple(y_pred_shape)}.")
        shape = () if self.average == "micro" else (int(y_pred_shape[-1]),)
        for name in ("true_positives", "false_positives", "false_negatives",
                     "intermediate_weights"):
            setattr(self, name, self.add_variable(shape, "zeros", name=name))
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = ops.convert_to_tensor(y_true, self.dtype)
        y_pred = ops.convert_to_tensor(y_pred, self.dtype)
        if not self.built:
            if in_stateless_scope():
                raise RuntimeError(f"{type(self).__name__} {self.name!r} has no Variables yet "
                                   "inside a compiled step: call update_state once outside it.")
            self.build(ops.shape(y_true), ops.shape(y_pred))
        if self.threshold is None:
            top = ops.max(y_pred, axis=-1, keepdims=True)
            predicted = ops.logical_and(ops.greater_equal(y_pred, top),
                                        ops.greater(ops.abs(y_pred), 1e-9))
        else:
            predicted = ops.greater(y_pred, self.threshold)
        predicted = ops.cast(predicted, self.dtype)
        weight = None if sample_weight is None else \
            ops.expand_dims(ops.convert_to_tensor(sample_weight, self.dtype), 1)

        def total(values):
            return ops.sum(values if weight is None else values * weight, axis=self.axis)

        self.true_positives.assign_add(total(predicted * y_true))
        self.false_positives.assign_add(total(predicted * (1 - y_true)))
        self.false_negatives.assign_add(total((1 - predicted) * y_true))
        self.intermediate_weights.assign_add(total(y_true))

    def result(self):
        eps = config.epsilon()
        tp = ops.convert_to_tensor(self.true_positives)
        precision = tp / (tp + self.false_positives + eps)
        recall = tp / (tp + self.false_negatives + eps)
        b2 = self.beta ** 2
        score = (1 + b2) * (precision * recall) / (b2 * precision + recall + eps)
        if self.average == "weighted":
            support = ops.convert_to_tensor(self.intermediate_weights)
            return ops.sum(score * support / (ops.sum(support) + eps))
        if self.average is not None:
            return ops.mean(score)
        return score

    def get_config(self) -> dict:
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """The harmonic mean of precision and recall: FBetaScore with beta = 1.

    Args:
        average: None (one score per class), 'micro', 'macro' or 'weighted'; see
            `FBetaScore`.
        threshold: Float in (0, 1]: scores above it are positive predictions; None takes
            the highest score of each sample as its positive prediction.
        name: Name of the metric.
        dtype: Dtype of the accumulators and the result.
    """

    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str = "f1_score", dtype: str | None = None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config
