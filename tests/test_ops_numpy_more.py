"""The rest of keras.ops' numpy names: values against NumPy on random inputs, result dtypes
against real Keras 3 (on JAX), and gradients against finite differences of NumPy's function.

One table drives each check, so a new op is one line.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest
import scipy.special

os.environ.setdefault("KERAS_BACKEND", "jax")

import nhanh  # noqa: E402
from nhanh import ops  # noqa: E402
from tests.conftest import to_numpy  # noqa: E402

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4)).astype("float32")
B = rng.normal(size=(3, 4)).astype("float32")
U = rng.uniform(0.05, 0.95, size=(3, 4)).astype("float32")  # inside (0, 1)
G = (U + 1.5).astype("float32")  # above 1
C = rng.normal(size=(2, 3, 4)).astype("float32")
SQ = rng.normal(size=(4, 4)).astype("float32")
V = rng.normal(size=(5,)).astype("float32")
W = rng.normal(size=(3,)).astype("float32")
I = rng.integers(0, 7, size=(3, 4)).astype("int32")
J = rng.integers(1, 5, size=(3, 4)).astype("int32")
K = rng.integers(-8, 9, size=(3, 4)).astype("int32")
N = A.copy()
N[0, 1] = N[2, 3] = N[1, 0] = np.nan
Z = A.copy()
Z[0, :2] = 0.0
SPECIAL = np.array([-np.inf, -1.0, -0.0, 0.0, 2.0, np.inf, np.nan], "float32")
SORTED = np.sort(rng.normal(size=7)).astype("float32")
WEIGHTS = rng.uniform(0.1, 1.0, size=(4,)).astype("float32")

# (op, args, kwargs, numpy reference: None for numpy's function of the same name)
CASES = [
    ("arccos", (U,), {}, None), ("arcsin", (U,), {}, None), ("arctanh", (U,), {}, None),
    ("arccosh", (G,), {}, None), ("arcsinh", (A,), {}, None), ("cosh", (A,), {}, None),
    ("sinh", (A,), {}, None), ("exp2", (A,), {}, None), ("sinc", (A,), {}, None),
    ("i0", (A,), {}, None), ("cbrt", (A,), {}, None), ("deg2rad", (A,), {}, None),
    ("rad2deg", (A,), {}, None), ("fabs", (A,), {}, None), ("trunc", (A * 3,), {}, None),
    ("reciprocal", (G,), {}, None), ("signbit", (SPECIAL,), {}, None),
    ("isneginf", (SPECIAL,), {}, None), ("isposinf", (SPECIAL,), {}, None),
    ("isreal", (A,), {}, None), ("conj", (A,), {}, None), ("conjugate", (A,), {}, None),
    ("real", (A,), {}, None), ("imag", (A,), {}, None), ("angle", (A,), {}, None),
    ("erfc", (A,), {}, scipy.special.erfc), ("erfinv", (U * 2 - 1,), {}, scipy.special.erfinv),
    ("arctan2", (A, B), {}, None), ("hypot", (A, B), {}, None),
    ("logaddexp", (A, B), {}, None), ("logaddexp2", (A, B), {}, None),
    ("fmax", (N, B), {}, None), ("fmin", (N, B), {}, None), ("fmod", (K, J), {}, None),
    ("fmod", (A * 5, B), {}, None), ("heaviside", (Z, B), {}, None),
    ("nextafter", (A, B), {}, None), ("ldexp", (A, K), {}, None),
    ("divide_no_nan", (A, Z), {}, lambda a, b: np.where(b == 0, 0, a / np.where(b == 0, 1, b))),
    ("gcd", (K, J), {}, None), ("lcm", (K, J), {}, None), ("logical_xor", (A > 0, B > 0), {}, None),
    ("isclose", (A, A + 1e-6 * B), {}, None), ("allclose", (A, A + 1e-3), {}, None),
    ("bitwise_and", (K, I), {}, None), ("bitwise_or", (K, I), {}, None),
    ("bitwise_xor", (K, I), {}, None), ("bitwise_not", (K,), {}, np.invert),
    ("bitwise_invert", (K,), {}, np.invert), ("bitwise_left_shift", (K, J), {}, np.left_shift),
    ("bitwise_right_shift", (K, J), {}, np.right_shift), ("left_shift", (I, J), {}, None),
    ("right_shift", (K, J), {}, None),
    ("bartlett", (7,), {}, None), ("blackman", (7,), {}, None), ("hamming", (7,), {}, None),
    ("hanning", (7,), {}, None), ("kaiser", (7, 2.5), {}, None),
    ("amax", (C,), {"axis": (0, 2)}, None), ("amin", (C,), {"axis": 1, "keepdims": True}, None),
    ("ptp", (A,), {"axis": 1}, None), ("median", (C,), {"axis": (0, 2)}, None),
    ("median", (I,), {}, None), ("median", (C,), {"axis": 1, "keepdims": True}, None),
    ("quantile", (C, np.array([0.1, 0.5, 0.9], "float32")), {"axis": -1}, None),
    ("quantile", (A, 0.3), {"axis": 0, "method": "nearest", "keepdims": True}, None),
    ("quantile", (A, 0.3), {"method": "midpoint"}, None),
    ("quantile", (C, np.array([0.2, 0.7], "float32")), {"axis": 1, "keepdims": True}, None),
    ("quantile", (A, 0.3), {"axis": 1, "method": "lower"}, None),
    ("percentile", (C, 40.0), {"axis": (1, 2), "method": "higher", "keepdims": True}, None),
    ("nanmedian", (N,), {"axis": 1}, None), ("nanquantile", (N, 0.25), {"axis": 0}, None),
    ("nanpercentile", (N, 75.0), {}, None), ("nansum", (N,), {"axis": 1}, None),
    ("nanprod", (N,), {"axis": 0, "keepdims": True}, None), ("nanmean", (N,), {}, None),
    ("nanvar", (N,), {"axis": 1}, None), ("nanstd", (N,), {"axis": 0}, None),
    ("nanmax", (N,), {"axis": 1}, None), ("nanmin", (N,), {}, None),
    ("nanargmax", (N,), {"axis": 1}, None), ("nanargmin", (N,), {}, None),
    ("nancumsum", (N,), {"axis": 1}, None), ("nancumprod", (N,), {}, None),
    ("cumprod", (A,), {"axis": 0}, None), ("cumprod", (I,), {}, None),
    ("average", (A,), {"axis": 1, "weights": WEIGHTS}, None), ("average", (A,), {}, None),
    ("average", (A,), {"weights": U}, None), ("trace", (C,), {"offset": 1, "axis1": 1,
                                                              "axis2": 2}, None),
    ("trace", (I,), {}, None), ("corrcoef", (A,), {}, None),
    ("histogram", (A,), {"bins": 5}, None),
    ("histogram", (A,), {"bins": 4, "range": (-1.0, 1.0)}, None),
    ("bincount", (I.ravel(),), {"minlength": 9}, None),
    ("bincount", (I.ravel(),), {"weights": A.ravel()}, None),
    ("digitize", (A, SORTED), {}, None),
    ("searchsorted", (SORTED, A), {"side": "right"}, None),
    ("searchsorted", (SORTED, A), {}, None),
    ("array", (A,), {}, None), ("copy", (A,), {}, None), ("size", (C,), {}, None),
    ("identity", (3,), {}, None), ("tri", (3, 4, 1), {}, None), ("ravel", (C,), {}, None),
    ("append", (A, B), {}, None), ("append", (A, B), {"axis": 1}, None),
    ("hstack", ([A, B],), {}, None), ("hstack", ([V, W],), {}, None),
    ("vstack", ([A, B],), {}, None), ("dstack", ([A, B],), {}, None),
    ("array_split", (V, 3), {}, None), ("array_split", (C, [1, 3]), {"axis": 2}, None),
    ("hsplit", (A, 2), {}, None), ("vsplit", (A, [1]), {}, None), ("dsplit", (C, 2), {}, None),
    ("unstack", (C,), {"axis": 1}, lambda x, axis: list(np.moveaxis(x, axis, 0))),
    ("roll", (C, 2), {"axis": 2}, None), ("roll", (C, -3), {}, None),
    ("roll", (C, (1, 2)), {"axis": (0, 1)}, None),
    ("rot90", (C,), {"k": 3, "axes": (1, 2)}, None), ("fliplr", (A,), {}, None),
    ("flipud", (A,), {}, None), ("diff", (C,), {"n": 2, "axis": 1}, None),
    ("diff", (A,), {}, None), ("diagonal", (C,), {"offset": -1, "axis1": 1, "axis2": 2}, None),
    ("diagflat", (W,), {"k": 1}, None), ("meshgrid", (V, W), {}, None),
    ("meshgrid", (V, W), {"indexing": "ij"}, None),
    ("logspace", (0.0, 2.0, 5), {}, None), ("logspace", (0.0, 2.0, 4), {"endpoint": False,
                                                                      "base": 2}, None),
    ("geomspace", (1.0, 1000.0, 4), {}, None), ("vander", (W,), {}, None),
    ("vander", (W, 5), {"increasing": True}, None),
    ("cross", (C[..., :3], C[..., 1:]), {}, None), ("cross", (A[:, :2], B[:, :2]), {}, None),
    ("cross", (C[:, :3], C[:, 1:]), {"axis": 1}, None), ("inner", (A, B), {}, None),
    ("vdot", (A, B), {}, None), ("kron", (A[:2, :2], SQ), {}, None),
    ("correlate", (V, W), {}, None), ("correlate", (V, W), {"mode": "same"}, None),
    ("correlate", (V, W), {"mode": "full"}, None), ("correlate", (W, V), {"mode": "full"}, None),
    ("trapezoid", (A,), {}, None), ("trapezoid", (A,), {"x": SORTED[:4]}, None),
    ("trapezoid", (A,), {"dx": 0.5, "axis": 0}, None),
    ("isin", (I, J), {}, None), ("isin", (I, J), {"invert": True}, None),
    ("nonzero", (Z,), {}, None), ("unravel_index", (np.array([0, 5, 11], "int32"), (3, 4)), {},
                                  None),
    ("select", ([A > 0.5, A < -0.5], [A, B]), {"default": 7.0}, None),
    ("get_item", (C, (1, slice(None), 2)), {}, lambda x, key: x[key]),
]


def _engine(a):
    if isinstance(a, np.ndarray):
        return ops.convert_to_tensor(a)
    if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
        return [ops.convert_to_tensor(e) for e in a]
    return a


def _close(got, want, name):
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want), name
        for g, w in zip(got, want):
            _close(g, w, name)
        return
    got = to_numpy(got) if not isinstance(got, (int, float)) else np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{name}: shape {got.shape}, numpy {want.shape}"
    if want.dtype == bool or np.issubdtype(want.dtype, np.integer):
        np.testing.assert_array_equal(got, want, err_msg=name)
    else:
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5, err_msg=name)


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors")
@pytest.mark.parametrize("name,args,kwargs,reference", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_numpy(name, args, kwargs, reference):
    got = getattr(ops, name)(*[_engine(a) for a in args], **kwargs)
    want = (reference or getattr(np, name))(*args, **kwargs)
    _close(got, want, name)


def test_argpartition_partitions():
    x = rng.normal(size=(4, 9)).astype("float32")
    index = to_numpy(ops.argpartition(ops.convert_to_tensor(x), 3, axis=1))
    part = np.take_along_axis(x, index, axis=1)
    np.testing.assert_array_equal(np.sort(index, axis=1), np.tile(np.arange(9), (4, 1)))
    np.testing.assert_allclose(part[:, 3], np.sort(x, axis=1)[:, 3])
    assert (part[:, :3] <= part[:, 3:4]).all() and (part[:, 4:] >= part[:, 3:4]).all()


def test_bincount_of_rows_counts_each_row():
    x = np.array([[0, 1, 1, 3], [2, 2, 0, 0]], "int32")
    got = to_numpy(ops.bincount(ops.convert_to_tensor(x), minlength=5))
    np.testing.assert_array_equal(got, [np.bincount(r, minlength=5) for r in x])


def test_empty_vectorize_view_and_saturate_cast():
    assert ops.shape(ops.empty((2, 3))) == (2, 3) and ops.dtype(ops.empty((2,))) == "float32"
    assert ops.dtype(ops.empty_like(ops.convert_to_tensor(I), "float16")) == "float16"
    dist = ops.vectorize(lambda a, b: ops.sum(a * b), signature="(n),(n)->()")
    np.testing.assert_allclose(to_numpy(dist(ops.convert_to_tensor(C), ops.convert_to_tensor(V[:4]))),
                               C @ V[:4], rtol=1e-5)
    square = ops.vectorize(lambda a: a * a)
    np.testing.assert_allclose(to_numpy(square(ops.convert_to_tensor(A))), A * A, rtol=1e-6)
    bits = to_numpy(ops.view(ops.convert_to_tensor(A), "int32"))
    np.testing.assert_array_equal(bits, A.view("int32"))
    x = np.array([-1e10, -3.7, 0.0, 200.5, 1e10], "float32")
    np.testing.assert_array_equal(to_numpy(ops.saturate_cast(ops.convert_to_tensor(x), "uint8")),
                                  [0, 0, 0, 200, 255])
    big = to_numpy(ops.saturate_cast(ops.convert_to_tensor(x), "int32"))
    assert big[0] == np.iinfo("int32").min and big[-1] > 2**31 - 200 and big[2] == 0


# --- dtypes against Keras 3 ---------------------------------------------------------------

DTYPE_UNARY = ("arccos arcsinh cosh exp2 sinc cbrt deg2rad fabs trunc reciprocal signbit "
               "median nansum nanprod nanmean nanvar nanmax nanargmax nancumsum cumprod trace "
               "ptp average ravel diff roll").split()
DTYPE_BINARY = "arctan2 hypot logaddexp fmax fmod heaviside divide_no_nan gcd isclose " \
               "bitwise_and left_shift append inner vdot kron isin".split()
DTYPES = ("bool", "uint8", "int8", "int32", "float16", "float32")


def _sample(dtype):
    return ((np.arange(1, 10).reshape(3, 3) % 3) + 1).astype(dtype)


@functools.cache
def _keras_dtype(name, *dtypes):
    """The dtype Keras's JAX backend gives, found by tracing (jax.eval_shape), not running."""
    import jax
    import keras

    specs = [jax.ShapeDtypeStruct((3, 3), d) for d in dtypes]
    try:
        out = jax.eval_shape(getattr(keras.ops, name), *specs)
    except Exception:  # Keras refuses this dtype: nothing to compare
        return None
    return keras.backend.standardize_dtype(out.dtype)


