"""keras.ops' linear algebra and Fourier transforms, on each engine.

Values are checked against NumPy / SciPy on random inputs, stft and istft against real Keras 3
(its JAX backend), and the gradients of det, inv, solve and cholesky against central finite
differences of NumPy's float64 functions.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.linalg

import nhanh
from nhanh import ops
from nhanh.ops import linalg as ops_linalg


def to_numpy(x):
    return ops.convert_to_numpy(x)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _spd(rng, n, batch=()):
    b = rng.normal(size=(*batch, n, n))
    return (b @ np.swapaxes(b, -1, -2) + n * np.eye(n)).astype("float32")


# --- linear algebra: values ---------------------------------------------------------------


def test_det_inv_solve_match_numpy():
    rng = _rng()
    a = (rng.normal(size=(3, 4, 4)) + 3 * np.eye(4)).astype("float32")
    b = rng.normal(size=(3, 4, 2)).astype("float32")
    v = rng.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(to_numpy(ops.det(a)), np.linalg.det(a), rtol=1e-4)
    flipped = a.copy()
    flipped[0, [0, 1]] = flipped[0, [1, 0]]  # two rows swapped: a negative determinant
    sign, logabs = ops.slogdet(flipped)
    assert np.linalg.det(flipped[0]) < 0
    np.testing.assert_allclose(to_numpy(sign), np.linalg.slogdet(flipped)[0])
    np.testing.assert_allclose(to_numpy(logabs), np.linalg.slogdet(flipped)[1], rtol=1e-5)
    np.testing.assert_allclose(to_numpy(ops.logdet(flipped)), np.linalg.slogdet(flipped)[1],
                               rtol=1e-5)
    np.testing.assert_allclose(to_numpy(ops.inv(a)), np.linalg.inv(a), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(to_numpy(ops.solve(a, b)), np.linalg.solve(a, b),
                               rtol=1e-4, atol=1e-5)
    vector = to_numpy(ops.solve(a, v))  # b one rank below a: vectors, as in numpy
    assert vector.shape == (3, 4)
    np.testing.assert_allclose(vector, np.linalg.solve(a, v[..., None])[..., 0],
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("lower", [True, False])
def test_solve_triangular_matches_scipy(lower):
    rng = _rng(1)
    a = (rng.normal(size=(5, 5)) + 4 * np.eye(5)).astype("float32")
    b = rng.normal(size=(5, 3)).astype("float32")
    expected = scipy.linalg.solve_triangular(a, b, lower=lower)  # reads one triangle only
    np.testing.assert_allclose(to_numpy(ops.solve_triangular(a, b, lower=lower)), expected,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(to_numpy(ops.solve_triangular(a, b[:, 0], lower=lower)),
                               expected[:, 0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_and_its_inverse(upper):
    a = _spd(_rng(2), 4, batch=(2,))
    lower = np.linalg.cholesky(a.astype("float64"))
    factor = to_numpy(ops.cholesky(a, upper=upper))
    expected = np.swapaxes(lower, -1, -2) if upper else lower
    np.testing.assert_allclose(factor, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(to_numpy(ops.cholesky_inverse(factor, upper=upper)),
                               np.linalg.inv(a.astype("float64")), rtol=1e-3, atol=1e-5)


def test_cholesky_of_an_indefinite_matrix_raises():
    with pytest.raises(ValueError, match="positive definite"):
        ops.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]], "float32"))


def test_eigh_and_eig_match_numpy():
    a = _spd(_rng(3), 5)
    w, v = (to_numpy(t) for t in ops.eigh(a))
    np.testing.assert_allclose(w, np.linalg.eigvalsh(a), rtol=1e-4)
    np.testing.assert_allclose(v @ np.diag(w) @ v.T, a, rtol=1e-4, atol=1e-3)
    g = _rng(4).normal(size=(4, 4)).astype("float32")
    w, v = (to_numpy(t) for t in ops.eig(g))
    np.testing.assert_allclose(np.sort_complex(w), np.sort_complex(np.linalg.eigvals(g)),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(g @ v, v * w, atol=1e-4)  # each column is an eigenvector


@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr_matches_numpy(mode):
    x = _rng(5).normal(size=(2, 6, 4)).astype("float32")
    q, r = (to_numpy(t) for t in ops.qr(x, mode=mode))
    q_np, r_np = np.linalg.qr(x, mode=mode)
    assert q.shape == q_np.shape and r.shape == r_np.shape
    np.testing.assert_allclose(q @ r, x, atol=1e-5)
    np.testing.assert_allclose(np.abs(r), np.abs(r_np), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="mode"):
        ops.qr(x, mode="r")


def test_svd_matches_numpy():
    x = _rng(6).normal(size=(3, 5, 4)).astype("float32")
    u, s, vh = (to_numpy(t) for t in ops.svd(x))
    assert u.shape == (3, 5, 5) and vh.shape == (3, 4, 4)
    np.testing.assert_allclose(s, np.linalg.svd(x, compute_uv=False), rtol=1e-4)
    u, s, vh = (to_numpy(t) for t in ops.svd(x, full_matrices=False))
    np.testing.assert_allclose((u * s[..., None, :]) @ vh, x, atol=1e-5)
    np.testing.assert_allclose(to_numpy(ops.svd(x, compute_uv=False)),
                               np.linalg.svd(x, compute_uv=False), rtol=1e-4)


def test_lu_factor_matches_scipy():
    x = _rng(7).normal(size=(2, 5, 5)).astype("float32")
    lu, pivots = ops.lu_factor(x)
    assert ops.dtype(pivots) == "int32"
    for i in range(2):
        lu_sp, piv_sp = scipy.linalg.lu_factor(x[i])  # 0-based row swaps
        np.testing.assert_array_equal(to_numpy(pivots)[i], piv_sp)
        np.testing.assert_allclose(to_numpy(lu)[i], lu_sp, rtol=1e-4, atol=1e-5)


def test_lstsq_pinv_matrix_rank_match_numpy():
    rng = _rng(8)
    a = rng.normal(size=(6, 3)).astype("float32")
    b = rng.normal(size=(6, 2)).astype("float32")
    np.testing.assert_allclose(to_numpy(ops.lstsq(a, b)), np.linalg.lstsq(a, b)[0],
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(to_numpy(ops.lstsq(a, b[:, 0])), np.linalg.lstsq(a, b[:, 0])[0],
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(to_numpy(ops.pinv(a)), np.linalg.pinv(a), rtol=1e-4, atol=1e-5)
    repeated = a[:, [0, 1, 0]]  # rank 2: the default cutoff must give the minimum-norm solution
    np.testing.assert_allclose(to_numpy(ops.lstsq(repeated, b)),
                               np.linalg.lstsq(repeated.astype("float64"), b)[0],
                               rtol=1e-3, atol=1e-4)
    deficient = (rng.normal(size=(5, 2)) @ rng.normal(size=(2, 4))).astype("float32")
    rank = ops.matrix_rank(deficient)
    assert ops.dtype(rank) == "int32" and int(to_numpy(rank)) == 2
    np.testing.assert_allclose(to_numpy(ops.pinv(deficient, rcond=1e-4)),  # relative cutoff
                               np.linalg.pinv(deficient.astype("float64"), rcond=1e-4),
                               rtol=1e-3, atol=1e-4)
    s = np.linalg.svd(deficient, compute_uv=False)
    tol = float(s[1] * 1.01)  # numpy's tol: absolute, so it drops the second value too
    assert int(to_numpy(ops.matrix_rank(deficient, tol=tol))) == \
        np.linalg.matrix_rank(deficient, tol=tol) == 1


def test_jvp_is_the_directional_derivative():
    x = np.array([0.3, -1.2, 2.0], "float32")
    t = np.array([1.0, 0.5, -2.0], "float32")
    out, tangent = ops.jvp(lambda v: ops.sin(v) * v, (ops.convert_to_tensor(x),),
                           (ops.convert_to_tensor(t),))
    np.testing.assert_allclose(to_numpy(out), np.sin(x) * x, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(tangent), (np.cos(x) * x + np.sin(x)) * t, rtol=1e-5)
    out, tangent, aux = ops.jvp(lambda v: (ops.square(v), ops.sum(v)),
                                [ops.convert_to_tensor(x)], [ops.convert_to_tensor(t)],
                                has_aux=True)
    np.testing.assert_allclose(to_numpy(tangent), 2 * x * t, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(aux), x.sum(), rtol=1e-6)


def test_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match="square"):
        ops.det(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="rank >= 2"):
        ops.inv(np.ones(3, "float32"))
    with pytest.raises(ValueError, match="`b` does not fit"):
        ops.solve(np.eye(3, dtype="float32"), np.ones((2, 1), "float32"))


def test_keras_ops_linalg_lists_them():
    for name in ("cholesky", "det", "inv", "solve", "svd", "qr", "lu_factor", "jvp"):
        assert getattr(ops_linalg, name) is getattr(ops, name)


# --- linear algebra: gradients against finite differences -----------------------------------


def _fd(f, x, eps=1e-6):
    """Central differences of the float64 scalar function f at x."""
    x = x.astype("float64")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def _grad(fn, *xs):
    """The engine's gradient of fn(x, *rest) with respect to the first array."""
    value_and_grad = nhanh.backend.get().value_and_grad(
        lambda params: fn(params[0], *[ops.convert_to_tensor(x) for x in xs[1:]]))
    _, (grad,) = value_and_grad([ops.convert_to_tensor(xs[0])])
    return to_numpy(grad).astype("float64")


