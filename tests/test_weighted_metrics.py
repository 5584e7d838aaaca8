"""compile(metrics=..., weighted_metrics=...): plain metrics ignore sample weights, weighted ones
use them (and class weights), and a name used by both gets Keras's 'weighted_' prefix. Checked
against NumPy on a step that does not train, and against real Keras 3's History."""

import functools
import os

import numpy as np
import pytest

import nhanh
from nhanh import layers

W0 = np.array([[0.4], [-0.3], [0.2], [0.1]], "float32")
B0 = np.array([0.05], "float32")


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * rng.normal(size=n) > 0).astype("float32")
    sw = rng.uniform(0.0, 2.0, n).astype("float32")
    return x, y, sw


def _model(lr, metrics=("accuracy", "mse"), weighted=("accuracy", "mse")):
    model = nhanh.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(4,))])
    model.compile(optimizer=nhanh.optimizers.SGD(learning_rate=lr), loss="binary_crossentropy",
                  metrics=list(metrics) if metrics else None,
                  weighted_metrics=list(weighted) if weighted else None)
    model.set_weights([W0, B0])
    return model


def _numpy_logs(x, y, sw):
    """Every log of a model with weights W0, B0, from NumPy."""
    p = 1 / (1 + np.exp(-(x.astype(np.float64) @ W0 + B0)))[:, 0]
    eps = 1e-7
    pc = np.clip(p, eps, 1 - eps)
    bce = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    hit = ((p > 0.5) == (y == 1)).astype(float)
    se = (p - y) ** 2
    n = len(y)
    return {"loss": np.sum(sw * bce) / n, "accuracy": hit.mean(), "mse": se.mean(),
            "weighted_accuracy": np.sum(sw * hit) / sw.sum(),
            "weighted_mse": np.sum(sw * se) / sw.sum()}


def _assert_logs(got: dict, expected: dict, rtol=1e-5):
    assert set(got) == set(expected)
    for k in expected:
        np.testing.assert_allclose(got[k], expected[k], rtol=rtol, atol=1e-6, err_msg=k)


def test_weighted_and_plain_metrics_against_numpy():
    x, y, sw = _data()
    model = _model(lr=0.0)
    expected = _numpy_logs(x, y, sw)
    _assert_logs(model.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0,
                                return_dict=True), expected)
    history = model.fit(x, y, sample_weight=sw, batch_size=8, epochs=1, verbose=0)
    _assert_logs({k: v[0] for k, v in history.history.items()}, expected)
    # The weights are not uniform, so weighted and plain results really differ here.
    assert abs(expected["weighted_accuracy"] - expected["accuracy"]) > 0.01


def test_without_sample_weight_weighted_equals_plain():
    x, y, _ = _data()
    logs = _model(lr=0.0).evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    _assert_logs(logs, _numpy_logs(x, y, np.ones(len(y))))
    assert logs["weighted_accuracy"] == logs["accuracy"] and logs["weighted_mse"] == logs["mse"]


def test_weighted_metrics_alone_keep_their_plain_names():
    x, y, sw = _data()
    model = _model(lr=0.0, metrics=None, weighted=("accuracy",))
    logs = model.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0, return_dict=True)
    expected = _numpy_logs(x, y, sw)
    _assert_logs(logs, {"loss": expected["loss"], "accuracy": expected["weighted_accuracy"]})


def test_class_weight_feeds_weighted_metrics_only():
    x, y, _ = _data()
    cw = {0: 0.5, 1: 2.0}
    model = _model(lr=0.0)
    history = model.fit(x, y, class_weight=cw, batch_size=8, epochs=1, verbose=0)
    expected = _numpy_logs(x, y, np.where(y == 1, 2.0, 0.5))
    _assert_logs({k: v[0] for k, v in history.history.items()}, expected)


@functools.lru_cache(maxsize=None)
def _keras_history(use_class_weight: bool):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    x, y, sw = _data()
    xv, yv, swv = _data(12, seed=1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy",
                  metrics=["accuracy", "mse"], weighted_metrics=["accuracy", "mse"])
    model.set_weights([W0, B0])
    weights = dict(class_weight={0: 0.5, 1: 2.0}) if use_class_weight else \
        dict(sample_weight=sw)
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                        validation_data=(xv, yv, swv), **weights)
    return {k: list(v) for k, v in history.history.items()}


@pytest.mark.parametrize("use_class_weight", [False, True])
def test_history_matches_keras(use_class_weight):
    """Three epochs of training with validation: every log, training and validation, plain and
    weighted, as Keras 3 reports it."""
    expected = _keras_history(use_class_weight)
    x, y, sw = _data()
    xv, yv, swv = _data(12, seed=1)
    model = _model(lr=0.5)
    weights = dict(class_weight={0: 0.5, 1: 2.0}) if use_class_weight else \
        dict(sample_weight=sw)
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                        validation_data=(xv, yv, swv), **weights)
    assert set(history.history) == set(expected)
    for k, v in expected.items():
        np.testing.assert_allclose(history.history[k], v, rtol=1e-4, atol=1e-6, err_msg=k)


def test_repeated_metric_names_are_numbered_like_keras():
    """Keras 3 gives ['loss', 'mse', 'mse_1', 'mse_2', 'weighted_mse', 'weighted_mse_1'] for
    metrics=['mse'] * 3, weighted_metrics=['mse'] * 2 (checked with Keras 3.15)."""
    x, y, sw = _data()
    model = _model(lr=0.0, metrics=["mse"] * 3, weighted=["mse"] * 2)
    logs = model.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "mse", "mse_1", "mse_2", "weighted_mse", "weighted_mse_1"]
    expected = _numpy_logs(x, y, sw)
    for k in ("mse", "mse_1", "mse_2"):
        np.testing.assert_allclose(logs[k], expected["mse"], rtol=1e-5)
    for k in ("weighted_mse", "weighted_mse_1"):
        np.testing.assert_allclose(logs[k], expected["weighted_mse"], rtol=1e-5)
