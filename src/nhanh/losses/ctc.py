"""CTC loss (Connectionist Temporal Classification), for sequences without alignments.

Targets are padded with 0, which is also the blank class (as in Keras): each row's label
length is its number of non-zero entries, and every time step of `y_pred` counts. The
probabilities over all alignments are summed by the engine (`ops.ctc_loss`: PyTorch's own
kernel, a log-space forward pass under lax.scan on JAX).
"""

from __future__ import annotations

from nhanh import ops
from nhanh.losses.loss import LossFunctionWrapper

_SBS = "sum_over_batch_size"


def ctc(y_true, y_pred):
    """Negative log-likelihood of each label sequence under CTC.

    Args:
        y_true: Integer labels `(batch, max_label_length)`, 1 .. classes-1, padded with 0.
        y_pred: Logits `(batch, steps, classes)`; class 0 is the blank.

    Returns:
        One loss per sample, shape `(batch,)`.
    """
    if ops.ndim(y_true) != 2:
        raise ValueError("ctc expects targets `y_true` of shape (batch, max_label_length) "
                         f"holding integer labels padded with 0, got shape "
                         f"{tuple(ops.shape(y_true))}.")
    if ops.ndim(y_pred) != 3:
        raise ValueError("ctc expects logits `y_pred` of shape (batch, steps, classes), got "
                         f"shape {tuple(ops.shape(y_pred))}.")
    batch, steps = ops.shape(y_pred)[:2]
    labels = ops.cast(y_true, "int32")
    label_length = ops.cast(ops.sum(ops.cast(ops.not_equal(labels, 0), "int32"), axis=-1),
                            "int32")
    output_length = ops.full((batch,), steps, dtype="int32")
    return ops.ctc_loss(labels, y_pred, label_length, output_length, mask_index=0)


class CTC(LossFunctionWrapper):
    """CTC loss between padded integer label sequences and per-step logits (see `ctc`).

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)
