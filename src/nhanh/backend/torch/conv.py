"""Convolution and pooling on PyTorch: this backend's CONV_OPS.

Keras semantics on top of torch.nn.functional: inputs arrive channels_last by default and
are moved to torch's channels_first inside; kernels arrive in Keras layout
((*spatial, in / groups, out); conv_transpose: (*spatial, out, in)) and are permuted here.
Torch pads symmetrically only, so TensorFlow's asymmetric 'same' padding is applied with
F.pad before the op (with -inf for max pooling).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nhanh.backend.conv_shapes import (
    as_tuple, check_rank, data_format_of, padding_mode, pool_args, same_pads, transpose_pads,
    window_counts,
)

from nhanh.backend.torch.numpy import _t

# --- layout helpers ------------------------------------------------------------------------


def _to_channels_first(x: torch.Tensor, data_format: str) -> torch.Tensor:
    return x.movedim(-1, 1) if data_format == "channels_last" else x


def _from_channels_first(x: torch.Tensor, data_format: str) -> torch.Tensor:
    return x.movedim(1, -1) if data_format == "channels_last" else x


def _torch_pad(pads: list[tuple[int, int]]) -> list[int]:
    """F.pad's order: last axis first, (before, after) each."""
    return [p for pair in reversed(pads) for p in pair]


def _pad_symmetric_part(x, pads, value=0.0):
    """Pads the asymmetric remainder with F.pad; returns x and the symmetric part for the op."""
    sym = [min(lo, hi) for lo, hi in pads]
    rest = [(lo - m, hi - m) for (lo, hi), m in zip(pads, sym)]
    if any(lo or hi for lo, hi in rest):
        x = F.pad(x, _torch_pad(rest), value=value)
    return x, tuple(sym)


def _common_dtype(inputs: torch.Tensor, kernel: torch.Tensor):
    dtype = torch.promote_types(inputs.dtype, kernel.dtype)
    if not dtype.is_floating_point:
        dtype = torch.float32
    return inputs.to(dtype), kernel.to(dtype)


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


# --- ops ----------------------------------------------------------------------------------


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    inputs, kernel = _t(inputs), _t(kernel)
    rank = check_rank(inputs, kernel, "conv")
    data_format, padding = data_format_of(data_format), padding_mode(padding)
    strides = as_tuple(strides, rank, "strides")
    dilation = as_tuple(dilation_rate, rank, "dilation_rate")
    x = _to_channels_first(inputs, data_format)
    if x.shape[1] % kernel.shape[-2]:
        raise ValueError(f"conv: the inputs' {x.shape[1]} channels are not a multiple of the "
                         f"kernel's {kernel.shape[-2]} input channels (kernel shape "
                         f"{tuple(kernel.shape)}).")
    groups = x.shape[1] // kernel.shape[-2]
    x, kernel = _common_dtype(x, kernel)
    pads = same_pads(x.shape[2:], kernel.shape[:-2], strides, dilation, padding)
    x, sym = _pad_symmetric_part(x, pads)
    # (*k, in / groups, out) -> torch's (out, in / groups, *k)
    weight = kernel.permute(rank + 1, rank, *range(rank))
    y = _CONV[rank](x, weight, None, strides, sym, dilation, groups)
    return _from_channels_first(y, data_format)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    inputs, kernel = _t(inputs), _t(kernel)
    rank = check_rank(inputs, kernel, "conv_transpose")
    data_format, padding = data_format_of(data_format), padding_mode(padding)
    strides = as_tuple(strides, rank, "strides")
    dilation = as_tuple(dilation_rate, rank, "dilation_rate")
    out_pad = (None,) * rank if output_padding is None else as_tuple(output_padding, rank,
                                                                   "output_padding")
    x = _to_channels_first(inputs, data_format)
    x, kernel = _common_dtype(x, kernel)
    # Torch's transposed conv yields the full result, of length (n-1)*s + K (K the dilated
    # kernel), cropped by `padding` on both sides. Keras's result starts K-1-left into the
    # full one and may run past its end (zeros there): crop what torch can crop
    # symmetrically, then trim or zero-extend the rest with F.pad (negative pads crop).
    crops, tails = [], []
    for n, k, s, d, p in zip(x.shape[2:], kernel.shape[:-2], strides, dilation, out_pad):
        left, right = transpose_pads(k, s, d, padding, p)
        big_k = (k - 1) * d + 1
        full = (n - 1) * s + big_k
        out = (n - 1) * s + 1 + left + right - big_k + 1
        start = big_k - 1 - left
        crops.append((start, full - start - out))  # may be negative at the end: zeros
    sym = tuple(max(0, min(a, b)) for a, b in crops)
    tails = [(a - m, b - m) for (a, b), m in zip(crops, sym)]
    # Keras (*k, out, in) -> torch's (in, out, *k)
    weight = kernel.permute(rank + 1, rank, *range(rank))
    y = _CONV_T[rank](x, weight, None, strides, sym, 0, 1, dilation)
    if any(a or b for a, b in tails):
        y = F.pad(y, _torch_pad([(-a, -b) for a, b in tails]))
    return _from_channels_first(y, data_format)


def _pool_setup(inputs, pool_size, strides, padding, data_format):
    inputs = _t(inputs)
    rank, data_format, padding, pool, strides = pool_args(inputs.shape, pool_size, strides,
                                                          padding, data_format)
    x = _to_channels_first(inputs, data_format)
    pads = same_pads(x.shape[2:], pool, strides, (1,) * rank, padding)
    return x, rank, data_format, pool, strides, pads


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    x, rank, data_format, pool, strides, pads = _pool_setup(inputs, pool_size, strides,
                                                            padding, data_format)
    if any(lo or hi for lo, hi in pads):
        fill = -math.inf if x.dtype.is_floating_point else torch.iinfo(x.dtype).min
        x = F.pad(x, _torch_pad(pads), value=fill)
    return _from_channels_first(_MAX[rank](x, pool, strides), data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    x, rank, data_format, pool, strides, pads = _pool_setup(inputs, pool_size, strides,
                                                            padding, data_format)
    if not any(lo or hi for lo, hi in pads):
        return _from_channels_first(_AVG[rank](x, pool, strides), data_format)
    # Keras/TensorFlow 'same' average pooling divides by the number of real elements only.
    counts = window_counts(x.shape[2:], pool, strides, pads)
    sums = _AVG[rank](F.pad(x, _torch_pad(pads)), pool, strides) * math.prod(pool)
    y = sums / torch.as_tensor(counts, dtype=x.dtype, device=x.device)
    return _from_channels_first(y, data_format)
