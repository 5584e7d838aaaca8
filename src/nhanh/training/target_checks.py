"""Checks of in-memory targets against the compiled losses, once, before any step runs.

A sparse label outside the output's classes does not fail inside a step the same way on
every engine (JAX gathers a clamped or NaN value, PyTorch's kernels may read any row), and a
check inside the step would cost a host sync per step. Host arrays are checked here instead,
in NumPy, so bad labels raise at once with the fix and change nothing.
"""

from __future__ import annotations

import numpy as np

from nhanh.losses import LossFunctionWrapper
from nhanh.losses.probabilistic import sparse_categorical_crossentropy


def check_sparse_labels(losses: list, targets: list, out_shapes: list, output_names: list,
                        what: str = "y") -> None:
    """Integer labels in [0, classes) for every output trained with sparse crossentropy."""
    for loss, y, shape, name in zip(losses, targets, out_shapes, output_names):
        if not (isinstance(loss, LossFunctionWrapper)
                and loss.fn is sparse_categorical_crossentropy) or not isinstance(y, np.ndarray):
            continue
        classes = shape[loss._fn_kwargs.get("axis", -1)] if shape else None
        labels = y.reshape(-1)
        ignore = loss._fn_kwargs.get("ignore_class")
        if ignore is not None:
            labels = labels[labels != ignore]
        if labels.size == 0:
            continue
        where = f"{what}" if len(output_names) == 1 else f"{what} for output {name!r}"
        if labels.dtype.kind == "f" and not np.all(labels == np.rint(labels)):
            bad = labels[labels != np.rint(labels)][:3].tolist()
            raise ValueError(
                f"{where} must hold integer class labels for sparse_categorical_crossentropy, "
                f"but it has values such as {bad}. Give class indices 0 .. classes-1 (for "
                "one-hot rows use categorical_crossentropy).")
        low, high = labels.min(), labels.max()
        if low < 0 or (classes is not None and high >= classes):
            bad = low if low < 0 else high
            fix = "labels start at 0" if low < 0 else \
                f"the last layer has {int(high) + 1} units, or the labels are re-numbered"
            raise ValueError(
                f"{where} has the class label {int(bad)}, but the model's output has "
                f"{classes} classes (shape {tuple(shape)}), so labels must lie in "
                f"[0, {classes}). Check that {fix}.")
