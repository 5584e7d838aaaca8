"""Probabilistic losses: crossentropies, KL divergence and Poisson.

Probabilities are clipped to [epsilon, 1 - epsilon] before any logarithm, so a confident
wrong prediction costs a large finite loss instead of inf/NaN; with `from_logits=True` the
stable log-sigmoid / log-softmax forms are used instead.
"""

from __future__ import annotations

from nhanh import config, ops
from nhanh.losses.loss import LossFunctionWrapper
from nhanh.losses.shapes import format_shape, is_float, prepare

_SBS = "sum_over_batch_size"


def binary_crossentropy(y_true, y_pred, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1):
    """Mean over `axis` of -(t log p + (1 - t) log(1 - p)); labels smoothed toward 0.5.

    Args:
        y_true: 0/1 labels (soft labels in [0, 1] work too), of `y_pred`'s shape; a
            `(batch,)` target meets a `(batch, 1)` prediction.
        y_pred: Predicted probabilities, clipped to [epsilon, 1 - epsilon], or logits.
        from_logits: If True, `y_pred` holds logits (before the sigmoid) rather than
            probabilities.
        label_smoothing: Float in [0, 1]; labels are moved this far towards 0.5.
        axis: Int, the axis the per-label losses are averaged over.

    Returns:
        The loss with `axis` reduced: one value per sample for `(batch, labels)` inputs.
    """
    y_true, y_pred = prepare(y_true, y_pred, "binary_crossentropy", same_shape=True)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        # -log(sigmoid(x)) = softplus(-x), -log(1 - sigmoid(x)) = softplus(x)
        bce = y_true * ops.softplus(-y_pred) + (1.0 - y_true) * ops.softplus(y_pred)
    else:
        eps = config.epsilon()
        p = ops.clip(y_pred, eps, 1.0 - eps)
        bce = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    return ops.mean(bce, axis=axis)


