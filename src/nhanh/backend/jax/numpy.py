"""numpy-style ops on JAX: mostly jax.numpy itself."""

import builtins

import jax
import jax.numpy as jnp
import numpy as np
from jax.numpy import (  # noqa: F401  (re-exported as the backend's ops)
    abs, absolute, add, all, any, arange, arctan, argmax, argmin, argsort, broadcast_to, ceil,
    concatenate, count_nonzero, cos, cumsum, diag, divide, dot, einsum, equal, exp, expand_dims,
    expm1, eye, flip, floor, floor_divide, full_like, greater, greater_equal, isfinite,
    isinf, isnan, less, less_equal, linspace, log, log1p, log2, log10, logical_and,
    logical_not, logical_or, matmul, max, maximum, mean, min, minimum, mod, moveaxis,
    multiply, nan_to_num, negative, not_equal, ones_like, outer, pad, power, prod, repeat,
    reshape, round, sign, sin, sort, split, sqrt, square, squeeze, stack, std, subtract, sum,
    swapaxes, take, take_along_axis, tan, tanh, tensordot, transpose, tril, triu,
    true_divide, var, where, zeros_like,
)
from jax.scipy.special import erf  # noqa: F401

from nhanh.backend.jax.core import canonical_dtype, host_made

rsqrt = jax.lax.rsqrt


def full(shape, fill_value, dtype=None):
    if host_made() and isinstance(fill_value, (bool, int, float, np.generic)) \
            and dtype is not None:  # (else jax.numpy's weak types decide the dtype)
        dtype = canonical_dtype(dtype)  # (np.zeros: pages the allocator gives zeroed, untouched)
        host = np.zeros(shape, dtype) if fill_value == 0 else np.full(shape, fill_value, dtype)
        return jax.device_put(host)
    return jnp.full(shape, fill_value, dtype)


def zeros(shape, dtype=None):
    return full(shape, 0, float if dtype is None else dtype)  # (float: JAX's default float)


def ones(shape, dtype=None):
    return full(shape, 1, float if dtype is None else dtype)


def logsumexp(x, axis=None, keepdims=False):
    return jax.nn.logsumexp(x, axis=axis, keepdims=keepdims)


def norm(x, ord=None, axis=None, keepdims=False):
    return jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def top_k(x, k, sorted=True):
    return jax.lax.top_k(x, k)


def clip(x, x_min=None, x_max=None):
    return jnp.clip(x, x_min, x_max)


def tile(x, repeats):
    return jnp.tile(x, repeats)


def slice(x, start_indices, shape):
    return jax.lax.dynamic_slice(x, tuple(start_indices), tuple(shape))


def slice_update(x, start_indices, updates):
    return jax.lax.dynamic_update_slice(x, updates, tuple(start_indices))


# --- the rest of keras.ops' numpy names --------------------------------------------------------
# jax.numpy's own functions give Keras's answer (Keras's JAX backend is jax.numpy with x64 off);
# the few below wrap them where Keras's signature or dtype differs.

from jax.numpy import (  # noqa: E402, F401
    allclose, amax, amin, angle, append, arccos, arccosh, arcsin, arcsinh, arctan2, arctanh,
    array_split, bitwise_and, bitwise_or, bitwise_xor, cbrt, conj, conjugate, corrcoef, cosh,
    deg2rad, diagflat, diagonal, diff, dsplit, dstack, exp2, fabs, fliplr, flipud, fmax, fmin,
    fmod, gcd, heaviside, hsplit, hstack, hypot, i0, imag, inner, isclose, isin, isneginf,
    isposinf, isreal, kron, lcm, left_shift, logaddexp, logaddexp2, logical_xor, meshgrid,
    nancumprod, nancumsum, nanmax, nanmean, nanmin, nanprod, nanstd, nansum, nanvar, nextafter,
    ptp, rad2deg, ravel, real, right_shift, roll, rot90, sinc, sinh, trapezoid, trunc, vdot,
    vsplit, vstack,
)
from jax.scipy.special import erfc, erfinv  # noqa: E402, F401

bitwise_invert = bitwise_not = jnp.invert
bitwise_left_shift = jnp.left_shift
bitwise_right_shift = jnp.right_shift