def test_gradients_match_finite_differences():
    rng = _rng(9)
    a = (rng.normal(size=(3, 3)) + 2 * np.eye(3)).astype("float32")
    w = rng.normal(size=(3, 3)).astype("float32")
    b = rng.normal(size=(3, 2)).astype("float32")
    wb = rng.normal(size=(3, 2)).astype("float32")
    cases = [
        (lambda x: ops.det(x), lambda x: np.linalg.det(x), (a,)),
        (lambda x: ops.logdet(x), lambda x: np.linalg.slogdet(x)[1], (a,)),
        (lambda x, w: ops.sum(ops.inv(x) * w), lambda x: np.sum(np.linalg.inv(x) * w), (a, w)),
        (lambda x, b, w: ops.sum(ops.solve(x, b) * w),
         lambda x: np.sum(np.linalg.solve(x, b) * wb), (a, b, wb)),
        (lambda y, a, w: ops.sum(ops.solve(a, y) * w),  # with respect to b
         lambda y: np.sum(np.linalg.solve(a, y) * wb), (b, a, wb)),
    ]
    for ours, reference, args in cases:
        np.testing.assert_allclose(_grad(ours, *args), _fd(reference, args[0]),
                                   rtol=2e-3, atol=2e-4)


def test_cholesky_gradient_matches_finite_differences():
    # Through A = B B^T + 3 I, so every perturbation keeps A symmetric: the gradient is then
    # well defined, whichever triangle an engine reads.
    rng = _rng(10)
    b = rng.normal(size=(3, 3)).astype("float32")
    w = rng.normal(size=(3, 3)).astype("float32")

    def ours(x, w):
        a = ops.add(ops.matmul(x, ops.transpose(x)), ops.multiply(3.0, ops.eye(3)))
        return ops.sum(ops.cholesky(a) * w)

    def reference(x):
        return np.sum(np.linalg.cholesky(x @ x.T + 3 * np.eye(3)) * w)

    np.testing.assert_allclose(_grad(ours, b, w), _fd(reference, b), rtol=2e-3, atol=2e-4)


