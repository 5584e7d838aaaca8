"""ReduceLROnPlateau, LearningRateScheduler, CSVLogger, RemoteMonitor and ProgbarLogger do and
say what Keras 3's do: each is driven the same way as the real Keras callback (same logs, same
monitored values) and must change the learning rate at the same epochs, print the same lines,
write the same file bytes and post the same requests; then, through a real fit on each engine,
a changed learning rate must be the one the compiled step uses."""

import http.server
import json
import os
import re
import threading
import urllib.parse

import numpy as np
import pytest

import nhanh
from nhanh import callbacks
from helpers import keras_once
from keras_parity_helpers import D, build


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


class FakeModel:
    """What the learning-rate callbacks touch: an optimizer, the metrics, the stop flag."""

    def __init__(self, optimizer, metrics=()):
        self.optimizer, self.metrics, self.stop_training = optimizer, list(metrics), False


def lr_of(optimizer) -> float:
    return float(np.asarray(nhanh.ops.convert_to_numpy(optimizer.learning_rate))) \
        if isinstance(optimizer, nhanh.optimizers.Optimizer) else \
        float(np.asarray(optimizer.learning_rate))


def drive_plateau(cb, optimizer, values, capsys, monitor="val_loss", metrics=()):
    """One fit's worth of epoch hooks; (printed text, logged lr per epoch, lr after each)."""
    cb.set_model(FakeModel(optimizer, metrics))
    cb.on_train_begin({})
    logged, after = [], []
    for epoch, value in enumerate(values):
        cb.on_epoch_begin(epoch, {})
        logs = {monitor: value}
        cb.on_epoch_end(epoch, logs)
        logged.append(logs.get("learning_rate"))
        after.append(lr_of(optimizer))
    cb.on_train_end({})
    return capsys.readouterr().out, logged, after


PLATEAU_CASES = [
    ([1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8], dict(patience=2)),
    ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], dict(patience=1, cooldown=2, factor=0.5)),
    ([1.0] * 8, dict(patience=0, factor=0.2, min_lr=0.003)),
    ([1.0, 0.99995, 0.9999, 0.9, 0.89995, 0.8999], dict(patience=1, min_delta=1e-4)),
    ([1.0, 0.99, 0.98, 0.5, 0.5], dict(patience=1, min_delta=0.05, cooldown=1)),
    ([0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7], dict(patience=2, mode="max", factor=0.5)),
    ([2.0, 3.0, 1.0, 4.0, 4.0], dict(patience=1, min_delta=0, mode="min")),
    ([1.0, 1.0 - 1e-9, 1.0 - 2e-9], dict(patience=1, min_delta=0)),  # equal in float32
]


@pytest.mark.parametrize("values, kwargs", PLATEAU_CASES)
def test_reduce_lr_on_plateau_matches_keras(values, kwargs, capsys, keras):
    want = drive_plateau(keras.callbacks.ReduceLROnPlateau(verbose=1, **kwargs),
                         keras.optimizers.SGD(0.1), values, capsys)
    got = drive_plateau(callbacks.ReduceLROnPlateau(verbose=1, **kwargs),
                        nhanh.optimizers.SGD(0.1), values, capsys)
    assert got == want
    assert "reducing learning rate" in got[0] or got[2][-1] == 0.1


def test_reduce_lr_on_plateau_auto_mode_follows_the_metric(capsys, keras):
    """'auto' on an accuracy is 'max' (Keras reads the compiled metric's direction)."""
    values = [0.5, 0.6, 0.55, 0.55, 0.7]
    want = drive_plateau(keras.callbacks.ReduceLROnPlateau("accuracy", patience=1, verbose=1,
                                                           mode="max"),
                         keras.optimizers.SGD(0.1), values, capsys, monitor="accuracy")
    got = drive_plateau(callbacks.ReduceLROnPlateau("accuracy", patience=1, verbose=1),
                        nhanh.optimizers.SGD(0.1), values, capsys, monitor="accuracy",
                        metrics=[nhanh.metrics.BinaryAccuracy(name="accuracy")])
    assert got == want
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        drive_plateau(callbacks.ReduceLROnPlateau("f1"), nhanh.optimizers.SGD(0.1), [1.0],
                      capsys, monitor="f1")


