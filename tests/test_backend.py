"""Backend selection, the op layer against numpy, Variables and the stateless scope."""

import subprocess
import sys

import numpy as np
import pytest

import nhanh
from nhanh import backend, config, ops
from nhanh.variables import StatelessScope, Variable
from conftest import INSTALLED, to_numpy


@pytest.mark.engine_independent  # loops over the engines itself, or needs none
def test_unknown_backend_name_lists_choices():
    with pytest.raises(ValueError, match="Unknown backend 'jaxx'.*Did you mean 'jax'"):
        config.set_backend("jaxx")


@pytest.mark.engine_independent  # loops over the engines itself, or needs none
def test_env_var_selects_backend():
    for name in INSTALLED:
        out = subprocess.run(
            [sys.executable, "-c", "import nhanh; print(nhanh.config.backend())"],
            env={"NHANH_BACKEND": name, "PATH": ""}, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == name


@pytest.mark.engine_independent  # loops over the engines itself, or needs none
def test_missing_backend_package_says_how_to_install(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "torch":
            raise ImportError("No module named 'torch'")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake)
    monkeypatch.setattr(backend, "_loaded", {k: v for k, v in backend._loaded.items()
                                             if k != "torch"})
    current = backend._current
    with pytest.raises(ImportError, match="pip install"):
        backend.load("torch")
    assert backend._current is current


def test_contract_is_complete(backend):
    module = nhanh.backend.get()
    assert module.NAME == backend
    for name in nhanh.backend.NUMPY_OPS:
        assert callable(getattr(ops, name))


@pytest.mark.parametrize("name,args,kwargs", [
    ("sum", [np.arange(12.0).reshape(3, 4)], {"axis": 1, "keepdims": True}),
    ("mean", [np.arange(12.0).reshape(3, 4)], {"axis": (0, 1)}),
    ("max", [np.arange(12.0).reshape(3, 4)], {"axis": 0}),
    ("argmax", [np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]])], {"axis": -1}),
    ("transpose", [np.arange(24.0).reshape(2, 3, 4)], {"axes": (2, 0, 1)}),
    ("expand_dims", [np.arange(6.0).reshape(2, 3)], {"axis": -1}),
    ("squeeze", [np.arange(6.0).reshape(2, 3, 1)], {"axis": -1}),
    ("clip", [np.linspace(-2, 2, 9), -1.0, 0.5], {}),
    ("where", [np.array([True, False, True]), np.array([1.0, 2, 3]), np.array([4.0, 5, 6])], {}),
    ("concatenate", [[np.ones((2, 2)), np.zeros((1, 2))]], {"axis": 0}),
    ("logsumexp", [np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 10.0]])], {"axis": 1}),
    ("std", [np.array([[1.0, 2.0, 4.0], [3.0, 0.0, 10.0]])], {"axis": 1}),
    ("cumsum", [np.arange(6.0).reshape(2, 3)], {"axis": 1}),
    ("take", [np.arange(12.0).reshape(3, 4), np.array([2, 0])], {"axis": 1}),
    ("pad", [np.ones((2, 3)), ((1, 0), (0, 2))], {}),
    ("norm", [np.array([[3.0, 4.0], [6.0, 8.0]])], {"axis": -1}),
    ("tile", [np.arange(3.0), (2, 1)], {}),
    ("repeat", [np.arange(3.0)], {"repeats": 2}),
])
def test_numpy_ops_match_numpy(name, args, kwargs):
    got = getattr(ops, name)(*[ops.convert_to_tensor(a) if isinstance(a, np.ndarray) else
                               [ops.convert_to_tensor(e) for e in a] if isinstance(a, list)
                               else a for a in args], **kwargs)
    if name == "logsumexp":
        want = np.log(np.exp(args[0]).sum(axis=1))
    else:
        np_fn = {"norm": np.linalg.norm}.get(name) or getattr(np, name)
        want = np_fn(*args, **kwargs)
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-5, atol=1e-6)


