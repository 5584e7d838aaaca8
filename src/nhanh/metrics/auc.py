"""AUC: the area under the ROC or precision-recall curve, from counts at fixed thresholds.

The counts are a `ConfusionCounts` over thresholds [-eps, t_1, ..., 1 + eps], so the first
threshold takes every prediction as positive and the last none. The area is a Riemann sum
between consecutive thresholds; for PR with 'interpolation' it is the Davis & Goadrich
(2006) interpolation, which integrates precision exactly along a straight line in
(TP, TP + FP) between thresholds, because interpolating precision itself overstates it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nhanh import config, ops
from nhanh.metrics.confusion_counts import ConfusionCounts, evenly_spaced, ratio

_CURVES = ("ROC", "PR", "PRGAIN")
_SUMMATIONS = ("interpolation", "minoring", "majoring")


def _choice(value, allowed: tuple, argument: str) -> str:
    value = getattr(value, "value", value)  # an enum member, as Keras also accepts
    for option in allowed:
        if isinstance(value, str) and value.lower() == option.lower():
            return option
    raise ValueError(f"Invalid `{argument}` argument value {value!r}: expected one of "
                     f"{list(allowed)}.")


class AUC(ConfusionCounts):
    """Area under the ROC curve (default) or the precision-recall curve.

    Args:
        num_thresholds: Number of thresholds (> 1) spread evenly over [0, 1]; more gives a
            closer approximation of the true area.
        curve: 'ROC', 'PR' (precision-recall) or 'PRGAIN' (precision-recall-gain).
        summation_method: 'interpolation' (trapezoids; for PR, Davis & Goadrich's
            interpolation), 'minoring' (the lower rectangle) or 'majoring' (the upper one).
        name: Name of the metric.
        dtype: Dtype of the counts and the result.
        thresholds: Explicit thresholds in (0, 1) used instead of `num_thresholds`; -eps
            and 1 + eps are added at the ends.
        multi_label: Keep counts per label (the last axis) and average the labels' areas,
            instead of flattening all labels into one curve.
        num_labels: Number of labels, to build at once when `multi_label`; otherwise taken
            from the first batch.
        label_weights: Per-label weights: for `multi_label`, of the labels' areas in the
            mean; otherwise of each label's entries in the counts.
        from_logits: Whether predictions are logits (a sigmoid is applied first).
    """

    _direction = "up"  # higher is better (EarlyStopping's mode="auto")

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype: str | None = None, thresholds: Sequence[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None,
                 label_weights: Sequence[float] | None = None, from_logits: bool = False):
        self.curve = _choice(curve, _CURVES, "curve")
        self.summation_method = _choice(summation_method, _SUMMATIONS, "summation_method")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            bad = [t for t in inner if not 0 <= t <= 1]
            if bad:
                raise ValueError(f"Argument `thresholds` must hold values in [0, 1]; "
                                 f"received {bad}.")
            num_thresholds = len(inner) + 2
            clip = evenly_spaced([0.0, *inner, 1.0])
        else:
            if not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1; "
                                 f"received num_thresholds={num_thresholds!r}.")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            clip = True
        eps = config.epsilon()
        if not multi_label and num_labels:
            raise ValueError("`num_labels` is needed only when `multi_label` is True; "
                             f"received num_labels={num_labels!r} with multi_label=False.")
        super().__init__(("tp", "fp", "tn", "fn"), [-eps, *inner, 1.0 + eps], clip=clip,
                         name=name, dtype=dtype)
        self.num_thresholds = num_thresholds
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else \
            [float(w) for w in np.asarray(label_weights, dtype="float64").reshape(-1)]
        self._label_weights = self.label_weights
        self._from_logits = from_logits
        if not self.multi_label:
            self.build()
        elif num_labels:
            self.build(None, (None, num_labels))

    @property
    def thresholds(self) -> list[float]:
        """The thresholds used, the -eps and 1 + eps ends included."""
        return list(self._count_thresholds)

    def _scores(self, y_pred):
        return ops.sigmoid(y_pred) if self._from_logits else y_pred

    # --- the area ----------------------------------------------------------------------
    def _by_label(self, terms):
        """Sum the per-threshold terms, then average labels (weighted) when multi_label."""
        area = ops.sum(terms, axis=0)
        if not self.multi_label:
            return area
        if self.label_weights is None:
            return ops.mean(area)
        weights = ops.convert_to_tensor(np.asarray(self.label_weights), self.dtype)
        return ops.safe_divide(ops.sum(area * weights), ops.sum(weights))

    def _interpolated_pr(self):
        tp, fp, fn = (ops.convert_to_tensor(v) for v in
                      (self.true_positives, self.false_positives, self.false_negatives))
        p = tp + fp
        d_tp, d_p = tp[:-1] - tp[1:], p[:-1] - p[1:]
        slope = ops.safe_divide(d_tp, ops.maximum(d_p, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both = ops.logical_and(ops.greater(p[:-1], 0), ops.greater(p[1:], 0))
        p_ratio = ops.where(both, ops.safe_divide(p[:-1], ops.maximum(p[1:], 0.0)), 1.0)
        terms = ops.safe_divide(slope * (d_tp + intercept * ops.log(p_ratio)),
                                ops.maximum(tp[1:] + fn[1:], 0.0))
        return self._by_label(terms)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr()
        tp, fp, tn, fn = (ops.convert_to_tensor(v) for v in self.variables)
        recall = ratio(tp, tp, fn)
        if self.curve == "ROC":
            x, y = ratio(fp, fp, tn), recall
        elif self.curve == "PR":
            x, y = recall, ratio(tp, tp, fp)
        else:  # precision-recall-gain (Flach & Kull, 2015)
            scale = ratio(tp + fn, tn, fp)
            no_tp = ops.equal(tp, 0.0)
            x = ops.maximum(ops.where(no_tp, 0.0, 1.0 - scale * ratio(fn, tp)), 0.0)
            y = ops.where(no_tp, 1.0, 1.0 - scale * ratio(fp, tp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = ops.minimum(y[:-1], y[1:])
        else:
            heights = ops.maximum(y[:-1], y[1:])
        return self._by_label((x[:-1] - x[1:]) * heights)

    def get_config(self) -> dict:
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": self.label_weights, "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
