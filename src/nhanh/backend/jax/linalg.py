"""Linear algebra on JAX (the backend contract's linalg group).

Keras 3's keras.ops.linalg names and return conventions: matrices are the last two axes,
factorisations return tuples, lu_factor's pivots are 0-based int32 row swaps (LAPACK's, less
one), and eager calls that fail (cholesky of a matrix that is not positive definite) raise
instead of returning NaN. Traced calls cannot raise on values, so they return NaN as jnp does.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from nhanh.backend import linalg_checks as checks
from nhanh.backend.jax.core import convert_to_tensor


def _float(x):
    x = convert_to_tensor(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.float32)


def _square(op, x):
    x = _float(x)
    checks.matrices(op, x.shape)
    return x


def _has_nan(x) -> bool:
    try:
        return bool(jnp.any(jnp.isnan(x)))
    except jax.errors.ConcretizationTypeError:  # traced: values are not known yet
        return False


def cholesky(x, upper=False):
    x = _square("cholesky", x)
    factor = jnp.linalg.cholesky(x)  # lower; jax < 0.4.31 has no `upper`
    if upper:
        factor = jnp.conj(jnp.swapaxes(factor, -1, -2))
    if _has_nan(factor) and not _has_nan(x):
        raise ValueError("cholesky: `x` is not symmetric positive definite (the factorisation "
                         "failed). Add a small multiple of the identity to regularise it.")
    return factor


def cholesky_inverse(x, upper=False):
    x = _square("cholesky_inverse", x)
    eye = jnp.broadcast_to(jnp.eye(x.shape[-1], dtype=x.dtype), x.shape)
    inverse = jsl.solve_triangular(x, eye, lower=not upper)  # inverse of the factor
    mt = jnp.swapaxes(inverse, -1, -2)
    return inverse @ mt if upper else mt @ inverse


def det(x):
    return jnp.linalg.det(_square("det", x))


def slogdet(x):
    return tuple(jnp.linalg.slogdet(_square("slogdet", x)))


def logdet(x):
    return jnp.linalg.slogdet(_square("logdet", x))[1]


def eig(x):
    return tuple(jnp.linalg.eig(_square("eig", x)))


def eigh(x):
    return tuple(jnp.linalg.eigh(_square("eigh", x)))


def inv(x):
    return jnp.linalg.inv(_square("inv", x))


def lu_factor(x):
    x = _float(x)
    checks.matrices("lu_factor", x.shape, square=False)
    lu, pivots, _ = jax.lax.linalg.lu(x)
    return lu, pivots.astype(jnp.int32)


def qr(x, mode="reduced"):
    checks.qr_mode(mode)
    x = _float(x)
    checks.matrices("qr", x.shape, square=False)
    return tuple(jnp.linalg.qr(x, mode=mode))


def solve(a, b):
    a, b = _float(a), _float(b)
    checks.system("solve", a.shape, b.shape)
    if checks.b_is_vector(a.shape, b.shape):
        return jnp.linalg.solve(a, b[..., None])[..., 0]
    return jnp.linalg.solve(a, b)


def solve_triangular(a, b, lower=False):
    a, b = _float(a), _float(b)
    checks.system("solve_triangular", a.shape, b.shape)
    if checks.b_is_vector(a.shape, b.shape):
        return jsl.solve_triangular(a, b[..., None], lower=lower)[..., 0]
    return jsl.solve_triangular(a, b, lower=lower)


def svd(x, full_matrices=True, compute_uv=True):
    x = _float(x)
    checks.matrices("svd", x.shape, square=False)
    if not compute_uv:
        return jnp.linalg.svd(x, compute_uv=False)
    return tuple(jnp.linalg.svd(x, full_matrices=full_matrices))


def lstsq(a, b, rcond=None):
    a, b = _float(a), _float(b)
    checks.matrices("lstsq", a.shape, square=False, name="a")
    if b.ndim not in (1, 2) or a.ndim != 2 or b.shape[0] != a.shape[0]:
        raise ValueError(f"lstsq expects a matrix `a` (M, N) and `b` of shape (M,) or (M, K), "
                         f"got a {tuple(a.shape)} and b {tuple(b.shape)}.")
    return jnp.linalg.lstsq(a, b, rcond=rcond)[0]


def matrix_rank(x, tol=None):
    x = _float(x)
    checks.matrices("matrix_rank", x.shape, square=False)
    s = jnp.linalg.svd(x, compute_uv=False)
    if tol is None:  # numpy's default: relative to the largest singular value
        tol = s.max(-1, keepdims=True) * max(x.shape[-2:]) * jnp.finfo(s.dtype).eps
    return jnp.sum(s > tol, axis=-1).astype(jnp.int32)


def pinv(x, rcond=None):
    x = _float(x)
    checks.matrices("pinv", x.shape, square=False)
    return jnp.linalg.pinv(x) if rcond is None else jnp.linalg.pinv(x, rcond)  # relative


def jvp(fun, primals, tangents, has_aux=False):
    return jax.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)