# --- Fourier transforms ---------------------------------------------------------------------


def _complex_input(rng, shape):
    return rng.normal(size=shape).astype("float32"), rng.normal(size=shape).astype("float32")


def _check_pair(pair, expected, tol=1e-4):
    real, imag = (to_numpy(p) for p in pair)
    np.testing.assert_allclose(real, expected.real, rtol=tol, atol=tol)
    np.testing.assert_allclose(imag, expected.imag, rtol=tol, atol=tol)


def test_fft_fft2_ifft2_match_numpy():
    re, im = _complex_input(_rng(11), (2, 4, 8))
    z = re + 1j * im
    _check_pair(ops.fft((re, im)), np.fft.fft(z))
    _check_pair(ops.fft2((re, im)), np.fft.fft2(z))
    _check_pair(ops.ifft2((re, im)), np.fft.ifft2(z))


@pytest.mark.parametrize("fft_length", [None, 6, 16])
def test_rfft_and_irfft_match_numpy(fft_length):
    x = _rng(12).normal(size=(3, 10)).astype("float32")
    spectrum = np.fft.rfft(x, n=fft_length)
    _check_pair(ops.rfft(x, fft_length=fft_length), spectrum)
    parts = (spectrum.real.astype("float32"), spectrum.imag.astype("float32"))
    np.testing.assert_allclose(to_numpy(ops.irfft(parts, fft_length=fft_length)),
                               np.fft.irfft(spectrum, n=fft_length), rtol=1e-4, atol=1e-5)


def test_fft_rejects_a_lone_tensor():
    with pytest.raises(ValueError, match=r"\(real, imag\) pair"):
        ops.fft(np.ones(4, "float32"))
    with pytest.raises(ValueError, match="one shape"):
        ops.fft((np.ones(4, "float32"), np.ones(3, "float32")))