def _dtype_cases():
    for name in DTYPE_UNARY:
        for d in DTYPES:
            yield name, (d,)
    for name in DTYPE_BINARY:
        for d1 in DTYPES:
            for d2 in ("bool", "int8", "int32", "float16"):
                if name in ("gcd", "bitwise_and", "left_shift") and "float" in d1 + d2:
                    continue
                yield name, (d1, d2)


def _nhanh_dtype(name, dtypes):
    """On JAX traced like Keras's (running each op eagerly compiles it: 20 s for the table)."""
    if nhanh.config.backend() == "jax":
        import jax

        out = jax.eval_shape(getattr(ops, name), *[jax.ShapeDtypeStruct((3, 3), d)
                                                   for d in dtypes])
        return nhanh.backend.standardize_dtype(out.dtype)
    return ops.dtype(getattr(ops, name)(*[ops.convert_to_tensor(_sample(d), d)
                                          for d in dtypes]))


def test_result_dtypes_match_keras():
    wrong = []
    for name, dtypes in _dtype_cases():
        want = _keras_dtype(name, *dtypes)
        if want is None:
            continue
        got = _nhanh_dtype(name, dtypes)
        if got != want:
            wrong.append(f"{name}{dtypes}: {got}, Keras {want}")
    assert not wrong, "\n".join(wrong)


