"""Elementwise numpy-style ops on PyTorch beyond the basic arithmetic: hyperbolic and inverse
trigonometric functions, float-valued binary ops, bit operations, comparisons with tolerance,
and the signal windows.

Dtypes follow Keras: integer and bool inputs of float-valued ops give float32 (PyTorch's own
promotion does this for most), and a Python scalar takes the tensor operand's dtype.
"""

from __future__ import annotations

import torch

from nhanh.backend.torch.core import DEVICE
from nhanh.backend.torch.numpy import _pair, _t, _unary

__all__ = [
    "arccos", "arccosh", "arcsin", "arcsinh", "arctanh", "cosh", "sinh", "exp2", "sinc", "i0",
    "erfc", "erfinv", "cbrt", "deg2rad", "rad2deg", "fabs", "trunc", "reciprocal", "signbit",
    "isneginf", "isposinf", "isreal", "conj", "conjugate", "real", "imag", "angle",
    "arctan2", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "fmod", "heaviside",
    "nextafter", "ldexp", "divide_no_nan", "gcd", "lcm", "logical_xor", "isclose", "allclose",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_invert",
    "bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift",
    "bartlett", "blackman", "hamming", "hanning", "kaiser",
]


def _float(x):
    """x as a tensor; ints and bools become float32, as Keras's float-valued ops return."""
    x = _t(x)
    return x if x.is_floating_point() or x.is_complex() else x.to(torch.float32)


def _float_unary(fn):
    def op(x):
        return fn(_float(x))
    op.__name__ = fn.__name__
    return op


def _float_pair(x1, x2):
    x1, x2 = _pair(x1, x2)
    dtype = torch.promote_types(x1.dtype, x2.dtype)
    if not (dtype.is_floating_point or dtype.is_complex):
        dtype = torch.float32
    return x1.to(dtype), x2.to(dtype)


def _float_binary(fn):
    def op(x1, x2):
        return fn(*_float_pair(x1, x2))
    op.__name__ = fn.__name__
    return op


def _promote(x1, x2, bool_as=None):
    """Both operands in their common dtype (torch's promotion of two tensors is Keras's);
    two bools become `bool_as` where the torch kernel has no bool version."""
    x1, x2 = _pair(x1, x2)
    dtype = torch.promote_types(x1.dtype, x2.dtype)
    if dtype == torch.bool and bool_as is not None:
        dtype = bool_as
    return x1.to(dtype), x2.to(dtype)


def _same_dtype_binary(fn):
    """Integer-valued ops whose torch kernel wants both operands in one dtype and no bools
    (Keras gives int32 for two bools): gcd, lcm, fmod."""
    def op(x1, x2):
        return fn(*_promote(x1, x2, bool_as=torch.int32))
    op.__name__ = fn.__name__
    return op


def _binary_kept(fn):
    """Ops defined for every dtype, bools included: operands promoted, kept as they come."""
    def op(x1, x2):
        return fn(*_promote(x1, x2))
    op.__name__ = fn.__name__
    return op


arccos = _float_unary(torch.arccos)
arccosh = _float_unary(torch.arccosh)
arcsin = _float_unary(torch.arcsin)
arcsinh = _float_unary(torch.arcsinh)
arctanh = _float_unary(torch.arctanh)
cosh = _float_unary(torch.cosh)
sinh = _float_unary(torch.sinh)
exp2 = _float_unary(torch.exp2)
sinc = _float_unary(torch.sinc)
i0 = _float_unary(torch.i0)
erfc = _float_unary(torch.erfc)
erfinv = _float_unary(torch.erfinv)
deg2rad = _float_unary(torch.deg2rad)
rad2deg = _float_unary(torch.rad2deg)
fabs = _float_unary(torch.abs)
reciprocal = _float_unary(torch.reciprocal)
signbit = _unary(torch.signbit)
isneginf = _unary(torch.isneginf)
isposinf = _unary(torch.isposinf)
isreal = _unary(torch.isreal)
angle = _float_unary(torch.angle)


def cbrt(x):
    x = _float(x)
    return torch.sign(x) * torch.abs(x).pow(1.0 / 3.0)


def trunc(x):
    x = _t(x)
    return torch.trunc(x) if x.is_floating_point() else x


def conj(x):
    x = _t(x)
    return torch.conj(x).resolve_conj() if x.is_complex() else x


conjugate = conj


def real(x):
    x = _t(x)
    return torch.real(x) if x.is_complex() else x


def imag(x):
    x = _t(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


arctan2 = _float_binary(torch.atan2)
hypot = _float_binary(torch.hypot)
logaddexp = _float_binary(torch.logaddexp)
logaddexp2 = _float_binary(torch.logaddexp2)
nextafter = _float_binary(torch.nextafter)
fmax = _binary_kept(torch.fmax)
fmin = _binary_kept(torch.fmin)
fmod = _same_dtype_binary(torch.fmod)
heaviside = _float_binary(torch.heaviside)
gcd = _same_dtype_binary(torch.gcd)
lcm = _same_dtype_binary(torch.lcm)


def _bits(fn, bool_as=None):
    """A bit operation, spelt (x, y) as in Keras; bools stay bools unless `bool_as`."""
    def op(x, y):
        return fn(*_promote(x, y, bool_as=bool_as))
    op.__name__ = fn.__name__
    return op


bitwise_and = _bits(torch.bitwise_and)
bitwise_or = _bits(torch.bitwise_or)
bitwise_xor = _bits(torch.bitwise_xor)
bitwise_left_shift = left_shift = _bits(torch.bitwise_left_shift, bool_as=torch.int32)
bitwise_right_shift = right_shift = _bits(torch.bitwise_right_shift, bool_as=torch.int32)
bitwise_not = bitwise_invert = _unary(torch.bitwise_not)


def logical_xor(x1, x2):
    return torch.logical_xor(*_pair(x1, x2))


def ldexp(x1, x2):
    """x1 * 2**x2 for integer exponents x2."""
    x1 = _float(x1)
    return torch.ldexp(x1, _t(x2).to(x1.dtype))


def divide_no_nan(x1, x2):
    """x1 / x2, with 0 where x2 is 0 (the divisor is replaced first, so no NaN gradient)."""
    x1, x2 = _float_pair(x1, x2)
    zero = x2 == 0
    return torch.where(zero, torch.zeros_like(x1), x1 / torch.where(zero, torch.ones_like(x2),
                                                                      x2))


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    x1, x2 = _pair(x1, x2)
    dtype = torch.promote_types(x1.dtype, x2.dtype)
    return torch.isclose(x1.to(dtype), x2.to(dtype), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return torch.all(isclose(x1, x2, rtol, atol, equal_nan))


def _window(fn, name):
    def window(x):
        return fn(int(x), periodic=False, dtype=torch.float32, device=DEVICE)
    window.__name__ = name
    return window


bartlett = _window(torch.bartlett_window, "bartlett")
blackman = _window(torch.blackman_window, "blackman")
hamming = _window(torch.hamming_window, "hamming")
hanning = _window(torch.hann_window, "hanning")


def kaiser(x, beta):
    return torch.kaiser_window(int(x), periodic=False, beta=float(beta), dtype=torch.float32,
                               device=DEVICE)