def test_python_scalars_keep_array_dtype():
    x = ops.convert_to_tensor(np.ones(3, "float32"))
    assert ops.dtype(ops.maximum(x, 0.5)) == "float32"
    assert ops.dtype(x * 2) == "float32"
    assert ops.dtype(ops.convert_to_tensor(np.ones(3))) == "float32"  # float64 data -> float32


def test_top_k_and_one_hot():
    x = ops.convert_to_tensor(np.array([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]], "float32"))
    values, indices = ops.top_k(x, 2)
    np.testing.assert_array_equal(to_numpy(indices), [[1, 2], [0, 2]])
    np.testing.assert_allclose(to_numpy(values), [[0.7, 0.2], [0.5, 0.4]], rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(ops.one_hot(ops.convert_to_tensor([2, 0]), 3)),
                                  [[0, 0, 1], [1, 0, 0]])


def test_variable_reads_and_assigns_through_stateless_scope():
    v = Variable(np.ones(3), shape=(3,))
    assert ops.dtype(v.value) == "float32"
    with StatelessScope({v: ops.convert_to_tensor(np.full(3, 5.0))}) as scope:
        np.testing.assert_allclose(to_numpy(ops.sum(v)), 15.0)
        v.assign(v + 1)
        np.testing.assert_allclose(to_numpy(v.value), 6.0)
    np.testing.assert_allclose(v.numpy(), 1.0)  # the Variable itself is untouched
    np.testing.assert_allclose(to_numpy(scope.assigned[v]), 6.0)
    with pytest.raises(ValueError, match="shape"):
        v.assign(np.ones(4))


def test_value_and_grad_matches_closed_form():
    b = nhanh.backend.get()
    w = ops.convert_to_tensor(np.array([1.0, -2.0, 3.0], "float32"))
    loss, (g,) = b.value_and_grad(lambda p: ops.sum(ops.square(p[0])))([w])
    np.testing.assert_allclose(float(to_numpy(loss)), 14.0, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(g), [2.0, -4.0, 6.0], rtol=1e-6)


def test_seeded_draws_repeat_and_differ():
    from nhanh.random import SeedGenerator

    a, b = SeedGenerator(7), SeedGenerator(7)
    x1, x2 = nhanh.random.normal((4,), seed=a), nhanh.random.normal((4,), seed=a)
    np.testing.assert_array_equal(to_numpy(x1), to_numpy(nhanh.random.normal((4,), seed=b)))
    assert not np.allclose(to_numpy(x1), to_numpy(x2))


def test_seeded_draws_work_inside_compiled_step():
    from nhanh.random import SeedGenerator

    gen = SeedGenerator(3)
    step = nhanh.backend.get().compile_step(
        lambda state: _draw(gen, state))
    s0 = [gen.state.value]
    s1, x1 = step(s0)
    s2, x2 = step(s1)
    assert not np.allclose(to_numpy(x1), to_numpy(x2))
    gen2 = SeedGenerator(3)
    np.testing.assert_array_equal(to_numpy(x1), to_numpy(nhanh.random.normal((5,), seed=gen2)))


def _draw(gen, state):
    with StatelessScope({gen.state: state[0]}) as scope:
        x = nhanh.random.normal((5,), seed=gen)
        return [scope.get(gen.state)], x