# --- gradients against finite differences -----------------------------------------------------

# (op, numpy function of one float64 array, input) for ops with a gradient.
GRADIENTS = [
    ("arcsin", np.arcsin, U), ("arccos", np.arccos, U), ("arctanh", np.arctanh, U),
    ("arccosh", np.arccosh, G), ("arcsinh", np.arcsinh, A), ("cosh", np.cosh, A),
    ("sinh", np.sinh, A), ("exp2", np.exp2, A), ("cbrt", np.cbrt, G), ("sinc", np.sinc, A),
    ("reciprocal", np.reciprocal, G), ("erfinv", None, U - 0.5),
    ("logaddexp", lambda x: np.logaddexp(x, B), A), ("hypot", lambda x: np.hypot(x, B), A),
    ("arctan2", lambda x: np.arctan2(x, B), A),
    ("divide_no_nan", lambda x: np.where(Z == 0, 0, x / np.where(Z == 0, 1, Z)), A),
    ("median", lambda x: np.median(x, axis=1), A),
    ("quantile", lambda x: np.quantile(x, 0.3, axis=0), A),
    ("nanmean", lambda x: np.nanmean(np.where(np.isnan(N), np.nan, x), axis=1), A),
    ("nanstd", lambda x: np.nanstd(np.where(np.isnan(N), np.nan, x), axis=0), A),
    ("nansum", lambda x: np.nansum(np.where(np.isnan(N), np.nan, x), axis=0), A),
    ("cumprod", lambda x: np.cumprod(x, axis=1), A), ("ptp", lambda x: np.ptp(x, axis=1), A),
    ("amax", lambda x: np.amax(x, axis=0), A), ("trace", np.trace, SQ),
    ("diff", lambda x: np.diff(x, n=2), A), ("roll", lambda x: np.roll(x, 2) * A, A),
    ("average", lambda x: np.average(x, axis=1, weights=WEIGHTS), A),
    ("cross", lambda x: np.cross(x[:, :3], B[:, 1:]), A),
    ("kron", lambda x: np.kron(x, SQ[:2]), A[:2, :2]), ("vdot", lambda x: np.vdot(x, B), A),
    ("inner", lambda x: np.inner(x, B), A), ("correlate", lambda x: np.correlate(x, W), V),
    ("trapezoid", lambda x: np.trapezoid(x, axis=0), A), ("corrcoef", np.corrcoef, A),
]


