"""Choosing the metric behind `compile(metrics=['accuracy'])` for one model output.

'accuracy' means different things for 0/1 labels with a sigmoid output, integer labels and
one-hot labels. Keras 3 decides from the shapes of labels and predictions; we look at the
loss first (it states the label format outright), then at the shapes.
"""

from __future__ import annotations

from typing import Any, Sequence

from nhanh import losses, ops
from nhanh.metrics import accuracy_metrics as acc
from nhanh.metrics import loss_metrics as lm
from nhanh.metrics.metric import Metric
from nhanh.metrics.reduction import MeanMetricWrapper

_ACCURACY = {"binary": acc.BinaryAccuracy, "sparse": acc.SparseCategoricalAccuracy,
             "categorical": acc.CategoricalAccuracy}
_CROSSENTROPY = {"binary": lm.BinaryCrossentropy, "sparse": lm.SparseCategoricalCrossentropy,
                 "categorical": lm.CategoricalCrossentropy}
_LOSS_KIND = {losses.binary_crossentropy: "binary",
              losses.sparse_categorical_crossentropy: "sparse",
              losses.categorical_crossentropy: "categorical"}


def _shape(x) -> tuple | None:
    if x is None:
        return None
    if isinstance(x, (tuple, list)) and all(d is None or isinstance(d, int) for d in x):
        return tuple(x)
    return tuple(ops.shape(x)) if hasattr(x, "shape") or ops.is_tensor(x) else None


def _loss_fn(loss):
    if isinstance(loss, str):
        try:
            loss = losses.get(loss)
        except ValueError:
            return None
    return loss.fn if isinstance(loss, losses.LossFunctionWrapper) else loss


def label_kind(loss: Any, y_true_shape: Sequence | None, y_pred_shape: Sequence | None) -> str:
    """'binary', 'sparse' or 'categorical': the label format of one output.

    A crossentropy loss decides; otherwise a single output unit means binary, labels of
    lower rank (or a last axis of 1 against several classes) mean sparse, and anything else,
    unknown shapes included, means categorical.

    Args:
        loss: The output's loss (name, function or Loss), or `None`.
        y_true_shape: Shape (or a tensor) of the labels, or `None` if unknown.
        y_pred_shape: Shape (or a tensor) of the predictions, or `None` if unknown.

    Returns:
        `"binary"`, `"sparse"` or `"categorical"`.
    """
    kind = _LOSS_KIND.get(_loss_fn(loss)) if loss is not None else None
    if kind:
        return kind
    y_true_shape, y_pred_shape = _shape(y_true_shape), _shape(y_pred_shape)
    if not y_pred_shape:
        # Shapes unknown (compile() checking names before any data): Keras's last resort.
        return "categorical"
    if y_pred_shape[-1] == 1:
        return "binary"
    if y_true_shape is not None and (
        len(y_true_shape) < len(y_pred_shape)
        or (y_true_shape and y_true_shape[-1] == 1 and (y_pred_shape[-1] or 2) > 1)
    ):
        return "sparse"
    return "categorical"


def get_for_output(identifier: Any, loss: Any = None, y_true_shape: Sequence | None = None,
                   y_pred_shape: Sequence | None = None) -> Metric | None:
    """The Metric that `identifier` means for an output with this loss and these shapes.

    'accuracy'/'acc' and 'crossentropy'/'ce' pick their binary, sparse or categorical form;
    other names resolve through `nhanh.metrics.get`; plain functions are wrapped in a
    MeanMetricWrapper. A metric given by name is named by that string, as Keras logs it.

    Args:
        identifier: What the user passed in `compile(metrics=...)`: a name, config dict, Metric
            class or instance, or function; `None` gives `None`.
        loss: The output's loss, which states the label format when it is a crossentropy.
        y_true_shape: Shape (or a tensor) of the labels, or `None` if unknown.
        y_pred_shape: Shape (or a tensor) of the predictions, or `None` if unknown.

    Returns:
        A `Metric`, or `None`.
    """
    from nhanh.metrics import get

    if identifier is None:
        return None
    key = identifier.lower() if isinstance(identifier, str) else None
    if key in ("accuracy", "acc"):
        metric = _ACCURACY[label_kind(loss, y_true_shape, y_pred_shape)](name=identifier)
    elif key in ("crossentropy", "ce"):
        kind = label_kind(loss, y_true_shape, y_pred_shape)
        from_logits = bool(getattr(loss, "_fn_kwargs", {}).get("from_logits", False))
        metric = _CROSSENTROPY[kind](name=identifier, from_logits=from_logits)
    else:
        metric = get(identifier)
        if not isinstance(metric, Metric):
            metric = MeanMetricWrapper(metric, name=getattr(metric, "__name__", None))
    if isinstance(identifier, str):
        metric.name = identifier
    if getattr(metric, "built", True) is False and y_pred_shape is not None:
        # Metrics whose Variables depend on the output width (F1Score, R2Score, multi-label
        # AUC) are built here, before the compiled step collects the Variables.
        true_shape = None if y_true_shape is None else tuple(getattr(y_true_shape, "shape",
                                                                     y_true_shape))
        metric.build(true_shape, tuple(getattr(y_pred_shape, "shape", y_pred_shape)))
    return metric