def test_reduce_lr_on_plateau_arguments(capsys):
    with pytest.raises(ValueError, match="factor"):
        callbacks.ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        callbacks.ReduceLROnPlateau(mode="lowest")
    with pytest.raises(TypeError, match="pateince"):
        callbacks.ReduceLROnPlateau(pateince=3)
    assert callbacks.ReduceLROnPlateau(epsilon=0.5).min_delta == 0.5  # Keras 2's name
    with pytest.warns(UserWarning, match="'val_loss'.*available: loss"):
        drive_plateau(callbacks.ReduceLROnPlateau(), nhanh.optimizers.SGD(0.1), [1.0], capsys,
                      monitor="loss")


def drive_scheduler(cb, optimizer, epochs, capsys):
    cb.set_model(FakeModel(optimizer))
    cb.on_train_begin({})
    used, logged = [], []
    for epoch in range(epochs):
        cb.on_epoch_begin(epoch, {})
        used.append(lr_of(optimizer))
        logs = {"loss": 1.0}
        cb.on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
    return capsys.readouterr().out, used, logged


@pytest.mark.parametrize("schedule", [
    lambda epoch, lr: lr if epoch < 2 else lr * 0.5,
    lambda epoch: 0.1 / (1 + epoch),
    lambda epoch, lr: float(np.float32(0.3) ** (epoch + 1)),
])
def test_learning_rate_scheduler_matches_keras(schedule, capsys, keras):
    want = drive_scheduler(keras.callbacks.LearningRateScheduler(schedule, verbose=1),
                           keras.optimizers.SGD(0.1), 4, capsys)
    got = drive_scheduler(callbacks.LearningRateScheduler(schedule, verbose=1),
                          nhanh.optimizers.SGD(0.1), 4, capsys)
    assert got == want


def test_learning_rate_scheduler_errors(capsys):
    def broken(epoch, lr):
        raise TypeError("inside the schedule")

    with pytest.raises(TypeError, match="inside the schedule"):  # not swallowed, as Keras does
        drive_scheduler(callbacks.LearningRateScheduler(broken), nhanh.optimizers.SGD(), 1,
                        capsys)
    with pytest.raises(ValueError, match="must return a number, got str"):
        drive_scheduler(callbacks.LearningRateScheduler(lambda e, lr: "fast"),
                        nhanh.optimizers.SGD(), 1, capsys)
    with pytest.raises(TypeError, match="schedule"):
        callbacks.LearningRateScheduler(0.1)


# --- through fit: the compiled step must use the new rate --------------------------------------

X = np.random.default_rng(3).normal(size=(64, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")


def fresh(lr):
    nhanh.utils.set_random_seed(5)
    model = nhanh.Sequential([nhanh.layers.Dense(1, input_shape=(3,))])
    model.compile(nhanh.optimizers.SGD(lr), "mse")
    return model


def phases(rates):
    """One epoch per rate, each with a new optimizer: the rate cannot leak between phases."""
    model = fresh(rates[0])
    for i, lr in enumerate(rates):
        if i:
            weights = model.get_weights()
            model.compile(nhanh.optimizers.SGD(lr), "mse")
            model.set_weights(weights)
        model.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


def check_fused(model, backend):
    counts = model._steps.trace_counts
    assert counts["train"] == 1  # a new rate is state, not a new program
    if backend == "jax":
        assert counts["train_loop"] == 1  # epoch-hook callbacks keep the fused loop


def test_reduce_lr_on_plateau_lowers_the_rate_fit_uses(backend):
    # The loss keeps falling, so in "max" mode it never improves after epoch 0.
    model = fresh(0.1)
    cb = callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=1, mode="max")
    history = model.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                        callbacks=[cb])
    # Logged: the rate each epoch ran with; lowered after epochs 1 and 2.
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05])
    assert lr_of(model.optimizer) == pytest.approx(0.025)
    want = phases([0.1, 0.1, 0.05])
    for a, b in zip(model.get_weights(), want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.get_weights()[0], phases([0.1, 0.1, 0.1])[0], atol=1e-4)
    check_fused(model, backend)


