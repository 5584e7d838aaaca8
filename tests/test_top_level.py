"""Keras's top-level names on nhanh: scopes, remat, device, Function/Operation, version."""

import os

import numpy as np
import pytest

import nhanh
from nhanh import backend as B

os.environ.setdefault("KERAS_BACKEND", "jax")


def test_base_classes_are_nhanh_s_own():
    assert issubclass(nhanh.layers.Dense, nhanh.Layer)
    assert isinstance(nhanh.losses.MeanSquaredError(), nhanh.Loss)
    assert isinstance(nhanh.metrics.Mean(), nhanh.Metric)
    assert isinstance(nhanh.optimizers.SGD(), nhanh.Optimizer)
    assert isinstance(nhanh.initializers.Zeros(), nhanh.Initializer)
    assert isinstance(nhanh.regularizers.L2(), nhanh.Regularizer)
    assert isinstance(nhanh.Input((3,)), nhanh.KerasTensor)
    assert nhanh.InputSpec is nhanh.layers.InputSpec
    assert nhanh.version() == nhanh.__version__


def test_name_scope_prefixes_paths_like_keras():
    keras = pytest.importorskip("keras")
    paths = {}
    for lib in (nhanh, keras):
        with lib.name_scope("outer"):
            with lib.name_scope("inner"):
                a = lib.Variable(np.zeros(2), name="a")
            with lib.name_scope("b", override_parent="root"):
                b = lib.Variable(np.zeros(2), name="b")
        c = lib.Variable(np.zeros(2), name="c")
        paths[lib.__name__] = (a.path, b.path, c.path)
    assert paths["nhanh"] == paths["keras"] == ("outer/inner/a", "root/b/b", "c")
    owner = object()
    with nhanh.name_scope("x", caller=owner), nhanh.name_scope("x", caller=owner):
        assert nhanh.Variable(np.zeros(1), name="v").path == "x/v"
    with pytest.raises(ValueError, match="without '/'"):
        nhanh.name_scope("a/b")


def test_stateless_scope_maps_reads_and_records_assignments():
    v = nhanh.Variable(np.ones(3, "float32"), name="v")
    w = nhanh.Variable(np.zeros(3, "float32"), name="w")
    with nhanh.StatelessScope(state_mapping=[(v, np.full(3, 5.0, "float32"))]) as scope:
        np.testing.assert_allclose(nhanh.ops.convert_to_numpy(v.value), 5.0)
        v.assign(v.value + 1.0)
        w.assign_add(nhanh.ops.ones((3,)))
        np.testing.assert_allclose(nhanh.ops.convert_to_numpy(v.value), 6.0)
    np.testing.assert_allclose(v.numpy(), 1.0)  # the Variable itself is untouched
    np.testing.assert_allclose(w.numpy(), 0.0)
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(scope.get_current_value(v)), 6.0)
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(scope.get_current_value(w)), 1.0)
    assert nhanh.StatelessScope().get_current_value(v) is None
    with pytest.raises(ValueError, match="pairs"):
        nhanh.StatelessScope(state_mapping=[v])


def test_stateless_call_of_a_layer_matches_keras_semantics():
    layer = nhanh.layers.Dense(2, kernel_initializer="ones")
    x = np.ones((1, 3), "float32")
    layer(x)
    kernel = np.full((3, 2), 2.0, "float32")
    with nhanh.StatelessScope({layer.kernel: kernel}):
        out = nhanh.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(out, x @ kernel)
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(layer(x)), x @ np.ones((3, 2)))


def test_symbolic_scope_flag():
    from nhanh.scopes import in_symbolic_scope

    assert not in_symbolic_scope()
    with nhanh.SymbolicScope():
        assert in_symbolic_scope()
    assert not in_symbolic_scope()


def _grad(fn, x):
    return B.get().value_and_grad(lambda params: nhanh.ops.sum(fn(params[0])))([x])


def test_remat_gives_the_same_values_and_gradients():
    def block(x):
        return nhanh.ops.tanh(nhanh.ops.sin(x) * x) ** 2

    x = nhanh.ops.convert_to_tensor(np.linspace(-2, 2, 7).astype("float32"))
    value, (grad,) = _grad(block, x)
    r_value, (r_grad,) = _grad(nhanh.remat(block), x)
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(r_value),
                               nhanh.ops.convert_to_numpy(value), rtol=1e-6)
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(r_grad),
                               nhanh.ops.convert_to_numpy(grad), rtol=1e-5)
    xs = np.linspace(-2, 2, 7)  # and against finite differences
    f = lambda t: np.tanh(np.sin(t) * t) ** 2  # noqa: E731
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(r_grad),
                               (f(xs + 1e-4) - f(xs - 1e-4)) / 2e-4, rtol=1e-3, atol=1e-4)
    with pytest.raises(TypeError, match="callable"):
        nhanh.remat(3)