def test_dropout_keeps_expectation():
    x = ops.ones((20000,))
    y = to_numpy(nhanh.random.dropout(x, 0.25, seed=1))
    assert set(np.unique(y)) <= {0.0, np.float32(1.0 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02


def test_slice_and_slice_update_match_numpy_indexing():
    x = np.arange(24.0, dtype="float32").reshape(4, 6)
    got = ops.slice(ops.convert_to_tensor(x), (1, 2), (2, 3))
    np.testing.assert_array_equal(to_numpy(got), x[1:3, 2:5])
    new = ops.slice_update(ops.convert_to_tensor(x), (2, 1), ops.convert_to_tensor(-np.ones(
        (2, 2), "float32")))
    want = x.copy()
    want[2:4, 1:3] = -1
    np.testing.assert_array_equal(to_numpy(new), want)


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_take_rows_matches_numpy_eager_and_compiled(index_dtype):
    x = np.arange(60.0, dtype="float32").reshape(10, 3, 2)
    rows = np.array([9, 0, 4, 4], index_dtype)
    take = nhanh.backend.get().take_rows
    compiled = nhanh.backend.get().compile_step(lambda x, rows: take(x, rows))
    for got in (take(ops.convert_to_tensor(x), ops.convert_to_tensor(rows)),
                compiled(ops.convert_to_tensor(x), ops.convert_to_tensor(rows))):
        np.testing.assert_array_equal(to_numpy(got), x[rows])


def test_slice_with_a_traced_start_inside_a_compiled_step():
    x = ops.convert_to_tensor(np.arange(10.0, dtype="float32"))
    step = nhanh.backend.get().compile_step(lambda x, start: ops.slice(x, (start,), (3,)))
    for start in (0, 4, 7):
        np.testing.assert_array_equal(to_numpy(step(x, ops.convert_to_tensor(start))),
                                      np.arange(start, start + 3.0))


@pytest.mark.engine_independent
def test_utils_import_nothing_above_the_ops_layer():
    """Layering backend -> ops/variables -> layers -> training -> models: nhanh.utils sits at
    the bottom (everything may use it), so importing it imports none of the levels above ops.
    Keras's utils that need a higher level (Progbar draws with fit's bar, get_source_inputs
    reads symbolic tensors) import it inside the function, when called."""
    import ast
    import pathlib

    above = ("nhanh.layers", "nhanh.training", "nhanh.models", "nhanh.callbacks",
             "nhanh.optimizers", "nhanh.losses", "nhanh.metrics")
    utils_dir = pathlib.Path(nhanh.utils.__file__).parent
    upward = []
    for path in sorted(utils_dir.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:  # what importing the module runs
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.ImportFrom) and node.module == "nhanh":
                names = [f"nhanh.{a.name}" for a in node.names]
            upward += [f"{path.name}: {n}" for n in names if n.startswith(above)]
    assert upward == []


@pytest.mark.engine_independent
def test_pack_and_unpack_batches_like_keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    x, y, w = np.ones((2, 3)), np.zeros(2), np.full(2, 0.5)
    for batch in (x, (x,), (x, y), (x, y, w), [x, y], ((x, x), y), {"a": x}):
        ours = nhanh.utils.unpack_x_y_sample_weight(batch)
        theirs = keras.utils.unpack_x_y_sample_weight(batch)
        assert len(ours) == 3 and all(a is b for a, b in zip(ours, theirs))
    for args in ((x,), ((x, x),), ([x],), (x, y), (x, y, w), (x, None, w)):
        ours, theirs = nhanh.utils.pack_x_y_sample_weight(*args), \
            keras.utils.pack_x_y_sample_weight(*args)
        assert type(ours) is type(theirs)
        if isinstance(ours, tuple):
            assert len(ours) == len(theirs) and all(a is b for a, b in zip(ours, theirs))
        else:
            assert ours is theirs
    with pytest.raises(ValueError, match="got a tuple of 4 items"):
        nhanh.utils.unpack_x_y_sample_weight((x, y, w, w))
    from nhanh.training.step_api import unpack_x_y_sample_weight  # the old home still works

    assert unpack_x_y_sample_weight is nhanh.utils.unpack_x_y_sample_weight


@pytest.mark.engine_independent
@pytest.mark.parametrize("engine, version, ok", [
    ("torch", "2.13.0+cpu", True), ("torch", "2.5.0", True), ("torch", "2.4.1+cu121", False),
    ("jax", "0.4.30", True), ("jax", "0.10.2", True), ("jax", "0.4.29", False),
    ("torch", "2.6.0.dev20240901", True)])
def test_engines_older_than_the_tested_floor_are_refused(engine, version, ok):
    """Older PyTorch would train nothing in captured steps without a word; refuse it."""
    if ok:
        backend._check_version(engine, version)
    else:
        with pytest.raises(ImportError, match=rf"nhanh needs {engine}>=.*pip install"):
            backend._check_version(engine, version)
