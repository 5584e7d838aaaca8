"""Array helpers on the host."""

from __future__ import annotations

import numpy as np


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer class labels (float32, classes on the last axis).

    Args:
        x: Array-like of class indices, any shape; a trailing axis of size 1 is dropped.
            Floats that hold whole numbers are accepted; other floats raise a ValueError.
        num_classes: Number of classes; `None` uses the largest label + 1. A label outside
            [0, num_classes) raises a ValueError.

    Returns:
        A NumPy float32 array: `x`'s shape (less a trailing size-1 axis) + `(num_classes,)`.
    """
    x = np.asarray(x)
    if x.size and not np.issubdtype(x.dtype, np.integer):
        if not np.all(np.equal(np.mod(x, 1), 0)):
            raise ValueError("to_categorical expects integer class labels.")
        x = x.astype("int64")
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x[..., 0]
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"Class labels must lie in [0, {num_classes}), got {x.min()}..{x.max()}.")
    return np.eye(num_classes, dtype="float32")[x]
