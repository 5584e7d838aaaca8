"""Reductions and statistics on PyTorch with numpy's meaning: quantiles and medians, the
NaN-ignoring family, weighted averages, cumulative products, counts, bins and searches.

Dtypes follow Keras on JAX: sums and products of small integers or bools are int32 (PyTorch
would give int64), quantiles of integers are float32, indices are int32.
"""

from __future__ import annotations

import numpy as np
import torch

from nhanh.backend.torch.core import to_torch_dtype
from nhanh.backend.torch.numpy import _reduce, _t, max as _max, min as _min, prod as _prod, sum as _sum

__all__ = [
    "amax", "amin", "ptp", "median", "quantile", "percentile", "nanmedian", "nanquantile",
    "nanpercentile", "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin",
    "nanargmax", "nanargmin", "nancumsum", "nancumprod", "cumprod", "average", "trace",
    "corrcoef", "histogram", "bincount", "digitize", "searchsorted", "argpartition",
]

amax = _max
amin = _min


def ptp(x, axis=None, keepdims=False):
    return _max(x, axis, keepdims) - _min(x, axis, keepdims)


def _float(x):
    x = _t(x)
    return x if x.is_floating_point() else x.to(torch.float32)


def _accumulate(fn, x, dtype, *args, **kwargs):
    """fn (a sum or product) of `x` with Keras's result dtype: float inputs keep theirs; bools
    and small ints give int32 (small unsigned, uint32), computed in int64, which PyTorch's CPU
    kernels support where they lack uint32."""
    if dtype is None:
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.int64:
            dtype = x.dtype
        else:
            dtype = torch.uint32 if x.dtype == torch.uint8 else torch.int32
    work = torch.int64 if dtype in (torch.uint32, torch.int32) else dtype
    return fn(x.to(work), *args, **kwargs).to(dtype)


def _to_last(x, axis):
    """x with the reduced axes flattened into one last axis, and the shape keepdims restores."""
    if axis is None:
        return x.reshape(-1), (1,) * x.ndim
    axes = sorted({int(a) % x.ndim for a in np.atleast_1d(axis)})
    kept = [a for a in range(x.ndim) if a not in axes]
    flat = x.permute(*kept, *axes).reshape(*[x.shape[a] for a in kept], -1)
    return flat, tuple(1 if a in axes else x.shape[a] for a in range(x.ndim))


def _quantile(fn, x, q, axis, method, keepdims):
    x = _float(x)
    work = x if x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)
    flat, kept_shape = _to_last(work, axis)
    q = q if isinstance(q, float) else _t(q).to(work.dtype)
    out = fn(flat, q, dim=-1, interpolation=method)
    if keepdims:
        out = out.reshape(tuple(out.shape[:out.ndim - flat.ndim + 1]) + kept_shape)
    return out.to(x.dtype)


def quantile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(torch.quantile, x, q, axis, method, keepdims)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    return _quantile(torch.nanquantile, x, q, axis, method, keepdims)


def _scale_q(q):
    return q / 100.0 if isinstance(q, (int, float)) else _t(q) / 100.0


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return quantile(x, _scale_q(q), axis, method, keepdims)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return nanquantile(x, _scale_q(q), axis, method, keepdims)


def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis, "linear", keepdims)


def nanmedian(x, axis=None, keepdims=False):
    return nanquantile(x, 0.5, axis, "linear", keepdims)


def _filled(x, value):
    """x with its NaNs replaced by `value` (integers have none)."""
    x = _t(x)
    if not x.is_floating_point():
        return x
    return torch.where(torch.isnan(x), torch.full_like(x, value), x)


def nansum(x, axis=None, keepdims=False):
    return _accumulate(_sum, _filled(x, 0.0), None, axis, keepdims)


def nanprod(x, axis=None, keepdims=False):
    return _accumulate(_prod, _filled(x, 1.0), None, axis, keepdims)


def nanmean(x, axis=None, keepdims=False):
    x = _float(x)
    return _reduce(torch.nanmean, x, axis, keepdims)


def nanvar(x, axis=None, keepdims=False):
    x = _float(x)
    missing = torch.isnan(x)
    centered = torch.where(missing, torch.zeros_like(x), x - nanmean(x, axis, keepdims=True))
    count = _sum(~missing, axis, keepdims).to(x.dtype)
    return _sum(centered * centered, axis, keepdims) / count


def nanstd(x, axis=None, keepdims=False):
    return torch.sqrt(nanvar(x, axis, keepdims))


def _nan_extreme(reduce, fill):
    def op(x, axis=None, keepdims=False):
        x = _t(x)
        if not x.is_floating_point():
            return reduce(x, axis, keepdims)
        out = reduce(_filled(x, fill), axis, keepdims)
        all_nan = _reduce(torch.all, torch.isnan(x), axis, keepdims)
        return torch.where(all_nan, torch.full_like(out, float("nan")), out)
    return op


