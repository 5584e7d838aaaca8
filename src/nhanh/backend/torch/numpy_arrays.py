"""numpy-style array building, reshaping, stacking, splitting and indexing on PyTorch, and the
products (cross, inner, kron, correlate, ...) that numpy defines beyond matmul."""

from __future__ import annotations

import torch

from nhanh.backend.torch.core import DEVICE, convert_to_tensor, to_torch_dtype
from nhanh.backend.torch.numpy import _pair, _t
from nhanh.backend.torch.numpy_math import _promote

__all__ = [
    "array", "copy", "size", "empty", "empty_like", "identity", "tri", "ravel", "append",
    "hstack", "vstack", "dstack", "array_split", "hsplit", "vsplit", "dsplit", "unstack",
    "roll", "rot90", "fliplr", "flipud", "diff", "diagonal", "diagflat", "meshgrid",
    "logspace", "geomspace", "vander", "cross", "inner", "vdot", "kron", "correlate",
    "trapezoid", "isin", "nonzero", "select", "unravel_index", "vectorize", "view",
    "saturate_cast", "get_item",
]


def array(x, dtype=None):
    return convert_to_tensor(x, dtype)


def copy(x):
    return _t(x).clone()


def size(x):
    return _t(x).numel()


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def empty(shape, dtype="float32"):
    return torch.empty(_shape(shape), dtype=to_torch_dtype(dtype or "float32"), device=DEVICE)


def empty_like(x, dtype=None):
    return torch.empty_like(_t(x), dtype=to_torch_dtype(dtype))


def identity(n, dtype="float32"):
    return torch.eye(n, dtype=to_torch_dtype(dtype or "float32"), device=DEVICE)


def tri(N, M=None, k=0, dtype="float32"):
    ones = torch.ones((N, N if M is None else M), dtype=to_torch_dtype(dtype or "float32"),
                      device=DEVICE)
    return torch.tril(ones, diagonal=k)


def ravel(x):
    return _t(x).reshape(-1)


def append(x1, x2, axis=None):
    x1, x2 = _pair(x1, x2)
    if axis is None:
        return torch.cat([x1.reshape(-1), x2.reshape(-1)])
    return torch.cat([x1, x2], dim=axis)


def hstack(xs):
    return torch.hstack([_t(x) for x in xs])


def vstack(xs):
    return torch.vstack([_t(x) for x in xs])


def dstack(xs):
    return torch.dstack([_t(x) for x in xs])


def array_split(x, indices_or_sections, axis=0):
    """Like split, but n sections need not divide the axis: the first ones get one more."""
    sections = (indices_or_sections if isinstance(indices_or_sections, int)
                else [int(i) for i in indices_or_sections])
    return list(torch.tensor_split(_t(x), sections, dim=axis))


def _split_exact(x, indices_or_sections, axis):
    x = _t(x)
    if isinstance(indices_or_sections, int) and x.shape[axis] % indices_or_sections:
        raise ValueError(f"Cannot split an axis of length {x.shape[axis]} into "
                         f"{indices_or_sections} equal sections; use array_split for "
                         "unequal ones.")
    return array_split(x, indices_or_sections, axis)


def hsplit(x, indices_or_sections):
    return _split_exact(x, indices_or_sections, 0 if _t(x).ndim == 1 else 1)


def vsplit(x, indices_or_sections):
    return _split_exact(x, indices_or_sections, 0)


def dsplit(x, indices_or_sections):
    return _split_exact(x, indices_or_sections, 2)


def unstack(x, num=None, axis=0):
    return list(torch.unbind(_t(x), dim=axis))


def roll(x, shift, axis=None):
    x = _t(x)
    if axis is None:
        return torch.roll(x.reshape(-1), shift).reshape(x.shape)
    return torch.roll(x, shift, dims=axis)


def rot90(array, k=1, axes=(0, 1)):
    return torch.rot90(_t(array), k, dims=list(axes))


def fliplr(x):
    return torch.fliplr(_t(x))