def _log_probs(y_pred, from_logits: bool, axis: int):
    if from_logits:
        return ops.log_softmax(y_pred, axis=axis)
    eps = config.epsilon()
    p = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
    return ops.log(ops.clip(p, eps, 1.0 - eps))


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1):
    """-sum(y_true * log(p), axis) for one-hot (or soft) labels.

    Args:
        y_true: One-hot (or soft) labels, of `y_pred`'s shape. For integer class labels use
            `sparse_categorical_crossentropy`.
        y_pred: Predicted class probabilities, or logits.
        from_logits: If True, `y_pred` holds logits (before the softmax); if False,
            probabilities, rescaled to sum to 1 over `axis` and clipped to
            [epsilon, 1 - epsilon].
        label_smoothing: Float in [0, 1]; one-hot labels become
            `y * (1 - label_smoothing) + label_smoothing / num_classes`.
        axis: Int, the class axis.

    Returns:
        The loss with the class axis reduced: one value per sample.
    """
    y_true, y_pred = prepare(y_true, y_pred, "categorical_crossentropy", same_shape=True)
    if label_smoothing:
        n = ops.shape(y_pred)[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    return -ops.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


def _check_sparse_labels(given: tuple, labels: tuple, pred: tuple) -> None:
    """Integer labels need the predictions' shape without the class axis (Keras fails too)."""
    want = pred[:-1]
    if len(labels) == len(want) and all(a is None or b is None or a == b
                                        for a, b in zip(labels, want)):
        return
    head = ("sparse_categorical_crossentropy expects integer class labels of shape "
            f"{format_shape(want)} (the predictions {format_shape(pred)} without their class "
            f"axis), but got targets of shape {format_shape(given)}.")
    if given[-1:] == pred[-1:] and len(given) == len(pred):
        fix = (" These look like one-hot targets: use loss='categorical_crossentropy', or "
               "pass the class indices (y.argmax(axis=-1)).")
    else:
        fix = f" Pass one class index per sample, in [0, {pred[-1]})."
    raise ValueError(head + fix)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1):
    """-log(p[label]) for integer labels; labels equal to `ignore_class` give 0.

    Args:
        y_true: Integer class labels, of `y_pred`'s shape without the class axis (a trailing
            axis of size 1 is dropped); float labels are cast to int32.
        y_pred: Predicted class probabilities, or logits.
        from_logits: If True, `y_pred` holds logits (before the softmax); if False,
            probabilities, rescaled to sum to 1 over the class axis and clipped.
        ignore_class: Optional int label (e.g. a padding class) whose entries give a loss
            of 0, or `None`.
        axis: Int, the class axis of `y_pred`.

    Returns:
        One loss per label entry: `y_true`'s shape.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    if not is_float(ops.dtype(y_pred)):
        y_pred = ops.cast(y_pred, config.floatx())
    y_true = ops.convert_to_tensor(y_true)
    given = tuple(ops.shape(y_true))
    if ops.ndim(y_true) == ops.ndim(y_pred) and ops.shape(y_true)[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    y_true = ops.cast(y_true, "int32")
    if axis not in (-1, ops.ndim(y_pred) - 1):
        y_pred = ops.moveaxis(y_pred, axis, -1)
    _check_sparse_labels(given, tuple(ops.shape(y_true)), tuple(ops.shape(y_pred)))
    valid = None
    if ignore_class is not None:
        valid = ops.not_equal(y_true, ignore_class)
        y_true = ops.where(valid, y_true, 0)
    log_probs = _log_probs(y_pred, from_logits, -1)
    picked = ops.take_along_axis(log_probs, ops.expand_dims(y_true, -1), axis=-1)
    loss = -ops.squeeze(picked, -1)
    if valid is not None:
        loss = ops.where(valid, loss, 0.0)
    return loss


def kl_divergence(y_true, y_pred):
    """sum(t * log(t / p), axis=-1), both clipped to [epsilon, 1].

    Args:
        y_true: Target probability distributions over the last axis.
        y_pred: Predicted probability distributions, of `y_true`'s shape.

    Returns:
        One divergence per sample, with the last axis reduced.
    """
    y_true, y_pred = prepare(y_true, y_pred, "kl_divergence")
    eps = config.epsilon()
    y_true = ops.clip(y_true, eps, 1.0)
    y_pred = ops.clip(y_pred, eps, 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """mean(p - t * log(p + epsilon), axis=-1): the Poisson negative log-likelihood.

    The log(t!) term is left out (it depends on the targets only), so the minimum is not 0.

    Args:
        y_true: Observed counts.
        y_pred: Predicted rates (non-negative, e.g. from an exponential or softplus output),
            of `y_true`'s shape or broadcastable to it.

    Returns:
        One loss per sample: the mean over the last axis.
    """
    y_true, y_pred = prepare(y_true, y_pred, "poisson")
    return ops.mean(y_pred - y_true * ops.log(y_pred + config.epsilon()), axis=-1)


bce = BCE = binary_crossentropy
kld = KLD = kullback_leibler_divergence = kl_divergence


class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy for 0/1 labels (one sigmoid output per label).

    Args:
        from_logits: If True, `y_pred` holds logits (before the sigmoid) rather than
            probabilities.
        label_smoothing: Float in [0, 1]; labels are moved this far towards 0.5.
        axis: Int, the axis the per-label losses are averaged over.
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_SBS,
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for one-hot labels over a softmax output.

    Args:
        from_logits: If True, `y_pred` holds logits (before the softmax); if False,
            probabilities, rescaled to sum to 1 over `axis` and clipped to
            [epsilon, 1 - epsilon].
        label_smoothing: Float in [0, 1]; one-hot labels become
            `y * (1 - label_smoothing) + label_smoothing / num_classes`.
        axis: Int, the class axis.
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_SBS,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for integer labels; entries labelled `ignore_class` leave the average.

    Args:
        from_logits: If True, `y_pred` holds logits (before the softmax); if False,
            probabilities, rescaled to sum to 1 over the class axis and clipped.
        ignore_class: Optional int label (e.g. a padding class) whose entries give a loss
            of 0 and, under 'sum_over_batch_size' or 'mean', leave the count the sum is
            divided by; `None` counts every entry.
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
        axis: Int, the class axis of `y_pred`.
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction=_SBS,
                 name="sparse_categorical_crossentropy", dtype=None, axis=-1):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def mask(self, y_true, y_pred):
        if self.ignore_class is None:
            return None
        if ops.ndim(y_true) == ops.ndim(y_pred) and ops.shape(y_true)[-1] == 1:
            y_true = ops.squeeze(y_true, -1)
        return ops.not_equal(ops.cast(y_true, "int32"), self.ignore_class)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence of y_pred from y_true.

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """Poisson loss, for count targets.

    Args:
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, reduction=_SBS, name="poisson", dtype=None):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)
