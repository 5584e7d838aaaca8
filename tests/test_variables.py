"""Variables behave like Keras 3's: Python's number protocol, arithmetic, comparisons and NumPy
conversion give what keras.Variable gives on the same engine; scopes are per thread."""

import os
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest

import nhanh
from nhanh.variables import StatelessScope, Variable, current_scope, in_stateless_scope

# Every expression is evaluated on Keras's Variables and on nhanh's, with the names of VALUES.
EXPRESSIONS = [
    "v + 2", "2 + v", "v - v2", "5 - v", "v * 1.5", "3 * v", "v / 2", "6 / v", "v // 2",
    "7 // v", "v % 2", "7 % v", "v ** 2", "2 ** v", "m @ v", "v @ m", "v + v2",
    "v + np.ones(3, 'float32')", "np.ones(3, 'float32') + v",
    "i + 1", "i * 2", "i // 2", "i % 4", "i / 2", "-i", "abs(i)",
    "v == v2", "v != v2", "v == 2", "v < 2", "v <= 2", "v > v2", "v >= 2", "2 < v", "2 >= v",
    "-v", "+v", "abs(-v)", "~i", "~b", "b & True", "True & b", "b | bb", "False | b",
    "b ^ bb", "True ^ b", "round(v * 1.3)",
    "int(s)", "float(s)", "int(i0)", "float(i0)", "v[1]", "m[1:, 0]",
    "np.asarray(v)", "np.asarray(v, dtype='int32')", "np.asarray(s)", "np.asarray(i)",
    "np.array(m, copy=True)",
    "bool(s)", "int(v)", "float(m)",  # errors, in both
]

VALUES = dict(
    v=(np.array([1.0, 2.0, 3.0], "float32"), "float32"),
    v2=(np.array([3.0, 2.0, 1.0], "float32"), "float32"),
    s=(np.array(3.5, "float32"), "float32"),
    m=(np.arange(9, dtype="float32").reshape(3, 3), "float32"),
    i=(np.array([5, -3, 7], "int32"), "int32"),
    i0=(np.array(4, "int32"), "int32"),
    b=(np.array([True, False]), "bool"),
    bb=(np.array([True, True]), "bool"),
)


def evaluate(make_variable, to_numpy) -> dict:
    """{expression: ('value', ndarray or Python number) or ('error', exception class name)}."""
    env = {name: make_variable(value, dtype) for name, (value, dtype) in VALUES.items()}
    env["np"] = np
    results = {}
    for expression in EXPRESSIONS:
        try:
            out = eval(expression, env)
        except Exception as e:  # noqa: BLE001 -- the exception's class is the result
            results[expression] = ("error", type(e).__name__)
        else:
            results[expression] = ("value", out if isinstance(out, (int, float))
                                   else np.asarray(to_numpy(out)))
    return results


_KERAS_SIDE = """
import os, pickle, sys
os.environ["KERAS_BACKEND"] = sys.argv[1]
sys.path.insert(0, sys.argv[2])
import keras, test_variables as t
make = lambda value, dtype: keras.Variable(value, dtype=dtype, trainable=dtype == "float32")
sys.stdout.buffer.write(pickle.dumps(t.evaluate(make, keras.ops.convert_to_numpy)))
"""
_keras_results: dict = {}
_nhanh_results: dict = {}


def keras_results(engine: str) -> dict:
    """Keras's answers on `engine`, computed in a fresh process (Keras picks its engine once
    per process, at import)."""
    if engine not in _keras_results:
        env = {**os.environ, "KERAS_BACKEND": engine}
        out = subprocess.run([sys.executable, "-c", _KERAS_SIDE, engine, os.path.dirname(__file__)],
                             env=env, capture_output=True, check=True, timeout=300)
        _keras_results[engine] = pickle.loads(out.stdout)
    return _keras_results[engine]


def nhanh_variable(value, dtype):
    return Variable(value, shape=np.shape(value), dtype=dtype, trainable=dtype == "float32")


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_variable_operations_match_keras(backend, expression):
    keras_kind, keras_out = keras_results(backend)[expression]
    if backend not in _nhanh_results:
        _nhanh_results[backend] = evaluate(nhanh_variable, nhanh.ops.convert_to_numpy)
    kind, out = _nhanh_results[backend][expression]
    assert kind == keras_kind, (expression, keras_out, out)
    if kind == "error":
        assert out == keras_out
        return
    assert type(out) is type(keras_out)
    assert np.shape(out) == np.shape(keras_out)
    assert np.asarray(out).dtype == np.asarray(keras_out).dtype, expression
    np.testing.assert_allclose(out, keras_out, rtol=1e-6)