def flipud(x):
    return torch.flipud(_t(x))


def diff(a, n=1, axis=-1):
    return torch.diff(_t(a), n=n, dim=axis)


def diagonal(x, offset=0, axis1=0, axis2=1):
    return torch.diagonal(_t(x), offset, axis1, axis2)


def diagflat(x, k=0):
    return torch.diagflat(_t(x), offset=k)


def meshgrid(*x, indexing="xy"):
    return list(torch.meshgrid(*[_t(v) for v in x], indexing=indexing))


def _steps(start, stop, num, endpoint, axis):
    """`num` evenly spaced values from start to stop (array bounds broadcast; samples along
    `axis`), in float32."""
    start = torch.as_tensor(_t(start), dtype=torch.float32)
    stop = torch.as_tensor(_t(stop), dtype=torch.float32)
    divisor = (num - 1) if endpoint else num
    fraction = torch.arange(num, dtype=torch.float32, device=DEVICE) / max(divisor, 1)
    start, stop = torch.broadcast_tensors(start, stop)
    out = start[None] + fraction.reshape((-1,) + (1,) * start.ndim) * (stop - start)[None]
    if endpoint and num > 1:
        out[-1] = stop
    return torch.moveaxis(out, 0, axis)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    out = torch.pow(torch.as_tensor(float(base)), _steps(start, stop, num, endpoint, axis))
    return out.to(to_torch_dtype(dtype or "float32"))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Geometric steps from start to stop (same sign): the endpoints are exact."""
    start = torch.as_tensor(_t(start), dtype=torch.float32)
    stop = torch.as_tensor(_t(stop), dtype=torch.float32)
    sign = torch.sign(start)
    out = sign * torch.exp(_steps(torch.log(torch.abs(start)), torch.log(torch.abs(stop)),
                                  num, endpoint, 0))
    out[0] = start
    if endpoint and num > 1:
        out[-1] = stop
    return torch.moveaxis(out, 0, axis).to(to_torch_dtype(dtype or "float32"))


def vander(x, N=None, increasing=False):
    return torch.vander(_t(x), N, increasing)


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross products of 3-vectors (2-vectors are taken with z = 0; two 2-vectors give the
    z component alone), as numpy's cross."""
    x1, x2 = _promote(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    x1, x2 = torch.moveaxis(x1, axisa, -1), torch.moveaxis(x2, axisb, -1)
    if x1.shape[-1] == 2 and x2.shape[-1] == 2:
        return x1[..., 0] * x2[..., 1] - x1[..., 1] * x2[..., 0]
    pad = [torch.nn.functional.pad(v, (0, 3 - v.shape[-1])) for v in (x1, x2)]
    pad = torch.broadcast_tensors(*pad)
    return torch.moveaxis(torch.linalg.cross(*pad, dim=-1), -1, axisc)


def _products(fn):
    """A product of two operands in their common dtype; bools are multiplied as ints and the
    sums read as `any`, as numpy does."""
    def op(x1, x2):
        x1, x2 = _promote(x1, x2)
        if x1.dtype == torch.bool:
            return fn(x1.to(torch.int32), x2.to(torch.int32)) != 0
        return fn(x1, x2)
    op.__name__ = fn.__name__
    return op


inner = _products(torch.inner)
kron = _products(torch.kron)
vdot = _products(lambda x1, x2: torch.vdot(x1.reshape(-1), x2.reshape(-1)))


def correlate(x1, x2, mode="valid"):
    """numpy's 1-D cross-correlation, c[k] = sum_n x1[n + k] * x2[n], 'valid' 'same' or
    'full'."""
    x1, x2 = _pair(x1, x2)
    dtype = torch.promote_types(x1.dtype, x2.dtype)
    if not dtype.is_floating_point:
        dtype = torch.float32
    x1, x2 = x1.to(dtype), x2.to(dtype)
    if x2.shape[0] > x1.shape[0]:
        return torch.flip(correlate(x2, x1, mode), dims=[0])
    n = x2.shape[0]
    left, right = {"valid": (0, 0), "same": (n // 2, n - 1 - n // 2),
                   "full": (n - 1, n - 1)}[mode]
    padded = torch.nn.functional.pad(x1, (left, right))
    return torch.nn.functional.conv1d(padded[None, None], x2[None, None])[0, 0]


def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = _t(y)
    if not y.is_floating_point():
        y = y.to(torch.float32)
    if x is None:
        return torch.trapezoid(y, dx=dx, dim=axis)
    return torch.trapezoid(y, _t(x).to(y.dtype), dim=axis)


def isin(x1, x2, assume_unique=False, invert=False):
    x1, x2 = _promote(x1, x2, bool_as=torch.uint8)
    return torch.isin(x1, x2, assume_unique=assume_unique, invert=invert)


def nonzero(x):
    return tuple(i.to(torch.int32) for i in torch.nonzero(_t(x), as_tuple=True))


def select(condlist, choicelist, default=0):
    """The choice of the first true condition, element by element; `default` where none is."""
    choices = [_t(c) for c in choicelist]
    out = torch.as_tensor(default, dtype=choices[0].dtype, device=choices[0].device)
    for condition, choice in reversed(list(zip(condlist, choices))):
        out = torch.where(_t(condition).bool(), choice, out)
    return out


def unravel_index(indices, shape):
    indices = _t(indices).to(torch.int32)
    out = []
    for dim in reversed(tuple(shape)):
        out.append(torch.remainder(indices, dim))
        indices = torch.div(indices, dim, rounding_mode="floor")
    return tuple(reversed(out))


def _parse_signature(signature):
    inputs, output = signature.replace(" ", "").split("->")
    core = [tuple(d for d in part.split(",") if d) for part in
            inputs.strip("()").split("),(")]
    return core, output


def vectorize(pyfunc, *, excluded=None, signature=None):
    """`pyfunc` mapped over the leading (broadcast) axes of its tensor arguments with
    torch.vmap; `signature` ('(n),(n)->()') names the core axes each call sees."""
    excluded = set(excluded or ())

    def wrapped(*args):
        positions = [i for i, a in enumerate(args) if i not in excluded]
        tensors = [_t(args[i]) for i in positions]
        core = ([()] * len(tensors) if signature is None
                else _parse_signature(signature)[0])
        loops = [t.shape[:t.ndim - len(c)] for t, c in zip(tensors, core)]
        loop_shape = torch.broadcast_shapes(*loops)
        flat = [t.expand(loop_shape + t.shape[t.ndim - len(c):]).reshape(
            (-1,) + t.shape[t.ndim - len(c):]) for t, c in zip(tensors, core)]

        def one(*values):
            call = list(args)
            for i, v in zip(positions, values):
                call[i] = v
            return pyfunc(*call)

        out = torch.vmap(one)(*flat)
        return out.reshape(loop_shape + out.shape[1:])

    return wrapped


def view(x, dtype=None):
    x = _t(x)
    return x if dtype is None else x.view(to_torch_dtype(dtype))


def saturate_cast(x, dtype):
    """Values outside `dtype`'s range become its min or max instead of wrapping around."""
    x, target = _t(x), to_torch_dtype(dtype)
    if x.dtype in (torch.bool, target):
        return x.to(target)
    info = torch.finfo if target.is_floating_point else torch.iinfo
    src = torch.finfo if x.dtype.is_floating_point else torch.iinfo
    bounds = []
    for pick, edge in ((max, "min"), (min, "max")):
        limit = float(getattr(info(target), edge))
        value = torch.tensor(pick(limit, float(getattr(src(x.dtype), edge))), dtype=x.dtype)
        if abs(float(value)) > abs(limit):  # rounded outwards in x's dtype (int32's max)
            value = torch.nextafter(value, torch.zeros_like(value))
        bounds.append(value.to(x.device))
    return torch.clamp(x, *bounds).to(target)


def get_item(x, key):
    return _t(x)[key]
