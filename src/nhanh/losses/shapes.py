"""Pairing the shapes of labels, predictions and weights, as Keras does.

Labels often arrive as `(batch,)` while a model predicts `(batch, 1)`. Broadcasting those
against each other silently gives a `(batch, batch)` matrix and a wrong loss, so every loss
and metric pairs ranks first: when the ranks differ by one and the longer side ends in a
size-1 axis, the rank-1 side gains that axis, or else the size-1 axis is dropped.
"""

from __future__ import annotations

from nhanh import config, ops


def pair_shapes(y_true, y_pred):
    """(y_true, y_pred) brought to the same rank where they differ only by a trailing 1."""
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


def prepare(y_true, y_pred):
    """y_pred as a float tensor, y_true cast to its dtype, ranks paired."""
    y_pred = ops.convert_to_tensor(y_pred)
    if not is_float(ops.dtype(y_pred)):
        y_pred = ops.cast(y_pred, config.floatx())
    y_true = ops.cast(y_true, ops.dtype(y_pred))
    return pair_shapes(y_true, y_pred)