def test_learning_rate_scheduler_sets_the_rate_fit_uses(backend):
    rates = [0.1, 0.02, 0.05]
    model = fresh(0.3)
    history = model.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                        callbacks=[callbacks.LearningRateScheduler(lambda e, lr: rates[e])])
    assert history.history["learning_rate"] == pytest.approx(rates)
    for a, b in zip(model.get_weights(), phases(rates)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    check_fused(model, backend)


def test_epoch_callbacks_do_not_ask_for_batch_logs(tmp_path):
    for cb in (callbacks.ReduceLROnPlateau(), callbacks.LearningRateScheduler(lambda e: 0.1),
               callbacks.CSVLogger(tmp_path / "log.csv"), callbacks.RemoteMonitor(),
               callbacks.ProgbarLogger()):
        assert not cb.wants_batch_logs(), type(cb).__name__


def _masked(text: str) -> str:
    """Output with timings and metric values replaced (they differ between libraries)."""
    text = re.sub(r"\d+(m|u)?s/step", "T/step", text)
    text = re.sub(r" - \d+s - ", " - T - ", text)
    return re.sub(r"(: )-?\d+\.\d+(e-?\d+)?", r"\1V", text)


def test_fit_output_and_history_match_keras(capsys, keras):
    """Same weights, same data: the same lines in the same order (the reduction message
    before the epoch's finished line, which shows the rate) and the same learning rates."""
    def run(L, cbs):
        model = build(L, "reg")
        model.compile(L.optimizers.SGD(0.05), "mse")
        capsys.readouterr()
        history = model.fit(D["x"], D["reg"], batch_size=16, epochs=3, shuffle=False,
                            verbose=2, validation_data=(D["val_x"], D["val_reg"]),
                            callbacks=cbs)
        return capsys.readouterr().out, history.history

    kwargs = dict(monitor="val_loss", factor=0.5, patience=0, mode="max", verbose=1)
    got_out, got = run(nhanh, [callbacks.ReduceLROnPlateau(**kwargs)])
    want_out, want = keras_once("plateau_fit", lambda: run(
        keras, [keras.callbacks.ReduceLROnPlateau(**kwargs)]))
    assert _masked(got_out) == _masked(want_out)
    assert "learning_rate: 0.0500" in got_out and "reducing learning rate to 0.025" in got_out
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-4)


def test_progbar_logger_given_explicitly_draws_the_bar(capsys):
    model = fresh(0.1)
    model.fit(X, Y, batch_size=16, epochs=2, verbose=2, shuffle=False)
    default = capsys.readouterr().out
    model = fresh(0.1)
    logger = callbacks.ProgbarLogger()
    model.fit(X, Y, batch_size=16, epochs=2, verbose=2, shuffle=False, callbacks=[logger])
    assert _masked(capsys.readouterr().out) == _masked(default)
    assert default.count("Epoch ") == 2 and default.count("4/4 - ") == 2
    assert logger.seen == 4 and logger.target == 4
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0, callbacks=[logger])
    assert capsys.readouterr().out == ""
    # Stopped inside an epoch: the finished line counts the steps that ran.
    stop = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: setattr(
        model, "stop_training", batch == 1))
    model.fit(X, Y, batch_size=16, epochs=2, verbose=2, callbacks=[stop, logger])
    assert capsys.readouterr().out.splitlines()[1].startswith("2/4 - ")


def test_progbar_logger_comes_after_the_users_callbacks(capsys):
    """A line printed by a user's on_epoch_end comes before the epoch's finished bar, unless
    the user puts the ProgbarLogger first (Keras's order)."""
    model = fresh(0.1)
    say = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print("user"))
    model.fit(X, Y, batch_size=16, epochs=1, verbose=2, callbacks=[say])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "user" and lines[1].startswith("4/4 - ")
    model.fit(X, Y, batch_size=16, epochs=1, verbose=2,
              callbacks=[callbacks.ProgbarLogger(), say])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("4/4 - ") and lines[1] == "user"


# --- CSVLogger ---------------------------------------------------------------------------------

CSV_RUNS = [
    [{"loss": 0.5, "accuracy": 0.25}, {"loss": 0.25, "accuracy": 0.5}],
    [{"loss": 0.5, "val_loss": 0.75}, {"loss": np.float32(0.1), "val_loss": 1 / 3}],
    [{"loss": 0.5}, {"loss": 0.4, "val_loss": 0.3}, {"loss": 0.3}],  # validation_freq=2
    [{"loss": 0.5, "vec": np.array([1.0, 2.5]), "name": "a;b"}],
]


def write_csv(cls, path, runs, **kwargs):
    cb = cls(str(path), **kwargs)
    for logs_of_run in runs:  # each run is one fit()
        cb.on_train_begin({})
        for epoch, logs in enumerate(logs_of_run):
            cb.on_epoch_end(epoch, dict(logs))
        cb.on_train_end({})
    return path.read_bytes()


