"""The confusion-matrix mechanism, written once: weighted TP/FP/TN/FN counts per threshold.

Every threshold metric (TruePositives ... AUC) is a `ConfusionCounts` that keeps some of
the four counts, one entry per threshold, and differs only in `result()`. A prediction is
positive at threshold t when `y_pred > t`; a label is positive when it is non-zero.

The counts come from one comparison `(thresholds, predictions)` and a matrix product with
the weighted labels, so a whole update is a handful of fused ops inside the compiled step.
Keras takes a bucketed path for evenly spaced thresholds, which clips predictions to [0, 1]
first; we clip in the same case, so out-of-range scores count exactly as in Keras.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from nhanh import config, ops
from nhanh.losses.shapes import pair_shapes
from nhanh.metrics.metric import Metric
from nhanh.variables import in_stateless_scope

KINDS = ("tp", "fp", "tn", "fn")
NEG_INF = -1e10  # the score of predictions outside the top k: below every threshold
_NAMES = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
          "fn": "false_negatives"}


def parse_thresholds(thresholds, default: float) -> list[float]:
    """Thresholds as a list of floats in [0, 1] (`default` when None)."""
    if thresholds is None:
        return [float(default)]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) \
        else [thresholds]
    bad = [t for t in values if t is None or not 0 <= t <= 1]
    if bad:
        raise ValueError(f"Argument `thresholds` must hold values in [0, 1]; received "
                         f"{thresholds!r} (bad values {bad}). Pass floats such as 0.5 or "
                         "[0.25, 0.5, 0.75].")
    return [float(t) for t in values]


def evenly_spaced(thresholds: Sequence[float]) -> bool:
    """Whether thresholds are 0, 1/(n-1), ..., 1 (within epsilon): Keras's bucketed case."""
    n = len(thresholds)
    if n < 3:
        return False
    return bool(np.allclose(thresholds, np.arange(n, dtype="float32") / (n - 1),
                            atol=config.epsilon()))


def filter_top_k(y_pred, k: int):
    """Scores outside the k largest of the last axis replaced by NEG_INF."""
    _, index = ops.top_k(y_pred, k)
    mask = ops.sum(ops.one_hot(index, ops.shape(y_pred)[-1], dtype=ops.dtype(y_pred)),
                   axis=-2)
    return y_pred * mask + NEG_INF * (1 - mask)


def _pair_weights(weight, y_pred):
    """Sample weights broadcast to the predictions' shape, a (batch,) weight per sample."""
    weight = ops.convert_to_tensor(weight, ops.dtype(y_pred))
    rank, pred_rank = ops.ndim(weight), ops.ndim(y_pred)
    if rank == pred_rank + 1 and ops.shape(weight)[-1] == 1:
        weight = ops.squeeze(weight, -1)
    elif 0 < rank < pred_rank:
        weight = ops.reshape(weight, ops.shape(weight) + (1,) * (pred_rank - rank))
    return ops.broadcast_to(weight, ops.shape(y_pred))


def confusion_counts(y_true, y_pred, thresholds: Sequence[float], kinds: Sequence[str],
                     sample_weight=None, top_k: int | None = None,
                     class_id: int | None = None, multi_label: bool = False,
                     label_weights=None, clip: bool = False, dtype: str | None = None) -> dict:
    """Weighted counts per threshold: {'tp': (T,) or (T, labels), ...} for each kind asked.

    Args:
        y_true: Labels (non-zero is positive).
        y_pred: Scores, of `y_true`'s shape (a trailing size-1 axis is paired).
        thresholds: Floats; a prediction is positive at t when it is > t.
        kinds: Which of 'tp', 'fp', 'tn', 'fn' to return.
        sample_weight: Optional weights, per sample or per entry.
        top_k: Keep only the k largest scores of the last axis positive.
        class_id: Count only this index of the last axis.
        multi_label: Keep the last axis (counts per label) instead of flattening.
        label_weights: Optional per-label weights, applied when flattening.
        clip: Clip scores to [0, 1] first (Keras does so for evenly spaced thresholds).
        dtype: Dtype of the counts; `None` uses floatx.
    """
    dtype = dtype or config.floatx()
    y_true = ops.cast(ops.convert_to_tensor(y_true), dtype)
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), dtype)
    y_pred, y_true = pair_shapes(y_pred, y_true)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    weight = None if sample_weight is None else _pair_weights(sample_weight, y_pred)
    if class_id is not None:
        if ops.ndim(y_pred) < 2:
            raise ValueError(f"With class_id={class_id}, y_pred must have shape "
                             f"(samples, classes); received shape {ops.shape(y_pred)}. Drop "
                             "class_id for a single binary output.")
        y_true = y_true[..., class_id:class_id + 1]
        y_pred = y_pred[..., class_id:class_id + 1]
        weight = None if weight is None else weight[..., class_id:class_id + 1]
    if label_weights is not None and not multi_label:
        lw = ops.broadcast_to(ops.convert_to_tensor(label_weights, dtype), ops.shape(y_pred))
        weight = lw if weight is None else weight * lw
    if clip:
        y_pred = ops.clip(y_pred, 0.0, 1.0)
    if not multi_label:
        y_true, y_pred = ops.reshape(y_true, (-1,)), ops.reshape(y_pred, (-1,))
        weight = None if weight is None else ops.reshape(weight, (-1,))
    elif ops.ndim(y_pred) != 2:
        raise ValueError(f"multi_label=True needs y_pred of shape (samples, labels); "
                         f"received shape {ops.shape(y_pred)}.")
    positive = ops.cast(ops.not_equal(y_true, 0), dtype)
    weight = ops.ones_like(positive) if weight is None else weight
    true_w, false_w = positive * weight, (1 - positive) * weight
    t = ops.convert_to_tensor(np.asarray(thresholds, dtype="float64"), dtype)
    t = ops.reshape(t, (-1,) + (1,) * ops.ndim(y_pred))
    predicted = ops.cast(ops.greater(ops.expand_dims(y_pred, 0), t), dtype)  # (T, N[, L])
    out = {}
    if any(k in kinds for k in ("tp", "fn")):
        out["tp"] = ops.sum(predicted * true_w, axis=1)
    if any(k in kinds for k in ("fp", "tn")):
        out["fp"] = ops.sum(predicted * false_w, axis=1)
    if "fn" in kinds:
        out["fn"] = ops.sum(true_w, axis=0) - out["tp"]
    if "tn" in kinds:
        out["tn"] = ops.sum(false_w, axis=0) - out["fp"]
    return {k: out[k] for k in kinds}


