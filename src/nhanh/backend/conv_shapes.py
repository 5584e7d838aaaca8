"""Argument checks and padding arithmetic for convolution and pooling, shared by the engines.

Pure Python on ints: 'same' padding is TensorFlow's (the odd pixel goes after), so both
engines pad identically.
"""

from __future__ import annotations

import math

import numpy as np

from nhanh import config


def as_tuple(value, n: int, name: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise ValueError(f"`{name}` must be an int or a tuple of {n} ints for {n}-D inputs, "
                         f"got {value}.")
    return value


def data_format_of(data_format: str | None) -> str:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("`data_format` must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    return data_format


def padding_mode(padding: str) -> str:
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise ValueError(f"`padding` must be 'valid' or 'same', got {padding!r}.")
    return p


def pool_args(shape, pool_size, strides, padding: str, data_format: str | None):
    """(rank, data_format, padding, pool, strides) of a pooling call on inputs of `shape`,
    checked; strides default to the pool size, as in Keras."""
    rank = len(shape) - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"pooling needs inputs of rank 3, 4 or 5, got shape {tuple(shape)}.")
    pool = as_tuple(pool_size, rank, "pool_size")
    strides = pool if strides is None else as_tuple(strides, rank, "strides")
    return rank, data_format_of(data_format), padding_mode(padding), pool, strides


def same_pads(sizes, window, strides, dilation, padding: str) -> list[tuple[int, int]]:
    """(before, after) per spatial axis; 'same' puts the odd pixel after, as TensorFlow."""
    if padding == "valid":
        return [(0, 0)] * len(sizes)
    pads = []
    for n, k, s, d in zip(sizes, window, strides, dilation):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def transpose_pads(k: int, s: int, d: int, padding: str, output_padding) -> tuple[int, int]:
    """Pads of the stride-dilated input that give Keras's conv_transpose output length.

    The result is the adjoint of a 'same'/'valid' convolution: 'valid' -> (n-1)*s + max(k, s),
    'same' -> n*s, and with output_padding p: (n-1)*s + k + p ('valid') or
    (n-1)*s + k % 2 + p ('same'), k the dilated kernel size.
    """
    k = (k - 1) * d + 1
    if padding == "valid":
        extra = max(k, s) - k if output_padding is None else output_padding
        return k - 1, k - 1 + extra
    total = s + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, k - 1)
    return left, total - left


def window_counts(sizes, window, steps, spatial_pads) -> np.ndarray:
    """How many real (unpadded) elements each output window covers, per output position."""
    counts = np.ones((), np.float64)
    for n, k, s, (lo, hi) in zip(sizes, window, steps, spatial_pads):
        valid = np.concatenate([np.zeros(lo), np.ones(n), np.zeros(hi)])
        per_axis = np.array([valid[i:i + k].sum() for i in range(0, n + lo + hi - k + 1, s)])
        counts = np.multiply.outer(counts, per_axis)
    return counts


def check_rank(inputs, kernel, name: str) -> int:
    """The spatial rank (1, 2 or 3) of a convolution's inputs, checked against the kernel."""
    rank = inputs.ndim - 2
    if rank not in (1, 2, 3) or kernel.ndim != inputs.ndim:
        raise ValueError(f"{name} needs inputs of rank 3, 4 or 5 and a kernel of the same rank; "
                         f"got inputs of shape {tuple(inputs.shape)} and kernel of shape "
                         f"{tuple(kernel.shape)}.")
    return rank