def _nhanh_fn(name, x):
    t = ops.convert_to_tensor
    b, z, nan = t(B), t(Z), t(np.isnan(N))
    ops_args = {
        "logaddexp": lambda: ops.logaddexp(x, b), "hypot": lambda: ops.hypot(x, b),
        "arctan2": lambda: ops.arctan2(x, b), "divide_no_nan": lambda: ops.divide_no_nan(x, z),
        "median": lambda: ops.median(x, axis=1), "quantile": lambda: ops.quantile(x, 0.3, axis=0),
        "nanmean": lambda: ops.nanmean(ops.where(nan, np.nan, x), axis=1),
        "nanstd": lambda: ops.nanstd(ops.where(nan, np.nan, x), axis=0),
        "nansum": lambda: ops.nansum(ops.where(nan, np.nan, x), axis=0),
        "cumprod": lambda: ops.cumprod(x, axis=1), "ptp": lambda: ops.ptp(x, axis=1),
        "amax": lambda: ops.amax(x, axis=0), "diff": lambda: ops.diff(x, n=2),
        "roll": lambda: ops.multiply(ops.roll(x, 2), t(A)),
        "average": lambda: ops.average(x, axis=1, weights=t(WEIGHTS)),
        "cross": lambda: ops.cross(x[:, :3], b[:, 1:]), "kron": lambda: ops.kron(x, t(SQ[:2])),
        "vdot": lambda: ops.vdot(x, b), "inner": lambda: ops.inner(x, b),
        "correlate": lambda: ops.correlate(x, t(W)),
        "trapezoid": lambda: ops.trapezoid(x, axis=0),
    }
    return ops_args[name]() if name in ops_args else getattr(ops, name)(x)


def test_gradients_match_finite_differences():
    engine = nhanh.backend.get()
    wrong = []
    for name, np_fn, x0 in GRADIENTS:
        np_fn = np_fn or scipy.special.erfinv
        probe = np.random.default_rng(1).normal(size=np.shape(np_fn(x0.astype("float64"))))

        def loss(params):
            return ops.sum(_nhanh_fn(name, params[0]) * ops.convert_to_tensor(probe, "float32"))

        _, (grad,) = engine.value_and_grad(loss)([ops.convert_to_tensor(x0)])
        x = x0.astype("float64")
        fd = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            step = np.zeros_like(x)
            step[i] = 1e-6
            fd[i] = ((np_fn(x + step) * probe).sum() - (np_fn(x - step) * probe).sum()) / 2e-6
        if not np.allclose(to_numpy(grad), fd, rtol=1e-3, atol=1e-3):
            wrong.append(f"{name}: {to_numpy(grad).ravel()[:4]} vs {fd.ravel()[:4]}")
    assert not wrong, "\n".join(wrong)