@pytest.mark.engine_independent  # file bookkeeping
@pytest.mark.parametrize("runs", [[r] for r in CSV_RUNS] + [CSV_RUNS[:2]])
@pytest.mark.parametrize("kwargs", [{}, dict(separator=";"), dict(append=True)])
def test_csv_logger_writes_what_keras_writes(runs, kwargs, tmp_path, keras):
    want = write_csv(keras.callbacks.CSVLogger, tmp_path / "keras.csv", runs, **kwargs)
    got = write_csv(callbacks.CSVLogger, tmp_path / "nhanh.csv", runs, **kwargs)
    assert got == want


@pytest.mark.engine_independent
def test_csv_logger_append_resumes_a_file(tmp_path, keras):
    """A second fit with append=True adds rows under the header it finds; a new file starts
    with a header."""
    runs = [CSV_RUNS[0], CSV_RUNS[0]]
    for cls, name in ((keras.callbacks.CSVLogger, "k.csv"), (callbacks.CSVLogger, "n.csv")):
        (tmp_path / name).write_text("")  # an empty file still gets its header
        write_csv(cls, tmp_path / name, runs[:1], append=True)
        write_csv(cls, tmp_path / name, runs[1:], append=True)
    text = (tmp_path / "n.csv").read_text()
    assert text == (tmp_path / "k.csv").read_text()
    assert text.count("epoch,") == 1 and len(text.splitlines()) == 5


def test_csv_logger_through_fit(tmp_path, backend):
    model = fresh(0.1)
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0, validation_split=0.25,
              callbacks=[callbacks.ReduceLROnPlateau(patience=5),
                         callbacks.CSVLogger(tmp_path / "log.csv")])
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0] == "epoch,learning_rate,loss,val_loss"
    history = model.history.history
    for epoch, row in enumerate(rows[1:]):
        cells = row.split(",")
        assert int(cells[0]) == epoch
        assert [float(c) for c in cells[1:]] == [history[k][epoch] for k in
                                                 ("learning_rate", "loss", "val_loss")]
    with pytest.raises(TypeError, match="filename"):
        callbacks.CSVLogger(None)


# --- RemoteMonitor -----------------------------------------------------------------------------

