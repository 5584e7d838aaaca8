"""numpy-style ops on PyTorch: numpy's names, arguments (axis, keepdims) and semantics."""

from __future__ import annotations

import builtins

import numpy as np
import torch

from nhanh.backend.torch.core import DEVICE, convert_to_tensor, to_torch_dtype


def _t(x):
    return x if isinstance(x, torch.Tensor) else convert_to_tensor(x)


def _pair(a, b):
    """Two operands as tensors; a Python scalar takes the tensor operand's dtype, as in numpy."""
    if isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
        return a, (torch.as_tensor(b, dtype=a.dtype, device=a.device)
                   if isinstance(b, (int, float, bool)) else _t(b))
    if isinstance(b, torch.Tensor) and not isinstance(a, torch.Tensor):
        return (torch.as_tensor(a, dtype=b.dtype, device=b.device)
                if isinstance(a, (int, float, bool)) else _t(a)), b
    return _t(a), _t(b)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _reduce(fn, x, axis, keepdims, **kw):
    x = _t(x)
    if axis is None:
        out = fn(x, **kw)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return fn(x, dim=_axis(axis), keepdim=keepdims, **kw)


def _binary(fn):
    def op(x1, x2):
        return fn(*_pair(x1, x2))
    op.__name__ = fn.__name__
    return op


_SCALARS = (int, float, bool)


def _arithmetic(fn):
    """A binary op that takes Python scalars as they are: torch keeps the tensor's dtype, as
    numpy does, and no scalar tensor is made."""
    def op(x1, x2):
        if isinstance(x1, torch.Tensor) and (isinstance(x2, torch.Tensor) or
                                             type(x2) in _SCALARS):
            return fn(x1, x2)
        return fn(*_pair(x1, x2))
    op.__name__ = fn.__name__
    return op


add = _arithmetic(torch.add)
subtract = _arithmetic(torch.subtract)
multiply = _arithmetic(torch.multiply)
maximum = _binary(torch.maximum)
minimum = _binary(torch.minimum)
mod = _binary(torch.remainder)
floor_divide = _binary(torch.floor_divide)
equal = _arithmetic(torch.eq)
not_equal = _arithmetic(torch.ne)
greater = _arithmetic(torch.gt)
greater_equal = _arithmetic(torch.ge)
less = _arithmetic(torch.lt)
less_equal = _arithmetic(torch.le)
logical_and = _binary(torch.logical_and)
logical_or = _binary(torch.logical_or)


def matmul(x1, x2):
    """torch.matmul after numpy's promotion (int32 @ float32 is float32, as on JAX)."""
    x1, x2 = _pair(x1, x2)
    if x1.dtype != x2.dtype:
        common = torch.promote_types(x1.dtype, x2.dtype)
        x1, x2 = x1.to(common), x2.to(common)
    return torch.matmul(x1, x2)


outer = _binary(torch.outer)


def divide(x1, x2):
    if isinstance(x1, torch.Tensor) and (isinstance(x2, torch.Tensor) or type(x2) in _SCALARS):
        if type(x2) is int and not x1.is_floating_point():
            x2 = float(x2)
        return torch.true_divide(x1, x2)
    x1, x2 = _pair(x1, x2)
    return torch.true_divide(x1, x2)


true_divide = divide


def power(x1, x2):
    if isinstance(x1, torch.Tensor) and isinstance(x2, (int, float)):
        return torch.pow(x1, x2)
    return torch.pow(*_pair(x1, x2))


def _unary(fn):
    def op(x):
        return fn(_t(x))
    op.__name__ = fn.__name__
    return op


negative = _unary(torch.negative)
abs = absolute = _unary(torch.abs)
sign = _unary(torch.sign)
square = _unary(torch.square)
sqrt = _unary(torch.sqrt)
rsqrt = _unary(torch.rsqrt)
exp = _unary(torch.exp)
expm1 = _unary(torch.expm1)
log = _unary(torch.log)
log1p = _unary(torch.log1p)
log2 = _unary(torch.log2)
log10 = _unary(torch.log10)
sin = _unary(torch.sin)
cos = _unary(torch.cos)
tan = _unary(torch.tan)
tanh = _unary(torch.tanh)
arctan = _unary(torch.arctan)
erf = _unary(torch.erf)
floor = _unary(torch.floor)
ceil = _unary(torch.ceil)
isnan = _unary(torch.isnan)
isinf = _unary(torch.isinf)
isfinite = _unary(torch.isfinite)
logical_not = _unary(torch.logical_not)


def round(x, decimals=0):
    return torch.round(_t(x), decimals=decimals)


def clip(x, x_min=None, x_max=None):
    return torch.clamp(_t(x), x_min, x_max)


