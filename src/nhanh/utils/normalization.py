"""normalize: vectors scaled to unit Lp norm, on the host or on the device."""

from __future__ import annotations

import numpy as np

from nhanh import config, ops


def normalize(x, axis: int = -1, order: int = 2):
    """`x` divided by its Lp norm along `axis`.

    A NumPy array is normalised in NumPy (all-zero vectors stay zero) and stays a NumPy
    array; anything else becomes a tensor of the current backend, divided by
    `max(norm, epsilon)`. Keras 3's NumPy path re-inserts the reduced axis at -1 whatever
    `axis` was, so `axis=0` fails or misaligns there; here the axis is kept in place.

    Args:
        x: Array or tensor to normalise.
        axis: Int, the axis along which the norm is taken.
        order: The norm's order, an int >= 1 (2 for the Euclidean norm).

    Returns:
        A NumPy array for NumPy input, else a tensor; of `x`'s shape.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"`order` must be an int >= 1 (2 for the L2 norm), got {order!r}.")
    if isinstance(x, np.ndarray):
        norm = np.linalg.norm(x, order, axis, keepdims=True)
        norm[norm == 0] = 1
        return x / norm
    x = ops.convert_to_tensor(x)
    if ops.ndim(x) == 0:
        x = ops.expand_dims(x, 0)
    eps = config.epsilon()
    if order == 2:
        inv_norm = ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
        return x * ops.minimum(inv_norm, 1.0 / eps)
    norm = ops.sum(ops.abs(x) ** order, axis=axis, keepdims=True) ** (1.0 / order)
    return x / ops.maximum(norm, eps)
