"""Saving and loading models (issue 11): `.keras` and `.weights.h5` round trips on each engine,
the optimizer state carried across (one more fit step equals the step without the round trip),
all-or-nothing loads, cross-engine files, `to_json`, `clone_model`, and the `keras.saving`
registration API. Files written by real Keras 3 are in test_saving_keras_interop.py; attack
files in test_saving_attacks.py and test_saving_files.py."""

import json
import zipfile

import numpy as np
import pytest

import nhanh
from nhanh import config, layers

X = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
Y = (X @ np.arange(1, 5, dtype="float32")[:, None]).astype("float32")


def sequential():
    return nhanh.Sequential([nhanh.Input((4,)), layers.Dense(6, activation="relu"),
                             layers.BatchNormalization(), layers.Dropout(0.1), layers.Dense(1)])


def functional():
    a, b = nhanh.Input((4,), name="a"), nhanh.Input((2,), name="b")
    shared = layers.Dense(3, name="shared")
    x = layers.Concatenate()([shared(a), b])
    return nhanh.Model({"a": a, "b": b}, [layers.Dense(1, name="y1")(x),
                                          layers.Dense(2, name="y2")(shared(a))])


@nhanh.saving.register_keras_serializable(package="tests")
class Blocks(nhanh.Model):
    """A subclassed model with a constructor argument, layers in an attribute list."""

    def __init__(self, width=5, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.first = layers.Dense(width, activation="tanh")
        self.blocks = [layers.Dense(width), layers.Dense(1)]

    def call(self, x):
        x = self.first(x)
        for block in self.blocks:
            x = block(x)
        return x

    def get_config(self):
        return {**super().get_config(), "width": self.width}


def predict(model, x):
    return np.asarray(model.predict(x, verbose=0) if not isinstance(x, dict) else
                      model.predict(x, verbose=0)[0])


@pytest.mark.parametrize("kind", ["sequential", "subclassed"])
def test_keras_file_round_trip_resumes_training_exactly(kind, tmp_path):
    make = sequential if kind == "sequential" else lambda: Blocks(width=5)
    model = make()
    model.compile(nhanh.optimizers.Adam(0.01), "mse", metrics=["mae"])
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = nhanh.models.load_model(path)
    assert type(loaded).__name__ == type(model).__name__
    np.testing.assert_allclose(predict(loaded, X), predict(model, X), rtol=1e-6, atol=1e-6)
    assert loaded.compiled and isinstance(loaded.optimizer, nhanh.optimizers.Adam)
    assert int(loaded.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # One more step from the file equals one more step without the round trip.
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(X, Y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_functional_several_inputs_outputs_and_shared_layer(tmp_path):
    model = functional()
    x = {"a": X, "b": X[:, :2]}
    path = tmp_path / "f.keras"
    model.save(path)
    loaded = nhanh.models.load_model(path, compile=False)
    for got, want in zip(loaded.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    shared = loaded.get_layer("shared")
    assert len(shared._inbound_nodes) >= 2  # still one layer called twice
    assert not loaded.compiled


def test_weights_file_layout_and_round_trip(tmp_path):
    import h5py

    model = sequential()
    model(X[:2])
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:  # Keras 3's layout (checked against Keras's own files in
        assert f["vars"].attrs["name"] == model.name  # test_saving_keras_interop.py)
        assert f["layers/dense/vars/0"].shape == (4, 6)
        assert f["layers/batch_normalization/vars/3"].shape == (6,)  # moving variance
        assert f["layers/dense_1/vars/1"].shape == (1,)
    other = sequential()
    other(X[:2])
    other.load_weights(path)
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_weights_is_all_or_nothing(tmp_path):
    model = sequential()
    model(X[:2])
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    wider = nhanh.Sequential([nhanh.Input((4,)), layers.Dense(6, activation="relu"),
                              layers.BatchNormalization(), layers.Dropout(0.1), layers.Dense(2)])
    wider(X[:2])
    before = [w.copy() for w in wider.get_weights()]
    with pytest.raises(ValueError, match=r"layers/dense_1/vars.*shape \(4, 1\).*\(6, 2\)|"
                                         r"dense_1.*\(6, 1\).*\(6, 2\)"):
        wider.load_weights(path)
    for a, b in zip(wider.get_weights(), before):  # the first layers were not loaded either
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="skipped"):
        wider.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(wider.layers[0].get_weights()[0],
                                  model.layers[0].get_weights()[0])
    np.testing.assert_array_equal(wider.layers[-1].get_weights()[0], before[-2])


@pytest.mark.parametrize("bad", ["m.h5", "m.weights.npz", "m.txt"])
def test_wrong_file_names_are_refused(bad, tmp_path):
    model = sequential()
    with pytest.raises(ValueError, match="must end in|legacy HDF5"):
        model.save(tmp_path / bad) if bad != "m.weights.npz" else model.save_weights(
            tmp_path / bad)
    with pytest.raises(ValueError, match=r"\.keras"):
        nhanh.models.load_model(tmp_path / bad)


def test_overwrite_false_keeps_the_file(tmp_path):
    model = sequential()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        model.save(path, overwrite=False)
    assert path.read_bytes() == before


def test_a_failed_save_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    from nhanh.saving import h5_store

    model = sequential()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    original = h5_store.H5Writer.write_vars
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5_store.H5Writer, "write_vars", failing)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]  # no temporary left


def test_saved_file_loads_on_the_other_engine(backend, tmp_path):
    from conftest import SELECTED

    other = [b for b in SELECTED if b != backend] or [backend]  # (one engine: itself)
    model = functional()
    model.compile("adam", ["mse", "mse"])
    x = {"a": X, "b": X[:, :2]}
    want = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    config.set_backend(other[0])
    loaded = nhanh.models.load_model(tmp_path / "m.keras")
    assert nhanh.backend.backend() == other[0]
    for got, w in zip(loaded.predict(x, verbose=0), want):
        np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_to_json_and_model_from_json():
    model = functional()
    text = model.to_json()
    assert json.loads(text)["class_name"] == "Functional"
    copy = nhanh.models.model_from_json(text)
    assert [type(la).__name__ for la in copy.layers] == [type(la).__name__ for la in model.layers]
    assert [w.shape for w in copy.weights] == [w.shape for w in model.weights]


def test_clone_model_new_weights_same_architecture():
    model = functional()
    clone = nhanh.models.clone_model(model)
    assert clone is not model and [la.name for la in clone.layers] == \
        [la.name for la in model.layers]
    assert all(a is not b for a, b in zip(clone.weights, model.weights))
    clone.set_weights(model.get_weights())
    x = {"a": X, "b": X[:, :2]}
    for got, want in zip(clone.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    # clone_function: share the first Dense; call_function wraps every call.
    shared = model.get_layer("shared")
    seen = []
    clone = nhanh.models.clone_model(
        model, clone_function=lambda la: la if la is shared else
        type(la).from_config(la.get_config()),
        call_function=lambda la, *a, **k: seen.append(la.name) or la(*a, **k))
    assert clone.get_layer("shared") is shared and "y1" in seen
    class Built(nhanh.Model):  # a functional model made by a constructor of its own
        def __init__(self, width):
            x = nhanh.Input((4,))
            super().__init__(x, layers.Dense(width)(x))

    own = nhanh.models.clone_model(Built(3))
    assert isinstance(own, nhanh.models.Functional) and own.output_shape == (None, 3)
    seq = sequential()
    seq_clone = nhanh.models.clone_model(seq)
    assert [type(la) for la in seq_clone.layers] == [type(la) for la in seq.layers]
    with pytest.raises(ValueError, match="call_function"):
        nhanh.models.clone_model(seq, call_function=lambda la, x: la(x))


def test_registration_api():
    saving = nhanh.saving
    assert saving.get_registered_name(Blocks) == "tests>Blocks"
    assert saving.get_registered_object("tests>Blocks") is Blocks
    assert saving.get_custom_objects()["tests>Blocks"] is Blocks
    assert saving.get_registered_name(np.sum) == "sum"  # unregistered: its own name

    def my_act(x):
        return nhanh.ops.relu(x) * 2.0

    layer = layers.Dense(2, activation=my_act)
    with pytest.raises(ValueError, match="my_act"):
        nhanh.saving.deserialize_keras_object(nhanh.saving.serialize_keras_object(layer))
    with saving.custom_object_scope({"my_act": my_act}):
        copy = nhanh.saving.deserialize_keras_object(nhanh.saving.serialize_keras_object(layer))
    assert copy.activation is my_act
    assert saving.get_registered_object("my_act") is None  # the scope ended
    assert nhanh.utils.custom_object_scope is saving.custom_object_scope
    assert nhanh.utils.register_keras_serializable is saving.register_keras_serializable


def test_archive_members_and_metadata(tmp_path):
    model = sequential()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        meta = json.loads(z.read("metadata.json"))
        cfg = json.loads(z.read("config.json"))
    assert meta["keras_version"].startswith("3.") and "date_saved" in meta
    assert cfg["module"] == "keras" and cfg["class_name"] == "Sequential"
    assert [e["class_name"] for e in cfg["config"]["layers"]] == \
        ["InputLayer", "Dense", "BatchNormalization", "Dropout", "Dense"]


def test_schedule_metric_configs_and_seed_state_survive(tmp_path):
    """A schedule inside the optimizer, a metric's own config, and Dropout's seed state: the
    loaded model trains on with the same History and weights as the original."""
    model = nhanh.Sequential([nhanh.Input((4,)), layers.Dense(3), layers.Dropout(0.5, seed=1),
                              layers.Dense(1)])
    schedule = nhanh.optimizers.schedules.ExponentialDecay(0.01, decay_steps=3, decay_rate=0.5)
    model.compile(nhanh.optimizers.SGD(schedule, momentum=0.9), "mse",
                  metrics=[nhanh.metrics.MeanAbsoluteError(name="m_a_e"), "mse"])
    model.fit(X, Y, epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "s.keras")
    loaded = nhanh.models.load_model(tmp_path / "s.keras")
    assert isinstance(loaded.optimizer.get_config()["learning_rate"], dict)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    np.testing.assert_array_equal(loaded.layers[1]._seed_generators[0].state.numpy(),
                                  model.layers[1]._seed_generators[0].state.numpy())
    want = model.fit(X, Y, epochs=1, batch_size=4, verbose=0, shuffle=False).history
    got = loaded.fit(X, Y, epochs=1, batch_size=4, verbose=0, shuffle=False).history
    assert list(got) == ["loss", "m_a_e", "mse"]
    for key in want:
        assert np.isfinite(want[key]).all()
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_compiled_but_untrained_model_loads_and_trains(tmp_path):
    """Saved before its first step, the optimizer has no slots yet: the loaded model's
    optimizer starts fresh (as Keras's does) and trains like the original."""
    model = sequential()
    model.compile("adam", "mse")
    model.save(tmp_path / "u.keras")
    loaded = nhanh.models.load_model(tmp_path / "u.keras")
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(X, Y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