def _numpy_stft(x, sequence_length, sequence_stride, fft_length, window, center):
    """Frames, window and real FFT in plain NumPy (periodic Hann)."""
    if center:
        x = np.pad(x, [(0, 0), (fft_length // 2, fft_length // 2)], mode="reflect")
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(sequence_length) / sequence_length)
    left = (fft_length - sequence_length) // 2
    win = np.pad(win, (left, fft_length - sequence_length - left)) if window else \
        np.ones(fft_length)
    count = (x.shape[-1] - fft_length) // sequence_stride + 1
    frames = np.stack([x[:, i * sequence_stride:i * sequence_stride + fft_length]
                       for i in range(count)], axis=1)
    return np.fft.rfft(frames * win, axis=-1)


STFT_CASES = [
    dict(sequence_length=16, sequence_stride=4, fft_length=16),
    dict(sequence_length=10, sequence_stride=3, fft_length=16),
    dict(sequence_length=12, sequence_stride=4, fft_length=16, center=False),
    dict(sequence_length=16, sequence_stride=8, fft_length=16, window=None),
]


@pytest.mark.parametrize("kwargs", STFT_CASES)
def test_stft_matches_numpy_and_keras(kwargs):
    x = _rng(13).normal(size=(2, 64)).astype("float32")
    spectrum = _numpy_stft(x, kwargs["sequence_length"], kwargs["sequence_stride"],
                           kwargs["fft_length"], kwargs.get("window", "hann"),
                           kwargs.get("center", True))
    ours = ops.stft(x, **kwargs)
    _check_pair(ours, spectrum)
    keras = _keras_jax()
    _check_pair(ours, _keras_complex(keras, keras.ops.stft(x, **kwargs)))


@pytest.mark.parametrize("kwargs", STFT_CASES + [
    dict(sequence_length=16, sequence_stride=4, fft_length=16, window="hamming", length=40)])
def test_istft_matches_keras_and_inverts_stft(kwargs):
    x = _rng(14).normal(size=(2, 64)).astype("float32")
    analysis = {k: v for k, v in kwargs.items() if k != "length"}
    spectrum = ops.stft(x, **analysis)
    signal = to_numpy(ops.istft(spectrum, **kwargs))
    keras = _keras_jax()
    expected = keras.ops.convert_to_numpy(keras.ops.istft(
        tuple(to_numpy(part) for part in spectrum), **kwargs))
    assert signal.shape == expected.shape
    np.testing.assert_allclose(signal, expected, rtol=1e-4, atol=1e-4)
    if kwargs.get("center", True) and kwargs.get("window", "hann") is not None:
        np.testing.assert_allclose(signal, x[:, :signal.shape[-1]], atol=1e-4)


def _keras_jax():
    """Real Keras 3 on its JAX backend (the reference; its PyTorch backend's istft
    normalises the edges differently)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("real Keras was imported on another backend in this process")
    return keras


def _keras_complex(keras, pair):
    real, imag = (keras.ops.convert_to_numpy(p) for p in pair)
    return real + 1j * imag


def test_stft_argument_errors():
    x = np.zeros((1, 32), "float32")
    with pytest.raises(ValueError, match="hann"):
        ops.stft(x, 8, 4, 8, window="kaiser")
    with pytest.raises(ValueError, match="fft_length"):
        ops.stft(x, 16, 4, 8)
    with pytest.raises(TypeError, match="float32 or float64"):
        ops.stft(np.zeros((1, 32), "int32"), 8, 4, 8)
    spectrum = (np.zeros((3, 5), "float32"), np.zeros((3, 5), "float32"))
    with pytest.raises(ValueError, match=r"fft_length // 2 \+ 1\) = \(..., frames, 9\)"):
        ops.istft(spectrum, 16, 4, 16)  # 5 bins come from fft_length 8


def test_view_as_complex_view_as_real_polar():
    x = _rng(15).normal(size=(3, 2)).astype("float32")
    z = ops.view_as_complex(x)
    assert ops.dtype(z) == "complex64"
    np.testing.assert_allclose(to_numpy(z), x[:, 0] + 1j * x[:, 1])
    np.testing.assert_allclose(to_numpy(ops.view_as_real(z)), x)
    r, theta = np.abs(x[:, 0]), x[:, 1]
    np.testing.assert_allclose(to_numpy(ops.polar(r, theta)), r * np.exp(1j * theta),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="size 2"):
        ops.view_as_complex(np.ones((3, 3), "float32"))
