"""Pairing the shapes of labels, predictions and weights, as Keras does.

Labels often arrive as `(batch,)` while a model predicts `(batch, 1)`. Broadcasting those
against each other silently gives a `(batch, batch)` matrix and a wrong loss, so every loss
and metric pairs ranks first: when the ranks differ by one and the longer side ends in a
size-1 axis, the rank-1 side gains that axis, or else the size-1 axis is dropped.

After pairing, targets that still cannot meet the predictions (integer labels given to
categorical_crossentropy, (batch, 3) targets for one sigmoid unit, shapes that do not
broadcast) raise a ValueError naming the loss, both shapes and the fix, where Keras fails
too; anything Keras accepts passes.
"""

from __future__ import annotations

from nhanh import config, ops


def pair_shapes(y_true, y_pred):
    """(y_true, y_pred) brought to the same rank where they differ only by a trailing 1.

    When one side has one more axis and it has size 1, a rank-1 other side gains that axis
    (`(batch,)` with `(batch, 1)` gives two `(batch, 1)`); otherwise the size-1 axis is
    dropped. Any other pair is returned unchanged.

    Args:
        y_true: Labels or targets (a tensor).
        y_pred: Predictions (a tensor).

    Returns:
        The pair `(y_true, y_pred)`, possibly reshaped.
    """
    return _same_rank(y_true, y_pred)


def _same_rank(x1, x2):
    r1, r2 = ops.ndim(x1), ops.ndim(x2)
    if r1 == r2 + 1 and ops.shape(x1)[-1] == 1:
        if r2 == 1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    elif r2 == r1 + 1 and ops.shape(x2)[-1] == 1:
        if r1 == 1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def match_weights(values, sample_weight):
    """(values, sample_weight) with the weights paired to the values and broadcastable.

    A per-sample weight `(batch,)` against per-step values `(batch, steps)` gains trailing
    axes, so each sample's weight scales all of its entries (Keras 3 would broadcast it along
    the wrong axis).
    """
    sample_weight = ops.cast(sample_weight, ops.dtype(values))
    values, sample_weight = _same_rank(values, sample_weight)
    extra = ops.ndim(values) - ops.ndim(sample_weight)
    if extra > 0 and ops.ndim(sample_weight) > 0:
        sample_weight = ops.reshape(sample_weight, ops.shape(sample_weight) + (1,) * extra)
    return values, sample_weight


def is_float(dtype: str) -> bool:
    return "float" in str(dtype)


def prepare(y_true, y_pred, loss: str | None = None, same_shape: bool = False):
    """y_pred as a float tensor, y_true cast to its dtype, ranks paired.

    With `loss` (its name), targets that cannot meet the predictions raise a ValueError that
    says what to change, instead of the engine's broadcasting error from inside a compiled
    step; `same_shape` asks for equal shapes after pairing (crossentropies, as in Keras).
    Shapes are static, so this costs nothing inside jax.jit or a captured torch step.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    if not is_float(ops.dtype(y_pred)):
        y_pred = ops.cast(y_pred, config.floatx())
    y_true = ops.cast(y_true, ops.dtype(y_pred))
    given = tuple(ops.shape(y_true))
    y_true, y_pred = pair_shapes(y_true, y_pred)
    if loss is not None:
        check_targets(loss, given, tuple(ops.shape(y_true)), tuple(ops.shape(y_pred)),
                      same_shape)
    return y_true, y_pred


def _dims_match(a, b) -> bool:
    return a is None or b is None or a == b


def broadcastable(s1: tuple, s2: tuple) -> bool:
    return all(_dims_match(a, b) or 1 in (a, b) for a, b in zip(reversed(s1), reversed(s2)))


def format_shape(shape: tuple) -> str:
    """(32,) or (None, 3): a shape as Python writes a tuple, for messages."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def check_targets(loss: str, given: tuple, true: tuple, pred: tuple, same_shape: bool) -> None:
    """Raise a ValueError naming the loss, both shapes and the fix, where Keras fails too."""
    if same_shape:
        ok = len(true) == len(pred) and all(map(_dims_match, true, pred))
    else:
        ok = broadcastable(true, pred)
    if ok:
        return
    classes = pred[-1] if pred else None
    batch = "(batch, " + ", ".join(str(d) for d in pred[1:]) + ")" if pred else "()"
    if loss == "categorical_crossentropy":
        head = (f"categorical_crossentropy expects one-hot targets of shape {batch} matching "
                f"the predictions, but got targets of shape {format_shape(given)} (predictions: "
                f"{format_shape(pred)}).")
        if len(given) < len(pred) or (given and given[-1] == 1):
            fix = (" If the targets are integer class labels: use "
                   "loss='sparse_categorical_crossentropy', or one-hot encode them with "
                   f"nhanh.utils.to_categorical(y, num_classes={classes}).")
        else:
            fix = (f" The targets have {given[-1]} classes and the model predicts {classes}: "
                   f"give the last layer {given[-1]} units, or fix the targets.")
        raise ValueError(head + fix)
    per_sample = len(given) == 1 or (len(given) > 1 and given[-1] == 1)
    if loss == "binary_crossentropy":
        head = (f"binary_crossentropy expects targets with the shape of the predictions "
                f"{format_shape(pred)}, one 0/1 label per output unit, but got targets of "
                f"shape {format_shape(given)}.")
        if classes == 1 and true and true[-1] > 1:
            fix = (f" For {true[-1]} classes with one label per sample, end the model with "
                   f"Dense({true[-1]}, activation='softmax') and use "
                   "loss='categorical_crossentropy' (one-hot targets); for multi-label "
                   f"targets, end it with Dense({true[-1]}, activation='sigmoid').")
        elif per_sample:
            fix = (" If the targets are integer class labels, use "
                   "loss='sparse_categorical_crossentropy' with a softmax output; for one "
                   "0/1 label per sample, give the last layer 1 unit.")
        else:
            fix = (f" Give the last layer {true[-1]} units, one per label."
                   if len(true) == len(pred) else " Reshape the targets to match.")
        raise ValueError(head + fix)
    if per_sample and classes is not None and classes > 1:
        fix = (" The targets hold one value per sample: give the last layer 1 unit (for "
               "integer class labels, use loss='sparse_categorical_crossentropy').")
    elif len(true) == len(pred) and true:
        fix = f" Give the last layer {true[-1]} units, or reshape the targets."
    else:
        fix = " Make the model's output shape match the targets, or reshape the targets."
    raise ValueError(
        f"{loss}: targets of shape {format_shape(given)} do not fit predictions of shape "
        f"{format_shape(pred)} (the shapes neither match nor broadcast).{fix}"
    )
