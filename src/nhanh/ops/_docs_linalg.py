"""Documentation stubs of the linalg ops (see _docs.py: never called).

Matrices are the last two axes of a tensor; leading axes are a batch. Complex results (eig)
come as complex tensors; factorisations return tuples.
"""



def cholesky(x, upper=False):
    """The Cholesky factor of symmetric positive-definite matrices: x = L L^T.

    Args:
        x: Tensor of shape (..., N, N), symmetric positive definite.
        upper: Bool; return the upper factor U (x = U^T U) instead of the lower L.

    Returns:
        A tensor of `x`'s shape, triangular. Raises ValueError when `x` is not positive
        definite (in eager calls; traced JAX calls give NaN).
    """


def cholesky_inverse(x, upper=False):
    """The inverse of a matrix given by its Cholesky factor (cheaper than inverting it).

    Args:
        x: Tensor of shape (..., N, N), the factor L (or U when `upper`) of a matrix A.
        upper: Bool; `x` is the upper factor U with A = U^T U.

    Returns:
        A^-1, a tensor of `x`'s shape.
    """


def det(x):
    """The determinant of square matrices.

    Args:
        x: Tensor of shape (..., N, N).

    Returns:
        A tensor of shape (...).
    """


def slogdet(x):
    """Sign and log of the absolute determinant: stable where `det` over- or underflows.

    Args:
        x: Tensor of shape (..., N, N).

    Returns:
        A tuple `(sign, logabsdet)` of tensors of shape (...).
    """


def logdet(x):
    """log |det(x)| (Keras's JAX meaning; for the positive-definite matrices it is meant for,
    the log of the determinant).

    Args:
        x: Tensor of shape (..., N, N).

    Returns:
        A tensor of shape (...).
    """


def eig(x):
    """Eigenvalues and eigenvectors of general square matrices (CPU only on JAX).

    Args:
        x: Tensor of shape (..., N, N).

    Returns:
        A tuple (w, v) of complex tensors: w of shape (..., N), v of shape (..., N, N) whose
        column v[..., :, i] is the eigenvector of w[..., i].
    """


def eigh(x):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices.

    Args:
        x: Tensor of shape (..., N, N), symmetric (or Hermitian).

    Returns:
        A tuple (w, v): w of shape (..., N), v of shape (..., N, N) with eigenvectors in columns.
    """


def inv(x):
    """The inverse of square matrices.

    Args:
        x: Tensor of shape (..., N, N), invertible.

    Returns:
        A tensor of `x`'s shape. Prefer `solve(x, b)` to `inv(x) @ b`: it is faster and more
        accurate.
    """


def lu_factor(x):
    """The LU factorisation with partial pivoting, packed as LAPACK (and scipy) pack it.

    Args:
        x: Tensor of shape (..., M, N).

    Returns:
        A tuple (lu, pivots): lu holds L (unit diagonal, below) and U (on and above the
        diagonal); pivots (int32, shape (..., min(M, N))) are 0-based: row i was swapped with
        row pivots[i].
    """


def qr(x, mode="reduced"):
    """The QR decomposition x = Q R, Q with orthonormal columns and R upper triangular.

    Args:
        x: Tensor of shape (..., M, N).
        mode: `"reduced"` (Q is (..., M, K), R is (..., K, N), K = min(M, N)) or
            `"complete"` (Q is (..., M, M), R is (..., M, N)).

    Returns:
        A tuple (q, r).
    """


def solve(a, b):
    """x such that a @ x = b, for square invertible `a`.

    Args:
        a: Tensor of shape (..., N, N).
        b: Tensor of shape (..., N, K), or (..., N) (one rank below `a`) for vectors.

    Returns:
        A tensor of `b`'s shape.
    """


def solve_triangular(a, b, lower=False):
    """x such that a @ x = b, reading only one triangle of `a` (the other is ignored).

    Args:
        a: Tensor of shape (..., N, N).
        b: Tensor of shape (..., N, K), or (..., N) (one rank below `a`) for vectors.
        lower: Bool; use the lower triangle of `a` (default: the upper one).

    Returns:
        A tensor of `b`'s shape.
    """


def svd(x, full_matrices=True, compute_uv=True):
    """The singular value decomposition x = U diag(s) Vh, s descending.

    Args:
        x: Tensor of shape (..., M, N).
        full_matrices: Bool; U is (..., M, M) and Vh (..., N, N), else (..., M, K) and
            (..., K, N) with K = min(M, N).
        compute_uv: Bool; when False only `s` is computed and returned.

    Returns:
        A tuple (u, s, vh), or `s` alone (shape (..., K)) when `compute_uv` is False.
    """


def lstsq(a, b, rcond=None):
    """The least-squares solution x minimising ||a @ x - b|| (the smallest such x when `a` is
    rank deficient), as numpy.linalg.lstsq's first result.

    Args:
        a: Matrix of shape (M, N).
        b: Tensor of shape (M,) or (M, K).
        rcond: Float; singular values below `rcond` times the largest count as zero.
            `None`: machine epsilon times max(M, N).

    Returns:
        A tensor of shape (N,) or (N, K).
    """


def matrix_rank(x, tol=None):
    """The number of singular values above a threshold, per matrix.

    Args:
        x: Tensor of shape (..., M, N).
        tol: Float, the absolute threshold (numpy's `tol`). `None`: the largest singular
            value times max(M, N) times machine epsilon.

    Returns:
        An int32 tensor of shape (...).
    """


def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse, through the SVD.

    Args:
        x: Tensor of shape (..., M, N).
        rcond: Float; singular values up to `rcond` times the largest are treated as zero.
            `None`: the engine's default, machine epsilon times max(M, N).

    Returns:
        A tensor of shape (..., N, M).
    """


def jvp(fun, primals, tangents, has_aux=False):
    """The forward-mode derivative of `fun` at `primals` in the direction `tangents`.

    Args:
        fun: Function of tensors (or nested structures of them) returning tensors.
        primals: Tuple or list of `fun`'s positional arguments.
        tangents: Tuple or list of directions, one per primal, of the same shapes.
        has_aux: Bool; `fun` returns (output, aux) and aux is passed through undifferentiated.

    Returns:
        (fun(*primals), the directional derivative), plus aux when `has_aux`.
    """