@pytest.fixture
def server():
    """A local HTTP server that records each POST: (path, content type, header X-Run, body)."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, self.headers["Content-Type"], self.headers.get("X-Run"),
                         body.decode()))
            status = 500 if self.path.startswith("/fail") else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def parsed(record):
    path, kind, run, body = record
    if kind == "application/json":
        return path, kind, run, json.loads(body)
    form = urllib.parse.parse_qs(body)
    return path, kind, run, {k: json.loads(v[0]) for k, v in form.items()}


@pytest.mark.engine_independent
@pytest.mark.parametrize("kwargs", [
    {}, dict(send_as_json=True), dict(field="payload", headers={"X-Run": "7"}),
    dict(path="/other/", send_as_json=True, headers={"X-Run": "8"}),
])
def test_remote_monitor_posts_what_keras_posts(kwargs, server, keras):
    root, seen = server
    logs = [{"loss": 0.5, "val_loss": np.float32(0.25)}, {"loss": np.float64(0.125)}]
    for cls in (keras.callbacks.RemoteMonitor, callbacks.RemoteMonitor):
        cb = cls(root=root, **kwargs)
        for epoch, epoch_logs in enumerate(logs):
            cb.on_epoch_end(epoch, dict(epoch_logs))
    assert len(seen) == 4
    want, got = [parsed(r) for r in seen[:2]], [parsed(r) for r in seen[2:]]
    assert got == want
    assert got[0][3] == {"epoch": 0, "loss": 0.5, "val_loss": 0.25} or \
        got[0][3] == {kwargs.get("field", "data"): {"epoch": 0, "loss": 0.5, "val_loss": 0.25}}


def test_remote_monitor_through_fit_and_failures(server, backend):
    root, seen = server
    model = fresh(0.1)
    history = model.fit(X, Y, batch_size=16, epochs=2, verbose=0,
                        callbacks=[callbacks.RemoteMonitor(root=root, send_as_json=True)])
    assert [parsed(r)[3] for r in seen] == [
        {"epoch": e, "loss": history.history["loss"][e]} for e in range(2)]
    with pytest.warns(UserWarning, match="HTTP 500"):
        callbacks.RemoteMonitor(root=root, path="/fail").on_epoch_end(0, {"loss": 1.0})
    with pytest.warns(UserWarning, match="could not reach the server"):
        callbacks.RemoteMonitor(root="http://127.0.0.1:9").on_epoch_end(0, {"loss": 1.0})


# --- SwapEMAWeights ----------------------------------------------------------------------------

@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_matches_keras(swap_on_epoch, keras):
    """Validation runs on the moving averages, training goes on from the trained weights."""
    def run(L, cbs):
        model = build(L, "reg")
        model.compile(L.optimizers.SGD(0.05, use_ema=True, ema_momentum=0.5), "mse")
        history = model.fit(D["x"], D["reg"], batch_size=16, epochs=3, shuffle=False,
                            verbose=0, validation_data=(D["val_x"], D["val_reg"]),
                            callbacks=cbs)
        return history.history, model.get_weights()

    want = keras_once(("swap_ema", swap_on_epoch),
                      lambda: run(keras, [keras.callbacks.SwapEMAWeights(swap_on_epoch)]))
    got = run(nhanh, [callbacks.SwapEMAWeights(swap_on_epoch)])
    plain = run(nhanh, [])
    assert not np.allclose(plain[0]["val_loss"], want[0]["val_loss"], rtol=1e-3)
    for key in want[0]:
        np.testing.assert_allclose(got[0][key], want[0][key], rtol=1e-4, err_msg=key)
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_swap_ema_weights_around_predict_and_errors():
    model = fresh(0.1)
    model.compile(nhanh.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), "mse")
    model.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)  # ends on averages
    trained = [w + 1.0 for w in model.get_weights()]  # weights away from their averages
    model.set_weights(trained)
    averages = [nhanh.ops.convert_to_numpy(model.optimizer.slot(v, "average"))
                for v in model.trainable_variables]
    assert not np.allclose(trained[0], averages[0])
    got = model.predict(X, verbose=0, callbacks=[callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(got, X @ averages[0] + averages[1], rtol=1e-5, atol=1e-5)
    for a, b in zip(model.get_weights(), trained):  # the trained weights are back
        np.testing.assert_array_equal(a, b)
    plain = fresh(0.1)
    plain.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="use_ema=True"):
        plain.evaluate(X, Y, verbose=0, callbacks=[callbacks.SwapEMAWeights()])


@pytest.mark.engine_independent
def test_metrics_tell_monitors_which_way_is_better_as_keras(keras):
    """Every metric class Keras also has says 'up', 'down' or nothing as Keras's does (what
    mode='auto' of EarlyStopping and ReduceLROnPlateau reads)."""
    args = {"IoU": (2, [0]), "MeanIoU": (2,), "OneHotIoU": (2, [0]), "OneHotMeanIoU": (2,),
            "PrecisionAtRecall": (0.5,), "RecallAtPrecision": (0.5,),
            "SensitivityAtSpecificity": (0.5,), "SpecificityAtSensitivity": (0.5,)}
    compared, wrong = 0, []
    for name, cls in nhanh.metrics.CLASSES.items():
        if not hasattr(keras.metrics, name) or name == "MeanMetricWrapper":
            continue
        want = getattr(getattr(keras.metrics, name)(*args.get(name, ())), "_direction", None)
        got = getattr(cls(*args.get(name, ())), "_direction", None)
        compared += 1
        if got != want:
            wrong.append((name, got, want))
    assert wrong == [] and compared >= 40


def test_early_stopping_auto_mode_reads_the_compiled_metric():
    """mode='auto' on an AUC is 'max' (Keras 3 reads the metric's direction, not its name);
    a metric that has none needs mode='min' or 'max'."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = nhanh.Sequential([nhanh.layers.Input((3,)),
                              nhanh.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=[nhanh.metrics.AUC(name="score")])
    stop = callbacks.EarlyStopping(monitor="score", patience=0)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[stop])
    assert stop._direction == "max"
    model.compile("sgd", "binary_crossentropy",
                  metrics=[nhanh.metrics.MeanSquaredError(name="score")])
    stop = callbacks.EarlyStopping(monitor="score")
    model.fit(x, y, epochs=1, verbose=0, callbacks=[stop])
    assert stop._direction == "min"
    model.compile("sgd", "binary_crossentropy",
                  metrics=[nhanh.metrics.TruePositives(name="score")])
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.EarlyStopping("score")])