def _float(x):
    """x as an array, ints and bools as float32 (Keras's result for float-valued ops)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype("float32")


def array(x, dtype=None):
    from nhanh.backend.jax.core import convert_to_tensor
    return convert_to_tensor(x, dtype)


def copy(x):
    return jnp.array(x, copy=True)


def size(x):
    return jnp.size(x)


def empty(shape, dtype="float32"):
    return jnp.empty(shape, dtype=dtype or "float32")


def empty_like(x, dtype=None):
    return jnp.empty_like(x, dtype=dtype)


def identity(n, dtype="float32"):
    return jnp.identity(n, dtype=dtype or "float32")


def tri(N, M=None, k=0, dtype="float32"):
    return jnp.tri(N, M, k, dtype=dtype or "float32")


def reciprocal(x):
    return jnp.reciprocal(_float(x))


def ldexp(x1, x2):
    return jnp.ldexp(_float(x1), jnp.asarray(x2).astype("int32"))


def signbit(x):
    return jnp.signbit(x)


def divide_no_nan(x1, x2):
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    zero = x2 == 0
    return jnp.where(zero, 0, jnp.true_divide(x1, jnp.where(zero, 1, x2)))


def cumprod(x, axis=None, dtype=None):
    return jnp.cumprod(x, axis=axis, dtype=dtype)


def trace(x, offset=0, axis1=0, axis2=1):
    x = jnp.asarray(x)
    dtype = (None if jnp.issubdtype(x.dtype, jnp.inexact) else "uint32"
             if x.dtype in (jnp.uint8, jnp.uint16) else "int32")
    return jnp.trace(x, offset, axis1, axis2, dtype=dtype)


def average(x, axis=None, weights=None):
    x = _float(x)
    if weights is not None:
        weights = _float(weights)
    return jnp.average(x, axis=axis, weights=weights)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def median(x, axis=None, keepdims=False):
    return jnp.median(_float(x), axis=_axis(axis), keepdims=keepdims)


def nanmedian(x, axis=None, keepdims=False):
    return jnp.nanmedian(_float(x), axis=_axis(axis), keepdims=keepdims)


def quantile(x, q, axis=None, method="linear", keepdims=False):
    return jnp.quantile(_float(x), q, axis=_axis(axis), method=method, keepdims=keepdims)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    return jnp.nanquantile(_float(x), q, axis=_axis(axis), method=method, keepdims=keepdims)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return jnp.percentile(_float(x), q, axis=_axis(axis), method=method, keepdims=keepdims)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return jnp.nanpercentile(_float(x), q, axis=_axis(axis), method=method, keepdims=keepdims)


def nanargmax(x, axis=None, keepdims=False):
    return jnp.nanargmax(x, axis=axis, keepdims=keepdims)


def nanargmin(x, axis=None, keepdims=False):
    return jnp.nanargmin(x, axis=axis, keepdims=keepdims)


def argpartition(x, kth, axis=-1):
    return jnp.argpartition(x, kth, axis=axis).astype("int32")


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return jnp.cross(x1, x2, axisa, axisb, axisc, axis)


def correlate(x1, x2, mode="valid"):
    return jnp.correlate(x1, x2, mode=mode)


def vander(x, N=None, increasing=False):
    return jnp.vander(x, N, increasing)


def searchsorted(sorted_sequence, values, side="left"):
    return jnp.searchsorted(sorted_sequence, values, side=side).astype("int32")


def digitize(x, bins):
    return jnp.digitize(x, bins).astype("int32")


def bincount(x, weights=None, minlength=0, sparse=False):
    """1-D `x`, or 2-D: one count per row, all rows `max + 1` (or `minlength`) long."""
    x = jnp.asarray(x)
    length = builtins.max(int(jnp.max(x)) + 1 if x.size else 0, minlength)
    if x.ndim == 2:
        rows = jnp.arange(x.shape[0])[:, None]
        w = jnp.ones(x.shape, "int32") if weights is None else jnp.asarray(weights)
        return jnp.zeros((x.shape[0], length), w.dtype).at[rows, x].add(w)
    out = jnp.bincount(x, weights, minlength=minlength, length=length)
    return out if weights is not None else out.astype("int32")


def histogram(x, bins=10, range=None):
    return jnp.histogram(x, bins=bins, range=range)


def nonzero(x):
    return tuple(i.astype("int32") for i in jnp.nonzero(x))


def unravel_index(indices, shape):
    return tuple(i.astype("int32") for i in jnp.unravel_index(indices, shape))


def select(condlist, choicelist, default=0):
    return jnp.select(list(condlist), list(choicelist), default)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    return jnp.geomspace(start, stop, num, endpoint, dtype=dtype or "float32", axis=axis)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    return jnp.logspace(start, stop, num, endpoint, base, dtype=dtype or "float32", axis=axis)


def _window(fn):
    def window(x):
        return fn(int(x)).astype("float32")
    window.__name__ = fn.__name__
    return window


bartlett, blackman, hamming, hanning = (_window(f) for f in (jnp.bartlett, jnp.blackman,
                                                              jnp.hamming, jnp.hanning))


def kaiser(x, beta):
    return jnp.kaiser(int(x), beta).astype("float32")


def unstack(x, num=None, axis=0):
    x = jnp.asarray(x)
    return [jnp.take(x, i, axis=axis) for i in range(x.shape[axis])]


def vectorize(pyfunc, *, excluded=None, signature=None):
    return jnp.vectorize(pyfunc, excluded=excluded or set(), signature=signature)


def view(x, dtype=None):
    x = jnp.asarray(x)
    return x if dtype is None else x.view(dtype)


def saturate_cast(x, dtype):
    """Values outside `dtype`'s range become its min or max instead of wrapping around."""
    x = jnp.asarray(x)
    if x.dtype == jnp.bool_ or x.dtype == jnp.dtype(dtype):
        return x.astype(dtype)
    info = jnp.iinfo if jnp.issubdtype(dtype, jnp.integer) else jnp.finfo
    src = jnp.iinfo if jnp.issubdtype(x.dtype, jnp.integer) else jnp.finfo
    lo = jnp.asarray(builtins.max(float(info(dtype).min), float(src(x.dtype).min)), x.dtype)
    hi = jnp.asarray(builtins.min(float(info(dtype).max), float(src(x.dtype).max)), x.dtype)
    if float(hi) > float(info(dtype).max):  # the bound rounded up in x's dtype (int32 max)
        hi = jnp.nextafter(hi, jnp.zeros_like(hi))
    if float(lo) < float(info(dtype).min):
        lo = jnp.nextafter(lo, jnp.zeros_like(lo))
    return jnp.clip(x, lo, hi).astype(dtype)


def get_item(x, key):
    return jnp.asarray(x)[key]