nanmax = _nan_extreme(_max, float("-inf"))
nanmin = _nan_extreme(_min, float("inf"))


def _nan_arg(fn, fill):
    def op(x, axis=None, keepdims=False):
        x = _filled(x, fill)
        x = x.to(torch.int32) if x.dtype == torch.bool else x
        if axis is None:
            out = fn(x.reshape(-1))
            return (out.reshape((1,) * x.ndim) if keepdims else out).to(torch.int32)
        return fn(x, dim=axis, keepdim=keepdims).to(torch.int32)
    return op


nanargmax = _nan_arg(torch.argmax, float("-inf"))
nanargmin = _nan_arg(torch.argmin, float("inf"))


def _cumulative(fn, fill):
    """Running sums or products keep x's dtype (bools count as int32), as Keras's do."""
    def op(x, axis=None, dtype=None):
        x = _filled(x, fill) if fill is not None else _t(x)
        if axis is None:
            x, axis = x.reshape(-1), 0
        dtype = to_torch_dtype(dtype) or (torch.int32 if x.dtype == torch.bool else x.dtype)
        return fn(x.to(torch.int64) if dtype == torch.int32 else x, dim=axis).to(dtype)
    return op


cumprod = _cumulative(torch.cumprod, None)
nancumsum = _cumulative(torch.cumsum, 0.0)
nancumprod = _cumulative(torch.cumprod, 1.0)


def average(x, axis=None, weights=None):
    """numpy's weighted mean: `weights` has x's shape, or is 1-D along `axis`."""
    x = _float(x)
    if weights is None:
        return _reduce(torch.mean, x, axis, False)
    weights = _t(weights).to(x.dtype)
    if weights.shape != x.shape:
        if axis is None or weights.ndim != 1:
            raise ValueError(f"average: `weights` of shape {tuple(weights.shape)} must have "
                             f"x's shape {tuple(x.shape)}, or be 1-D along an `axis` given as "
                             "an int; pass axis= or weights of x's shape.")
        shape = [1] * x.ndim
        shape[axis] = -1
        weights = weights.reshape(shape)
    return _sum(x * weights, axis) / _sum(weights.expand_as(x), axis)


def trace(x, offset=0, axis1=0, axis2=1):
    x = _t(x)
    return _accumulate(torch.sum, torch.diagonal(x, offset, axis1, axis2), None, -1)


def corrcoef(x):
    return torch.corrcoef(_float(x))


def histogram(x, bins=10, range=None):
    """(counts, bin edges); the last bin includes its right edge, as in numpy."""
    x = _float(x).reshape(-1)
    lo, hi = (torch.min(x), torch.max(x)) if range is None else (
        torch.as_tensor(range[0], dtype=x.dtype), torch.as_tensor(range[1], dtype=x.dtype))
    edges = torch.linspace(0, 1, bins + 1, dtype=x.dtype, device=x.device) * (hi - lo) + lo
    index = torch.clamp(torch.searchsorted(edges, x, right=True) - 1, max=bins - 1)
    inside = (x >= lo) & (x <= hi)
    counts = torch.zeros(bins, dtype=torch.int32, device=x.device)
    counts.index_add_(0, index[inside], torch.ones_like(index[inside], dtype=torch.int32))
    return counts, edges


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each non-negative int in 1-D `x`, or in each row of 2-D `x`."""
    x = _t(x).long()
    length = max(int(x.max()) + 1 if x.numel() else 0, minlength)
    dtype = torch.int32 if weights is None else _t(weights).dtype
    values = (torch.ones_like(x, dtype=dtype) if weights is None else _t(weights))
    if x.ndim == 1:
        return torch.zeros(length, dtype=dtype, device=x.device).index_add_(0, x, values)
    out = torch.zeros((x.shape[0], length), dtype=dtype, device=x.device)
    return out.scatter_add_(1, x, values)


def digitize(x, bins):
    """The index i with bins[i-1] <= x < bins[i] (increasing bins), as numpy's digitize."""
    x, bins = _t(x), _t(bins)
    return torch.bucketize(x, bins.to(x.dtype), right=True, out_int32=True)


def searchsorted(sorted_sequence, values, side="left"):
    sorted_sequence, values = _t(sorted_sequence), _t(values)
    dtype = torch.promote_types(sorted_sequence.dtype, values.dtype)
    return torch.searchsorted(sorted_sequence.to(dtype), values.to(dtype), side=side,
                              out_int32=True)


def argpartition(x, kth, axis=-1):
    """A full (stable) sort is one valid partition: kth in place, smaller before, larger
    after."""
    return torch.argsort(_t(x), dim=axis, stable=True).to(torch.int32)
