"""Threshold metrics as thin entries over `ConfusionCounts`: each names the counts it keeps
and how its result reads them.

TruePositives ... FalseNegatives return the raw counts, Precision and Recall their ratios,
and the `...At...` family the best value of one rate where another meets a constraint,
over `num_thresholds` evenly spaced thresholds. AUC lives in `auc.py`.
"""

from __future__ import annotations

from typing import Sequence

from nhanh import ops
from nhanh.metrics.confusion_counts import (
    NEG_INF,
    ConfusionCounts,
    evenly_spaced,
    parse_thresholds,
    ratio,
)


class _ConditionCount(ConfusionCounts):
    """The weighted count of one confusion-matrix cell, per threshold."""

    _kind = ""

    def __init__(self, thresholds: float | Sequence[float] | None = None,
                 name: str | None = None, dtype: str | None = None):
        parsed = parse_thresholds(thresholds, 0.5)
        super().__init__((self._kind,), parsed, clip=evenly_spaced(parsed), name=name,
                         dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parsed
        self.build()

    def result(self):
        return self._per_threshold(ops.convert_to_tensor(self.variables[0]))

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConditionCount):
    """Weighted count of positive labels predicted positive (`y_pred > threshold`).

    Args:
        thresholds: A float or list of floats in [0, 1]; default 0.5. A list gives one
            count per threshold.
        name: Name of the metric.
        dtype: Dtype of the counts.
    """

    _kind = "tp"


class FalsePositives(_ConditionCount):
    """Weighted count of negative labels predicted positive (`y_pred > threshold`).

    Args:
        thresholds: A float or list of floats in [0, 1]; default 0.5.
        name: Name of the metric.
        dtype: Dtype of the counts.
    """

    _kind = "fp"


class TrueNegatives(_ConditionCount):
    """Weighted count of negative labels predicted negative (`y_pred <= threshold`).

    Args:
        thresholds: A float or list of floats in [0, 1]; default 0.5.
        name: Name of the metric.
        dtype: Dtype of the counts.
    """

    _kind = "tn"


class FalseNegatives(_ConditionCount):
    """Weighted count of positive labels predicted negative (`y_pred <= threshold`).

    Args:
        thresholds: A float or list of floats in [0, 1]; default 0.5.
        name: Name of the metric.
        dtype: Dtype of the counts.
    """

    _kind = "fn"


class _RatioMetric(ConfusionCounts):
    """TP / (TP + other), with Keras's thresholds / top_k / class_id arguments."""

    _direction = "up"  # higher is better (EarlyStopping's mode="auto")

    _other = ""

    def __init__(self, thresholds: float | Sequence[float] | None = None,
                 top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        parsed = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        super().__init__(("tp", self._other), parsed, top_k=top_k, class_id=class_id,
                         clip=evenly_spaced(parsed), name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parsed
        self.build()

    def result(self):
        tp, other = self.variables
        return self._per_threshold(ratio(tp, tp, other))

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_RatioMetric):
    """TP / (TP + FP): the fraction of positive predictions that are right.

    Args:
        thresholds: A float or list of floats in [0, 1] (`y_pred > threshold` is positive);
            default 0.5, or no threshold when `top_k` is set.
        top_k: Count only the k highest scores of each sample as positive predictions.
        class_id: Measure only this class (an index of the last axis).
        name: Name of the metric.
        dtype: Dtype of the accumulators.
    """

    _other = "fp"


class Recall(_RatioMetric):
    """TP / (TP + FN): the fraction of positive labels that are found.

    Args:
        thresholds: A float or list of floats in [0, 1] (`y_pred > threshold` is positive);
            default 0.5, or no threshold when `top_k` is set.
        top_k: Count only the k highest scores of each sample as positive predictions.
        class_id: Measure only this class (an index of the last axis).
        name: Name of the metric.
        dtype: Dtype of the accumulators.
    """

    _other = "fn"


class _RateAtRate(ConfusionCounts):
    """The best `dependent` rate over thresholds where the `constrained` rate >= value."""

    _direction = "up"  # higher is better (EarlyStopping's mode="auto")

    _value_name = ""

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"Argument `{self._value_name}` must be in the range [0, 1]; "
                             f"received {self._value_name}={value!r}.")
        if not isinstance(num_thresholds, int) or num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0; received "
                             f"num_thresholds={num_thresholds!r}.")
        if num_thresholds == 1:
            thresholds = [0.5]
        else:
            thresholds = [i / (num_thresholds - 1) for i in range(num_thresholds)]
        super().__init__(("tp", "fp", "tn", "fn"), thresholds, class_id=class_id,
                         clip=num_thresholds > 1, name=name, dtype=dtype)
        setattr(self, self._value_name, value)
        self.value = value
        self.num_thresholds = num_thresholds
        self.thresholds = thresholds
        self.build()

    def _rates(self) -> dict:
        tp, fp, tn, fn = self.variables
        return {"recall": ratio(tp, tp, fn), "precision": ratio(tp, tp, fp),
                "specificity": ratio(tn, tn, fp)}

    def _best(self, constrained: str, dependent: str):
        rates = self._rates()
        feasible = ops.greater_equal(rates[constrained], self.value)
        return ops.max(ops.where(feasible, rates[dependent], 0.0))

    def get_config(self) -> dict:
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._value_name: self.value}


class SensitivityAtSpecificity(_RateAtRate):
    """The best sensitivity (recall) at thresholds whose specificity is >= `specificity`.

    Args:
        specificity: A float in [0, 1].
        num_thresholds: Number of evenly spaced thresholds in [0, 1] tried (1 means 0.5).
        class_id: Measure only this class (an index of the last axis).
        name: Name of the metric.
        dtype: Dtype of the accumulators.
    """

    _value_name = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: str | None = None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("specificity", "recall")


class SpecificityAtSensitivity(_RateAtRate):
    """The best specificity at thresholds whose sensitivity (recall) is >= `sensitivity`.

    Args:
        sensitivity: A float in [0, 1].
        num_thresholds: Number of evenly spaced thresholds in [0, 1] tried (1 means 0.5).
        class_id: Measure only this class (an index of the last axis).
        name: Name of the metric.
        dtype: Dtype of the accumulators.
    """

    _value_name = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: str | None = None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("recall", "specificity")


class PrecisionAtRecall(_RateAtRate):
    """The best precision at thresholds whose recall is >= `recall`.

    Args:
        recall: A float in [0, 1].
        num_thresholds: Number of evenly spaced thresholds in [0, 1] tried (1 means 0.5).
        class_id: Measure only this class (an index of the last axis).
        name: Name of the metric.
        dtype: Dtype of the accumulators.
    """

    _value_name = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("recall", "precision")


class RecallAtPrecision(_RateAtRate):
    """The best recall at thresholds whose precision is >= `precision`.

    Args:
        precision: A float in [0, 1].
        num_thresholds: Number of evenly spaced thresholds in [0, 1] tried (1 means 0.5).
        class_id: Measure only this class (an index of the last axis).
        name: Name of the metric.
        dtype: Dtype of the accumulators.
    """

    _value_name = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: str | None = None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("precision", "recall")
