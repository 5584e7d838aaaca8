"""numpy-style ops on JAX: mostly jax.numpy itself."""

import jax
import jax.numpy as jnp
from jax.numpy import (  # noqa: F401  (re-exported as the backend's ops)
    abs, absolute, add, all, any, arange, arctan, argmax, argmin, argsort, broadcast_to, ceil,
    concatenate, count_nonzero, cos, cumsum, diag, divide, dot, einsum, equal, exp, expand_dims,
    expm1, eye, flip, floor, floor_divide, full, full_like, greater, greater_equal, isfinite,
    isinf, isnan, less, less_equal, linspace, log, log1p, log2, log10, logical_and,
    logical_not, logical_or, matmul, max, maximum, mean, min, minimum, mod, moveaxis,
    multiply, nan_to_num, negative, not_equal, ones, ones_like, outer, pad, power, prod, repeat,
    reshape, round, sign, sin, sort, split, sqrt, square, squeeze, stack, std, subtract, sum,
    swapaxes, take, take_along_axis, tan, tanh, tensordot, transpose, tril, triu,
    true_divide, var, where, zeros, zeros_like,
)
from jax.scipy.special import erf  # noqa: F401

rsqrt = jax.lax.rsqrt


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
