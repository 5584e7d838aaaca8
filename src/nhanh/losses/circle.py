"""Circle loss (Sun et al., 2020) for metric learning on L2-normalised embeddings.

Every pair of embeddings in the batch (or against reference embeddings) is a positive pair
(same label) or a negative one; each pair's similarity is pushed towards its optimum with a
weight that grows with its distance from it. End the model with `UnitNormalization`.

A sample with no positive pair has a loss of 0, and, as in Keras, such samples leave the
average ('sum_over_batch_size' divides by the samples with a loss > 0); its gradient is 0.
"""

from __future__ import annotations

from nhanh import ops
from nhanh.losses.loss import LossFunctionWrapper, reduce_weighted_values

_SBS = "sum_over_batch_size"


def _pair_masks(labels, ref_labels, remove_diagonal: bool):
    labels = ops.reshape(labels, (-1, 1))
    ref_labels = ops.reshape(ref_labels, (1, -1))
    positive = ops.equal(labels, ref_labels)
    negative = ops.logical_not(positive)
    if remove_diagonal:
        off_diagonal = ops.equal(ops.eye(ops.shape(labels)[0], ops.shape(ref_labels)[1]), 0.0)
        positive = ops.logical_and(positive, off_diagonal)
    return positive, negative


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal: bool = True,
           gamma: float = 80.0, margin: float = 0.4):
    """The Circle loss of each embedding against the reference (by default the batch itself).

    Args:
        y_true: Integer labels, shape `(batch,)`.
        y_pred: L2-normalised embeddings, shape `(batch, dim)`.
        ref_labels: Labels of the reference embeddings, or `None` for `y_true`.
        ref_embeddings: Reference embeddings `(refs, dim)`, or `None` for `y_pred`.
        remove_diagonal: If True, an embedding is not its own positive pair.
        gamma: Scale of the similarity scores.
        margin: Relaxation margin: the optimum is 1 - margin for positive pairs' similarity
            and margin for negative pairs'.

    Returns:
        One loss per sample, shape `(batch,)`; 0 for samples without a positive pair.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    if ops.ndim(y_pred) != 2:
        raise ValueError(f"circle expects embeddings of shape (batch, dim), got "
                         f"{tuple(ops.shape(y_pred))}.")
    y_true = ops.cast(y_true, "int32")
    refs = y_pred if ref_embeddings is None else ops.convert_to_tensor(ref_embeddings)
    ref_labels = y_true if ref_labels is None else ops.cast(ref_labels, "int32")
    distances = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(refs)), 0.0)
    positive, negative = _pair_masks(y_true, ref_labels, remove_diagonal)
    dtype = ops.dtype(distances)
    pos_weights = ops.maximum((margin + distances) * ops.cast(positive, dtype), 0.0)
    neg_weights = ops.maximum((1.0 + margin - distances) * ops.cast(negative, dtype), 0.0)
    pos_logits = -gamma * pos_weights * (margin - distances)
    neg_logits = gamma * neg_weights * (1.0 - margin - distances)
    pos_term = ops.logsumexp(ops.where(positive, pos_logits, float("-inf")), axis=1)
    neg_term = ops.logsumexp(ops.where(negative, neg_logits, float("-inf")), axis=1)
    return ops.softplus(pos_term + neg_term)


class Circle(LossFunctionWrapper):
    """Circle loss between integer labels and L2-normalised embeddings (see `circle`).

    Args:
        gamma: Scale of the similarity scores.
        margin: Relaxation margin (see `circle`).
        remove_diagonal: If True, an embedding is not its own positive pair.
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`); samples with a loss
            of 0 leave the count.
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction=_SBS, name="circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma,
                         margin=margin, remove_diagonal=remove_diagonal)

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred, self.dtype)
        losses = self.call(ops.convert_to_tensor(y_true), y_pred)
        return reduce_weighted_values(losses, sample_weight, ops.greater(losses, 0.0),
                                      self.reduction, self.dtype)