def test_arithmetic_gives_engine_arrays_and_sees_the_stateless_scope():
    v = Variable(np.array([1.0, 2.0], "float32"), shape=(2,))
    for out in (v + 1, 1 - v, v * v, v // 1, v % 3, v == v, v < 2, -v, abs(v), +v):
        assert nhanh.ops.is_tensor(out)
    with StatelessScope({v: nhanh.ops.convert_to_tensor([10.0, 20.0])}):
        np.testing.assert_allclose(nhanh.ops.convert_to_numpy(v * 2), [20.0, 40.0])
        assert float(v[1]) == 20.0
        np.testing.assert_allclose(np.asarray(v), [10.0, 20.0])
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(v * 2), [2.0, 4.0])


def test_int_and_float_of_optimizer_iterations_and_learning_rate():
    optimizer = nhanh.optimizers.SGD(learning_rate=0.25)
    w = Variable(np.ones(2, "float32"), shape=(2,))
    assert int(optimizer.iterations) == 0
    optimizer.apply([nhanh.ops.convert_to_tensor(np.ones(2, "float32"))], [w])
    optimizer.apply([nhanh.ops.convert_to_tensor(np.ones(2, "float32"))], [w])
    assert int(optimizer.iterations) == 2 and type(int(optimizer.iterations)) is int
    assert float(w[0]) == pytest.approx(0.5) and type(float(w[0])) is float
    with pytest.raises(TypeError, match=r"needs a scalar.*shape \(2,\)"):
        float(w)


def test_len_and_iteration_follow_numpy():
    """Keras 3's Variables have no len(), and iterating one on JAX never ends (out-of-range
    indices clamp); nhanh's behave as a NumPy array of the value does."""
    m = np.arange(6, dtype="float32").reshape(3, 2)
    v = Variable(m, shape=(3, 2))
    assert len(v) == 3
    rows = list(v)
    assert len(rows) == 3
    for row, expected in zip(rows, m):
        np.testing.assert_array_equal(nhanh.ops.convert_to_numpy(row), expected)
    scalar = Variable(np.float32(1.0), shape=())
    with pytest.raises(TypeError, match="scalar"):
        len(scalar)
    with pytest.raises(TypeError, match="scalar"):
        iter(scalar)


def test_asarray_copies_and_refuses_a_view():
    v = Variable(np.array([1.0, 2.0], "float32"), shape=(2,))
    a = np.asarray(v)
    a_copy = np.array(v, copy=True)
    a_copy[0] = 99.0  # a copy: the Variable is untouched
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(a, [1.0, 2.0])
    with pytest.raises(ValueError, match="copy=False"):
        np.asarray(v, copy=False)


def test_variables_key_dicts_and_sets_by_identity():
    """`==` is elementwise (as in Keras), yet Variables stay usable as dict keys, even two with
    equal values."""
    a = Variable(np.zeros(3, "float32"), shape=(3,))
    b = Variable(np.zeros(3, "float32"), shape=(3,))
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
    assert len({a, b, a}) == 2
    np.testing.assert_array_equal(nhanh.ops.convert_to_numpy(a == b), [True, True, True])
    with StatelessScope({a: nhanh.ops.ones((3,)), b: nhanh.ops.full((3,), 2.0)}):
        np.testing.assert_allclose(a.numpy(), 1.0)
        np.testing.assert_allclose(b.numpy(), 2.0)


def test_stateless_scope_is_per_thread():
    """One thread inside a scope; another reads the real value meanwhile, sees no scope, may
    create Variables, and its assignment goes to the Variable, not to the first thread's scope.
    """
    v = Variable(np.array([1.0, 2.0], "float32"), shape=(2,))
    entered, read_done = threading.Event(), threading.Event()
    seen = {}

    def inside_scope():
        with StatelessScope({v: nhanh.ops.full((2,), 7.0)}) as scope:
            entered.set()
            assert read_done.wait(30)
            seen["inside"] = v.numpy()
            seen["assigned"] = list(scope.assigned)

    def other_thread():
        assert entered.wait(30)
        seen["other"] = v.numpy()
        seen["other_in_scope"] = in_stateless_scope() or current_scope() is not None
        seen["created"] = Variable(np.zeros(1, "float32"), shape=(1,)).shape
        v.assign(np.array([3.0, 4.0], "float32"))
        read_done.set()

    threads = [threading.Thread(target=inside_scope), threading.Thread(target=other_thread)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    np.testing.assert_array_equal(seen["other"], [1.0, 2.0])
    assert seen["other_in_scope"] is False
    assert seen["created"] == (1,)
    np.testing.assert_array_equal(seen["inside"], [7.0, 7.0])
    assert seen["assigned"] == []
    np.testing.assert_array_equal(v.numpy(), [3.0, 4.0])

