"""ModelCheckpoint: file names from the template, which epochs (or batches) it saves, what the
files hold, its messages and errors, and that saving each epoch keeps fit's fused loop.

Which saves happen, and the lines printed, are checked against Keras 3's own ModelCheckpoint
driven with the same logs; the files' contents against the weights a recording callback saw
at that moment.
"""

import os
import warnings
import zipfile

import numpy as np
import pytest

import nhanh
from nhanh.callbacks import Callback, ModelCheckpoint

X = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
Y = (X @ np.array([[1.0], [2.0], [-1.0]], "float32")).astype("float32")
VAL_LOSS = [0.5, 0.7, 0.3, 0.3, 0.1, 0.9]  # what a scripted callback logs as val_loss


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


_SHARED = {}


def shared_model(backend):
    """One compiled model per engine, trained on by the tests whose checks do not depend on
    where its weights start (compiling a model per test would cost more than the tests)."""
    if backend not in _SHARED:
        _SHARED[backend] = model()
    return _SHARED[backend]


def model():
    m = nhanh.Sequential([nhanh.Input((3,)), nhanh.layers.Dense(4, activation="tanh"),
                          nhanh.layers.Dense(1)])
    m.compile(nhanh.optimizers.Adam(0.01), "mse", metrics=["mae", "r2_score"])
    return m


class Scripted(Callback):
    """Logs a given value for a key at each epoch's end (callbacks after it see it)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Recorder(Callback):
    """The weights after each epoch (and, with batches=True, after each batch)."""

    def __init__(self, batches=False):
        super().__init__()
        self.batches, self.seen, self.epoch = batches, {}, 0

    def wants_batch_logs(self):
        return self.batches

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.batches:
            self.seen[(self.epoch + 1, batch + 1)] = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        self.seen[epoch + 1] = self.model.get_weights()


class Stub:
    """What Keras's ModelCheckpoint touches on a model: records the paths it saves to."""

    def __init__(self):
        self.saved, self.metrics = [], []

    def save(self, filepath, overwrite=True):
        self.saved.append(filepath)

    save_weights = save


def keras_saves(keras, capsys, epochs_logs, batches=None, **kwargs):
    """(paths saved, text printed) by Keras 3's ModelCheckpoint fed these logs."""
    cb = keras.callbacks.ModelCheckpoint(**kwargs)
    stub = Stub()
    cb.set_model(stub)
    capsys.readouterr()
    for epoch, logs in enumerate(epochs_logs):
        cb.on_epoch_begin(epoch)
        for batch in range(batches or 0):
            cb.on_train_batch_end(batch, {})
        cb.on_epoch_end(epoch, dict(logs))
    return stub.saved, capsys.readouterr().out


def same_weights(model_, path, want):
    model_.load_weights(path)
    for a, b in zip(model_.get_weights(), want):
        np.testing.assert_array_equal(a, b)


def test_template_names_each_epoch_and_the_files_hold_that_epochs_weights(backend, tmp_path):
    m, rec = shared_model(backend), Recorder()
    template = str(tmp_path / "ckpt-{epoch:02d}-{loss:.2f}.weights.h5")
    history = m.fit(X, Y, batch_size=16, epochs=3, verbose=0,
                    callbacks=[rec, ModelCheckpoint(template, save_weights_only=True)])
    losses = history.history["loss"]
    want = [f"ckpt-{e + 1:02d}-{loss:.2f}.weights.h5" for e, loss in enumerate(losses)]
    assert sorted(os.listdir(tmp_path)) == want
    fresh = model()
    for epoch, name in enumerate(want, 1):
        same_weights(fresh, tmp_path / name, rec.seen[epoch])


CASES = [  # (ModelCheckpoint's arguments, the epochs it saves with VAL_LOSS)
    (dict(mode="min"), [1, 3, 5]),
    (dict(mode="max"), [1, 2, 6]),
    (dict(mode="auto"), [1, 3, 5]),  # val_loss: a loss goes down
    (dict(mode="min", initial_value_threshold=0.4), [3, 5]),
    (dict(mode="max", initial_value_threshold=0.8), [6]),
    (dict(mode="min", save_best_only=False), [1, 2, 3, 4, 5, 6]),
]