def test_remat_scope_is_read_when_a_layer_is_made():
    from nhanh.gradient_checkpointing import get_current_remat_mode

    assert get_current_remat_mode() is None
    with nhanh.RematScope(mode="larger_than", output_size_threshold=10):
        assert get_current_remat_mode().output_size_threshold == 10
        with nhanh.RematScope(mode=None):
            assert get_current_remat_mode() is None
            assert nhanh.layers.Dense(2)._remat_mode is None
        assert nhanh.layers.Dense(2)._remat_mode.mode == "larger_than"
    with pytest.raises(ValueError, match="mode"):
        nhanh.RematScope(mode="some")
    with pytest.raises(ValueError, match="layer_names"):
        nhanh.RematScope(mode="list_of_layers")


@pytest.mark.parametrize("scope, picked", [
    (dict(mode="full"), {"wide", "narrow"}),
    (dict(mode="list_of_layers", layer_names=["narrow"]), {"narrow"}),
    (dict(mode="larger_than", output_size_threshold=20), {"wide"}),  # (None, 8) counts 8
    # As in Keras, a layer without an activation argument's value still has `linear`.
    (dict(mode="activations"), {"activation:tanh", "activation:linear"}),
])
def test_layers_made_in_a_remat_scope_are_checkpointed_and_train_the_same(
        monkeypatch, scope, picked):
    """Which layers are recomputed follows Keras's rules for each mode, and training gives
    the same weights as without checkpointing (fit, on the compiled/captured step)."""
    import nhanh.gradient_checkpointing as remat_module

    wrapped = []
    real = remat_module.remat

    def recording(fn):
        wrapped.append(fn)
        return real(fn)

    monkeypatch.setattr(remat_module, "remat", recording)

    def build(in_scope):
        layers = lambda: [nhanh.layers.Dense(32, activation="tanh", name="wide"),  # noqa: E731
                          nhanh.layers.Dense(1, name="narrow")]
        if in_scope:
            with nhanh.RematScope(**scope):
                stack = layers()
        else:
            stack = layers()
        model = nhanh.Sequential([nhanh.Input((3,))] + stack)
        model.set_weights([np.full(w.shape, 0.1 * (i + 1), "float32") for i, w in
                           enumerate(model.get_weights())])
        model.compile("sgd", "mse")
        return model

    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    plain, checkpointed = build(False), build(True)
    plain.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    wrapped.clear()
    checkpointed.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    seen = set()
    for fn in wrapped:
        seen.add(f"activation:{fn.__name__}" if fn.__closure__ is None else
                 fn.__closure__[-1].cell_contents.name)
    assert seen == picked
    for a, b in zip(plain.get_weights(), checkpointed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_device_scope_places_new_arrays_on_the_cpu():
    with nhanh.device("cpu:0"):
        x = nhanh.ops.convert_to_tensor(np.ones(3))
        y = nhanh.ops.ones((2,))
    for t in (x, y):
        where = t.device if B.get().NAME == "torch" else next(iter(t.devices()))
        assert "cpu" in str(where).lower()
    with pytest.raises(ValueError, match="gpu:0"):
        nhanh.device("bogus")
    with pytest.raises(ValueError, match="no tpu:7"):
        with nhanh.device("tpu:7"):
            pass


def test_function_runs_a_graph_of_layers_and_operations():
    class Scale(nhanh.Operation):
        def call(self, x):
            return x * 3.0

    inp = nhanh.Input((3,))
    dense = nhanh.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
    out = Scale()(dense(inp))
    fn = nhanh.Function(inp, out)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(fn(x)), 3.0 * x @ np.ones((3, 2)))
    assert [type(op).__name__ for op in fn.operations] == ["InputLayer", "Dense", "Scale"]
    assert fn.compute_output_spec(nhanh.Input((3,))).shape == (None, 2)
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(Scale()(x)), 3.0 * x)
    keras = pytest.importorskip("keras")  # Keras's Function gives the same numbers
    kin = keras.Input((3,))
    kout = keras.layers.Dense(2, kernel_initializer="ones")(kin) * 3.0
    np.testing.assert_allclose(np.asarray(keras.Function(kin, kout)(x)),
                               nhanh.ops.convert_to_numpy(fn(x)))
