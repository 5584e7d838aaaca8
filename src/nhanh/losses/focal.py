"""Focal crossentropies (Lin et al., 2018): crossentropy scaled down on easy examples.

Each entry's crossentropy is multiplied by `(1 - p_t) ** gamma`, p_t the probability given to
the true label, so well-classified entries add little and training dwells on the hard ones.
With `gamma=0` (and no class balancing) the binary form is plain binary crossentropy.

Binary logits go through the stable log-sigmoid form (as `binary_crossentropy` does), where
Keras squashes and clips first; the two agree except beyond |logit| ~ 16, where Keras's loss
saturates at -log(epsilon) and nhanh's keeps growing (and keeps a gradient).
"""

from __future__ import annotations

import warnings

from nhanh import config, ops
from nhanh.losses.loss import LossFunctionWrapper
from nhanh.losses.shapes import prepare

_SBS = "sum_over_batch_size"


def _check_axis(axis, loss: str) -> None:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"{loss}: `axis` must be an int (the class axis), got {axis!r}.")


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0,
                              from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1):
    """Mean over `axis` of `(1 - p_t) ** gamma * bce`, optionally weighted by alpha.

    Args:
        y_true: 0/1 labels (soft labels in [0, 1] work too), of `y_pred`'s shape.
        y_pred: Predicted probabilities, or logits with `from_logits=True`.
        apply_class_balancing: If True, entries of class 1 are weighted by `alpha` and those
            of class 0 by `1 - alpha`.
        alpha: Weight of class 1 when `apply_class_balancing` is True.
        gamma: Focusing parameter; 0 gives binary crossentropy.
        from_logits: If True, `y_pred` holds logits (before the sigmoid).
        label_smoothing: Float in [0, 1]; labels are moved this far towards 0.5.
        axis: Int, the axis the per-label losses are averaged over.

    Returns:
        The loss with `axis` reduced: one value per sample for `(batch, labels)` inputs.
    """
    _check_axis(axis, "binary_focal_crossentropy")
    y_true, y_pred = prepare(y_true, y_pred, "binary_focal_crossentropy", same_shape=True)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = y_true * ops.softplus(-y_pred) + (1.0 - y_true) * ops.softplus(y_pred)
        prob = ops.sigmoid(y_pred)
    else:
        eps = config.epsilon()
        clipped = ops.clip(y_pred, eps, 1.0 - eps)
        bce = -(y_true * ops.log(clipped) + (1.0 - y_true) * ops.log(1.0 - clipped))
        prob = y_pred
    p_t = y_true * prob + (1.0 - y_true) * (1.0 - prob)
    focal = ops.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1):
    """Sum over the class axis of `-alpha * (1 - p) ** gamma * y_true * log(p)`.

    Args:
        y_true: One-hot (or soft) labels, of `y_pred`'s shape.
        y_pred: Predicted class probabilities (rescaled to sum to 1 and clipped to
            [epsilon, 1 - epsilon]), or logits with `from_logits=True`.
        alpha: Weight of every class's term (a balancing factor).
        gamma: Focusing parameter; 0 gives `alpha` times categorical crossentropy.
        from_logits: If True, `y_pred` holds logits (a softmax is applied first).
        label_smoothing: Float in [0, 1]; one-hot labels become
            `y * (1 - label_smoothing) + label_smoothing / num_classes`.
        axis: Int, the class axis.

    Returns:
        The loss with the class axis reduced: one value per sample.
    """
    _check_axis(axis, "categorical_focal_crossentropy")
    y_true, y_pred = prepare(y_true, y_pred, "categorical_focal_crossentropy", same_shape=True)
    if ops.shape(y_pred)[-1] == 1:
        warnings.warn("categorical_focal_crossentropy expects y_pred of shape (batch, "
                      f"num_classes) with num_classes > 1, got {ops.shape(y_pred)}; with two "
                      "classes, binary_focal_crossentropy fits.", SyntaxWarning, stacklevel=2)
    if label_smoothing:
        classes = ops.shape(y_true)[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    eps = config.epsilon()
    prob = ops.clip(y_pred / ops.sum(y_pred, axis=axis, keepdims=True), eps, 1.0 - eps)
    focal = alpha * ops.power(1.0 - prob, gamma) * (-y_true * ops.log(prob))
    return ops.sum(focal, axis=axis)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary crossentropy that down-weights easy examples (see `binary_focal_crossentropy`).

    Args:
        apply_class_balancing: If True, class 1 is weighted by `alpha`, class 0 by
            `1 - alpha`.
        alpha: Weight of class 1 under class balancing.
        gamma: Focusing parameter; 0 gives binary crossentropy.
        from_logits: If True, `y_pred` holds logits rather than probabilities.
        label_smoothing: Float in [0, 1]; labels are moved this far towards 0.5.
        axis: Int, the axis the per-label losses are averaged over.
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction=_SBS, name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical crossentropy that down-weights easy examples, for imbalanced classes
    (see `categorical_focal_crossentropy`).

    Args:
        alpha: Weight of every class's term.
        gamma: Focusing parameter; 0 gives `alpha` times categorical crossentropy.
        from_logits: If True, `y_pred` holds logits rather than probabilities.
        label_smoothing: Float in [0, 1], as in `CategoricalCrossentropy`.
        axis: Int, the class axis.
        reduction: How per-sample losses are combined ('sum_over_batch_size', 'sum',
            'mean', 'mean_with_sample_weight' or 'none'; see `Loss`).
        name: Name of the loss.
        dtype: Dtype of the computation; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction=_SBS,
                 name="categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