def test_save_best_only_against_a_scripted_val_loss_and_keras(backend, tmp_path, capsys, keras):
    """All the cases in one fit (a checkpoint each, in its own folder) and in one drive of
    Keras's callbacks: the files, and the interleaved printed lines, must be the same."""
    kwargs = [{"filepath": str(tmp_path / str(i) / "best-{epoch:02d}.weights.h5"),
               "save_best_only": True, "save_weights_only": True, "verbose": 1, **extra}
              for i, (extra, _) in enumerate(CASES)]
    shared_model(backend).fit(X, Y, batch_size=16, epochs=6, verbose=0, callbacks=[
        Scripted("val_loss", VAL_LOSS), *[ModelCheckpoint(**kw) for kw in kwargs]])
    got_out = capsys.readouterr().out
    for i, (_, saved_epochs) in enumerate(CASES):
        assert sorted(os.listdir(tmp_path / str(i))) == \
            [f"best-{e:02d}.weights.h5" for e in saved_epochs], CASES[i]
    stubs, cbs = [], [keras.callbacks.ModelCheckpoint(**kw) for kw in kwargs]
    for cb in cbs:
        stubs.append(Stub())
        cb.set_model(stubs[-1])
    for epoch, value in enumerate(VAL_LOSS):
        for cb in cbs:
            cb.on_epoch_end(epoch, {"val_loss": value})
    for i, stub in enumerate(stubs):
        assert [os.path.basename(p) for p in stub.saved] == \
            sorted(os.listdir(tmp_path / str(i))), CASES[i]
    assert got_out == capsys.readouterr().out  # "Epoch 3: val_loss improved from 0.50000 ..."


def test_auto_mode_follows_the_metrics_direction(backend, tmp_path):
    shared_model(backend).fit(X, Y, batch_size=16, epochs=6, verbose=0, callbacks=[
        Scripted("val_r2_score", VAL_LOSS),  # R2Score goes up
        ModelCheckpoint(str(tmp_path / "{epoch}.weights.h5"), monitor="val_r2_score",
                        save_best_only=True, save_weights_only=True)])
    assert sorted(os.listdir(tmp_path)) == ["1.weights.h5", "2.weights.h5", "6.weights.h5"]


def test_save_freq_in_batches_names_the_batch_and_saves_that_moment(backend, tmp_path, capsys,
                                                                    keras):
    m, rec = shared_model(backend), Recorder(batches=True)
    template = str(tmp_path / "b-{epoch}-{batch}.weights.h5")
    cb = ModelCheckpoint(template, save_weights_only=True, save_freq=3)
    assert cb.wants_batch_logs()
    m.fit(X, Y, batch_size=16, epochs=3, verbose=0, callbacks=[rec, cb])  # 4 batches an epoch
    # Every 3 batches, counted across epochs: batch 3 of epoch 1, 2 of epoch 2, 1 and 4 of 3.
    want = [(1, 3), (2, 2), (3, 1), (3, 4)]
    assert sorted(os.listdir(tmp_path)) == sorted(f"b-{e}-{b}.weights.h5" for e, b in want)
    paths, _ = keras_saves(keras, capsys, [{}, {}, {}], batches=4, filepath=template,
                           save_weights_only=True, save_freq=3)
    assert [os.path.basename(p) for p in paths] == [f"b-{e}-{b}.weights.h5" for e, b in want]
    fresh = model()
    for e, b in want:
        same_weights(fresh, tmp_path / f"b-{e}-{b}.weights.h5", rec.seen[(e, b)])


