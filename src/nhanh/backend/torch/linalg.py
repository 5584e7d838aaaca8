"""Linear algebra on PyTorch (the backend contract's linalg group).

Keras 3's keras.ops.linalg names and return conventions, as on JAX: lu_factor's pivots are
0-based int32 (PyTorch's are LAPACK's 1-based), svd without compute_uv returns the singular
values alone, and a failed factorisation raises ValueError.
"""

from __future__ import annotations

import torch

from nhanh.backend import linalg_checks as checks
from nhanh.backend.torch.core import convert_to_tensor


def _float(x):
    x = convert_to_tensor(x)
    return x if x.is_floating_point() or x.is_complex() else x.to(torch.float32)


def _square(op, x):
    x = _float(x)
    checks.matrices(op, x.shape)
    return x


def cholesky(x, upper=False):
    x = _square("cholesky", x)
    factor, info = torch.linalg.cholesky_ex(x, upper=upper)
    if bool(torch.any(info != 0)):
        raise ValueError("cholesky: `x` is not symmetric positive definite (the factorisation "
                         "failed). Add a small multiple of the identity to regularise it.")
    return factor


def cholesky_inverse(x, upper=False):
    return torch.cholesky_inverse(_square("cholesky_inverse", x), upper=upper)


def det(x):
    return torch.linalg.det(_square("det", x))


def slogdet(x):
    return tuple(torch.linalg.slogdet(_square("slogdet", x)))


def logdet(x):
    return torch.linalg.slogdet(_square("logdet", x))[1]


def eig(x):
    return tuple(torch.linalg.eig(_square("eig", x)))


def eigh(x):
    return tuple(torch.linalg.eigh(_square("eigh", x)))


def inv(x):
    return torch.linalg.inv(_square("inv", x))


def lu_factor(x):
    x = _float(x)
    checks.matrices("lu_factor", x.shape, square=False)
    lu, pivots = torch.linalg.lu_factor(x)
    return lu, (pivots - 1).to(torch.int32)


def qr(x, mode="reduced"):
    checks.qr_mode(mode)
    x = _float(x)
    checks.matrices("qr", x.shape, square=False)
    return tuple(torch.linalg.qr(x, mode=mode))


def solve(a, b):
    a, b = _float(a), _float(b)
    checks.system("solve", a.shape, b.shape)
    if checks.b_is_vector(a.shape, b.shape):
        return torch.linalg.solve(a, b.unsqueeze(-1)).squeeze(-1)
    return torch.linalg.solve(a, b)


def solve_triangular(a, b, lower=False):
    a, b = _float(a), _float(b)
    checks.system("solve_triangular", a.shape, b.shape)
    if checks.b_is_vector(a.shape, b.shape):
        return torch.linalg.solve_triangular(a, b.unsqueeze(-1), upper=not lower).squeeze(-1)
    return torch.linalg.solve_triangular(a, b, upper=not lower)


def svd(x, full_matrices=True, compute_uv=True):
    x = _float(x)
    checks.matrices("svd", x.shape, square=False)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


def lstsq(a, b, rcond=None):
    a, b = _float(a), _float(b)
    checks.matrices("lstsq", a.shape, square=False, name="a")
    if b.ndim not in (1, 2) or a.ndim != 2 or b.shape[0] != a.shape[0]:
        raise ValueError(f"lstsq expects a matrix `a` (M, N) and `b` of shape (M,) or (M, K), "
                         f"got a {tuple(a.shape)} and b {tuple(b.shape)}.")
    # Through the pseudo-inverse: the SVD solution numpy gives, also for rank-deficient `a`,
    # on every device (PyTorch's CUDA lstsq has only the QR driver, which ignores rcond).
    if rcond is None:
        rcond = torch.finfo(a.dtype).eps * max(a.shape)
    return torch.linalg.pinv(a, rtol=rcond) @ b


def matrix_rank(x, tol=None):
    x = _float(x)
    checks.matrices("matrix_rank", x.shape, square=False)
    if tol is None:
        rank = torch.linalg.matrix_rank(x)
    else:  # numpy's tol: an absolute threshold on the singular values
        rank = torch.linalg.matrix_rank(x, atol=tol, rtol=0.0)
    return rank.to(torch.int32)


def pinv(x, rcond=None):
    x = _float(x)
    checks.matrices("pinv", x.shape, square=False)
    return torch.linalg.pinv(x) if rcond is None else torch.linalg.pinv(x, rtol=rcond)


def jvp(fun, primals, tangents, has_aux=False):
    return torch.func.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)