def where(condition, x1=None, x2=None):
    condition = _t(condition)
    if condition.dtype != torch.bool:
        condition = condition.bool()
    if x1 is None and x2 is None:
        return torch.where(condition)
    if not (isinstance(x1, torch.Tensor) and (isinstance(x2, torch.Tensor) or
                                              type(x2) in _SCALARS)):
        x1, x2 = _pair(x1, x2)
    return torch.where(condition, x1, x2)


def dot(x1, x2):
    x1, x2 = _pair(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return x1 * x2
    if x2.ndim == 1:
        return torch.matmul(x1, x2)
    return torch.tensordot(x1, x2, dims=([-1], [-2]))


def tensordot(x1, x2, axes=2):
    x1, x2 = _pair(x1, x2)
    return torch.tensordot(x1, x2, dims=axes)


def einsum(subscripts, *operands):
    return torch.einsum(subscripts, *[_t(o) for o in operands])


def sum(x, axis=None, keepdims=False, dtype=None):
    return _reduce(torch.sum, x, axis, keepdims, dtype=to_torch_dtype(dtype))


def mean(x, axis=None, keepdims=False):
    x = _t(x)
    if not x.is_floating_point():
        x = x.to(torch.float32)
    return _reduce(torch.mean, x, axis, keepdims)


def prod(x, axis=None, keepdims=False):
    x = _t(x)
    if axis is None:
        out = torch.prod(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    for a in sorted(np.atleast_1d(axis), reverse=True):
        x = torch.prod(x, dim=int(a), keepdim=keepdims)
    return x


def _minmax(fn):
    def op(x, axis=None, keepdims=False):
        x = _t(x)
        if axis is None:
            out = fn(x)
            return out.reshape((1,) * x.ndim) if keepdims else out
        return fn(x, dim=_axis(axis), keepdim=keepdims)
    return op


max = _minmax(torch.amax)
min = _minmax(torch.amin)


def std(x, axis=None, keepdims=False):
    return _reduce(torch.std, x, axis, keepdims, correction=0)


def var(x, axis=None, keepdims=False):
    return _reduce(torch.var, x, axis, keepdims, correction=0)


def argmax(x, axis=None, keepdims=False):
    x = _t(x)
    if axis is None:
        return torch.argmax(x.reshape(-1))
    return torch.argmax(x, dim=axis, keepdim=keepdims)


def argmin(x, axis=None, keepdims=False):
    x = _t(x)
    if axis is None:
        return torch.argmin(x.reshape(-1))
    return torch.argmin(x, dim=axis, keepdim=keepdims)


def cumsum(x, axis=None, dtype=None):
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.cumsum(x, dim=axis, dtype=to_torch_dtype(dtype))


def logsumexp(x, axis=None, keepdims=False):
    x = _t(x)
    if axis is None:
        out = torch.logsumexp(x.reshape(-1), dim=0)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return torch.logsumexp(x, dim=_axis(axis), keepdim=keepdims)


def norm(x, ord=None, axis=None, keepdims=False):
    x = _t(x)
    if axis is None and ord is None:
        out = torch.linalg.vector_norm(x.reshape(-1))
        return out.reshape((1,) * x.ndim) if keepdims else out
    if isinstance(axis, (tuple, list)) and len(axis) == 2:
        return torch.linalg.matrix_norm(x, ord="fro" if ord is None else ord, dim=tuple(axis),
                                        keepdim=keepdims)
    return torch.linalg.vector_norm(x, ord=2 if ord is None else ord, dim=axis, keepdim=keepdims)


def all(x, axis=None, keepdims=False):
    return _reduce(torch.all, _t(x).bool(), axis, keepdims)


def any(x, axis=None, keepdims=False):
    return _reduce(torch.any, _t(x).bool(), axis, keepdims)


def count_nonzero(x, axis=None):
    return torch.count_nonzero(_t(x), dim=_axis(axis))


def reshape(x, newshape):
    return torch.reshape(_t(x), (newshape,) if isinstance(newshape, int) else tuple(newshape))


def transpose(x, axes=None):
    x = _t(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    return x.permute(*axes)


def expand_dims(x, axis):
    x = _t(x)
    for a in sorted(a if a >= 0 else a + x.ndim + len(np.atleast_1d(axis))
                    for a in np.atleast_1d(axis)):
        x = torch.unsqueeze(x, int(a))
    return x


def squeeze(x, axis=None):
    x = _t(x)
    if axis is None:
        return torch.squeeze(x)
    return torch.squeeze(x, dim=_axis(axis))


def concatenate(xs, axis=0):
    return torch.cat([_t(x) for x in xs], dim=axis)


def stack(xs, axis=0):
    return torch.stack([_t(x) for x in xs], dim=axis)


def split(x, indices_or_sections, axis=0):
    x = _t(x)
    if isinstance(indices_or_sections, int):
        size = x.shape[axis] // indices_or_sections
        return list(torch.split(x, size, dim=axis))
    bounds = [0, *indices_or_sections, x.shape[axis]]
    return [x.narrow(axis, a, b - a) for a, b in zip(bounds[:-1], bounds[1:])]


def tile(x, repeats):
    return torch.tile(_t(x), (repeats,) if isinstance(repeats, int) else tuple(repeats))


def repeat(x, repeats, axis=None):
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.repeat_interleave(x, repeats, dim=axis)


def take(x, indices, axis=None):
    x, indices = _t(x), _t(indices)
    if axis is not None and indices.ndim == 1 and indices.dtype in (torch.int32, torch.int64):
        return torch.index_select(x, axis, indices)  # the common case: rows of a batch
    indices = indices.long()
    if axis is None:
        return x.reshape(-1)[indices]
    return torch.index_select(x, axis, indices.reshape(-1)).reshape(
        x.shape[:axis] + indices.shape + x.shape[axis + 1:] if axis >= 0 else
        x.shape[:axis % x.ndim] + indices.shape + x.shape[axis % x.ndim + 1:])


def take_along_axis(x, indices, axis):
    return torch.take_along_dim(_t(x), _t(indices).long(), dim=axis)


def broadcast_to(x, shape):
    return torch.broadcast_to(_t(x), tuple(shape))


def flip(x, axis=None):
    x = _t(x)
    axes = range(x.ndim) if axis is None else np.atleast_1d(axis)
    return torch.flip(x, dims=[int(a) for a in axes])


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def zeros(shape, dtype="float32"):
    return torch.zeros(_shape(shape), dtype=to_torch_dtype(dtype), device=DEVICE)


def ones(shape, dtype="float32"):
    return torch.ones(_shape(shape), dtype=to_torch_dtype(dtype), device=DEVICE)


def full(shape, fill_value, dtype=None):
    if dtype is None:
        dtype = "float32" if isinstance(fill_value, float) else None
    return torch.full(_shape(shape), fill_value, dtype=to_torch_dtype(dtype), device=DEVICE)


def zeros_like(x, dtype=None):
    return torch.zeros_like(_t(x), dtype=to_torch_dtype(dtype))


def ones_like(x, dtype=None):
    return torch.ones_like(_t(x), dtype=to_torch_dtype(dtype))


def full_like(x, fill_value, dtype=None):
    return torch.full_like(_t(x), fill_value, dtype=to_torch_dtype(dtype))


def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    if dtype is None and builtins.all(isinstance(v, int) for v in (start, stop, step)):
        dtype = "int32"
    return torch.arange(start, stop, step, dtype=to_torch_dtype(dtype), device=DEVICE)


def eye(N, M=None, dtype="float32"):
    return torch.eye(N, N if M is None else M, dtype=to_torch_dtype(dtype), device=DEVICE)


def linspace(start, stop, num=50, dtype="float32"):
    return torch.linspace(start, stop, num, dtype=to_torch_dtype(dtype), device=DEVICE)


def diag(x, k=0):
    return torch.diag(_t(x), diagonal=k)


def triu(x, k=0):
    return torch.triu(_t(x), diagonal=k)


def tril(x, k=0):
    return torch.tril(_t(x), diagonal=k)


def pad(x, pad_width, mode="constant", constant_values=0):
    x = _t(x)
    flat = [p for pair in reversed([tuple(p) for p in pad_width]) for p in pair]
    return torch.nn.functional.pad(x, flat, mode=mode, value=constant_values)


def sort(x, axis=-1):
    return torch.sort(_t(x), dim=axis).values


def argsort(x, axis=-1):
    return torch.argsort(_t(x), dim=axis, stable=True)


def top_k(x, k, sorted=True):
    out = torch.topk(_t(x), k, dim=-1, sorted=sorted)
    return out.values, out.indices


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    return torch.nan_to_num(_t(x), nan=nan, posinf=posinf, neginf=neginf)


def swapaxes(x, axis1, axis2):
    return torch.swapaxes(_t(x), axis1, axis2)


def moveaxis(x, source, destination):
    return torch.moveaxis(_t(x), source, destination)


def slice(x, start_indices, shape):
    """A view when the starts are Python ints (the training loops' batches)."""
    x = _t(x)
    for axis, (start, size) in enumerate(zip(start_indices, shape)):
        x = torch.narrow(x, axis, start, size)
    return x


def slice_update(x, start_indices, updates):
    out = _t(x).clone()
    index = tuple(builtins.slice(int(s), int(s) + n)
                  for s, n in zip(start_indices, updates.shape))
    out[index] = updates
    return out


# The rest of keras.ops' numpy names live in three modules by concept; they build on the
# helpers above, so they are imported last (this module is already initialised when they run).
from nhanh.backend.torch.numpy_arrays import *  # noqa: E402, F401, F403
from nhanh.backend.torch.numpy_math import *  # noqa: E402, F401, F403
from nhanh.backend.torch.numpy_stats import *  # noqa: E402, F401, F403