class ConfusionCounts(Metric):
    """A metric that accumulates some of TP/FP/TN/FN at fixed thresholds.

    Subclasses name the counts they keep (`kinds`) and write `result()` from the
    attributes `true_positives`, `false_positives`, `true_negatives`, `false_negatives`.

    Args:
        kinds: Which counts to keep, from 'tp', 'fp', 'tn', 'fn'.
        thresholds: The thresholds (floats in [0, 1], already parsed).
        top_k: Keep only the k largest scores positive.
        class_id: Count only this class (an index of the last axis).
        clip: Clip scores to [0, 1] before comparing (Keras's evenly spaced case).
        name: Name of the metric.
        dtype: Dtype of the counts.
    """

    multi_label = False

    def __init__(self, kinds: Sequence[str], thresholds: Sequence[float],
                 top_k: int | None = None, class_id: int | None = None, clip: bool = False,
                 name: str | None = None, dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"Argument `top_k` must be a positive int or None; received "
                             f"{top_k!r}.")
        self._kinds = tuple(kinds)
        self._count_thresholds = list(thresholds)
        self.top_k = top_k
        self.class_id = class_id
        self._clip = clip
        self.built = False
        self._label_weights = None

    def build(self, y_true_shape=None, y_pred_shape=None) -> None:
        """Create the count Variables; multi-label metrics need the number of labels."""
        if self.built:
            return
        shape: tuple = (len(self._count_thresholds),)
        if self.multi_label:
            if y_pred_shape is None or len(y_pred_shape) != 2 or y_pred_shape[-1] is None:
                raise ValueError(f"{type(self).__name__}(multi_label=True) needs y_pred of "
                                 f"shape (samples, labels); received shape {y_pred_shape}. "
                                 "Pass num_labels= or 2-D predictions.")
            shape += (int(y_pred_shape[-1]),)
        for kind in self._kinds:
            setattr(self, _NAMES[kind], self.add_variable(shape, "zeros", name=_NAMES[kind]))
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = self._scores(ops.convert_to_tensor(y_pred))
        if not self.built:
            if in_stateless_scope():
                raise RuntimeError(f"{type(self).__name__} {self.name!r} has no Variables yet "
                                   "inside a compiled step: call update_state once outside it, "
                                   "or pass num_labels= so it can build at once.")
            self.build(None, ops.shape(y_pred))
        counts = confusion_counts(
            y_true, y_pred, self._count_thresholds, self._kinds, sample_weight=sample_weight,
            top_k=self.top_k, class_id=self.class_id, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self._label_weights,
            clip=self._clip, dtype=self.dtype)
        for kind, value in counts.items():
            getattr(self, _NAMES[kind]).assign_add(value)

    def _scores(self, y_pred):
        """The scores compared with the thresholds (AUC applies a sigmoid to logits)."""
        return y_pred

    def _per_threshold(self, value):
        """One number for a single threshold, else one per threshold (as Keras returns)."""
        return value[0] if len(self._count_thresholds) == 1 else value


def ratio(numerator, *denominator_terms):
    """numerator / sum(denominator_terms), 0 where the sum is 0 (Variables or tensors)."""
    total = denominator_terms[0]
    for term in denominator_terms[1:]:
        total = ops.add(total, term)
    return ops.safe_divide(numerator, total)