def test_whole_model_files_load_and_predict_as_saved(backend, tmp_path):
    m = shared_model(backend)
    predictions = {}

    class Predict(Callback):
        def on_epoch_end(self, epoch, logs=None):
            predictions[epoch + 1] = self.model.predict(X[:5], verbose=0)

    m.fit(X, Y, batch_size=16, epochs=2, verbose=0,
          callbacks=[Predict(), ModelCheckpoint(str(tmp_path / "m{epoch}.keras"))])
    for epoch in (1, 2):
        path = tmp_path / f"m{epoch}.keras"
        assert "config.json" in zipfile.ZipFile(path).namelist()  # Keras 3's .keras layout
        loaded = nhanh.models.load_model(path)
        np.testing.assert_allclose(loaded.predict(X[:5], verbose=0), predictions[epoch],
                                   rtol=1e-6, atol=1e-6)
    # Weights only: an HDF5 file, not a model archive.
    m.fit(X, Y, batch_size=16, epochs=1, verbose=0, callbacks=[
        ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True)])
    assert not zipfile.is_zipfile(tmp_path / "w.weights.h5")
    with open(tmp_path / "w.weights.h5", "rb") as f:
        assert f.read(8) == b"\x89HDF\r\n\x1a\n"


def test_saving_each_epoch_keeps_the_fused_loop(backend, tmp_path):
    for i, (kwargs, fused) in enumerate(((dict(save_best_only=True, monitor="loss"), True),
                                         (dict(save_freq=2), False))):
        m = model()
        cb = ModelCheckpoint(str(tmp_path / f"{i}-{{epoch}}.weights.h5"), save_weights_only=True,
                             **kwargs)
        assert cb.wants_batch_logs() is not fused
        m.fit(X, Y, batch_size=16, epochs=2, verbose=0, callbacks=[cb])
        assert (("train", 16, None) in m._steps._loops) is fused, kwargs
        if backend == "jax":
            assert m._steps.trace_counts["train_loop"] == int(fused)


@pytest.mark.parametrize("kwargs", [
    dict(filepath="ckpt.keras", save_weights_only=True),
    dict(filepath="ckpt.h5x"),
    dict(filepath="ckpt.weights"),
])
def test_wrong_suffixes_give_keras_errors(backend, keras, kwargs):
    with pytest.raises(ValueError) as want:
        keras.callbacks.ModelCheckpoint(**kwargs)
    with pytest.raises(ValueError) as got:
        ModelCheckpoint(**kwargs)
    assert str(got.value) == str(want.value)


def test_bad_arguments_and_missing_keys_say_what_to_do(backend, tmp_path):
    # Keras takes a legacy ".h5" model path; nhanh, which cannot write one, says so at once.
    with pytest.raises(ValueError, match="legacy HDF5 model files.*`.keras` path"):
        ModelCheckpoint("ckpt.h5")
    ModelCheckpoint("ckpt.weights.h5", save_weights_only=True)  # fine
    with pytest.raises(ValueError, match="save_freq.*'batch'.*'epoch' or a positive integer"):
        ModelCheckpoint("a.keras", save_freq="batch")
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("a.keras", save_freq=0)
    with pytest.warns(UserWarning, match="mode 'best' is unknown, fallback to auto"):
        ModelCheckpoint("a.keras", mode="best")
    cb = ModelCheckpoint(str(tmp_path / "{epoch}-{val_acc:.2f}.weights.h5"),
                         save_weights_only=True)
    with pytest.raises(KeyError, match="Failed to format this callback filepath.*val_acc.*loss"):
        shared_model(backend).fit(X, Y, batch_size=16, epochs=1, verbose=0, callbacks=[cb])


def test_save_best_only_without_the_monitored_log_warns_and_saves(backend, tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "{epoch}.weights.h5"), save_best_only=True,
                         save_weights_only=True)  # monitors val_loss; there is no validation
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shared_model(backend).fit(X, Y, batch_size=16, epochs=2, verbose=0, callbacks=[cb])
    assert sum("Can save best model only with val_loss available" in str(w.message)
               for w in caught) == 2
    assert sorted(os.listdir(tmp_path)) == ["1.weights.h5", "2.weights.h5"]
