"""keras.metrics names nhanh added last: CategoricalHinge (a metric class) and
binary_focal_crossentropy / categorical_focal_crossentropy / categorical_hinge (the loss
functions, re-exported as Keras 3 does), checked against real Keras 3."""

import inspect
import os

import numpy as np
import pytest

import nhanh
from nhanh import metrics

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(11)
N, C = 6, 4
FUNCTIONS = ["binary_focal_crossentropy", "categorical_focal_crossentropy", "categorical_hinge"]


def _batches(count=3):
    out = []
    for _ in range(count):
        y = np.eye(C, dtype="float32")[RNG.integers(0, C, N)]
        logits = RNG.normal(size=(N, C)).astype("float32") * 2
        p = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype("float32")
        w = RNG.uniform(0.1, 2.0, N).astype("float32")
        out.append((y, p, w))
    return out


@pytest.mark.engine_independent
def test_same_kinds_of_names_as_keras():
    """Keras exports CategoricalHinge as a class and the three others as plain functions."""
    assert inspect.isclass(keras.metrics.CategoricalHinge)
    assert issubclass(metrics.CategoricalHinge, metrics.Metric)
    for name in FUNCTIONS:
        assert inspect.isfunction(getattr(keras.metrics, name))
        assert getattr(metrics, name) is getattr(nhanh.losses, name)
        assert name in metrics.__all__
    assert "CategoricalHinge" in metrics.__all__
    assert metrics.CategoricalHinge().get_config() == \
        keras.metrics.CategoricalHinge().get_config()


@pytest.mark.parametrize("weighted", [False, True])
def test_categorical_hinge_metric_accumulates_like_keras(weighted):
    ours, theirs = metrics.CategoricalHinge(), keras.metrics.CategoricalHinge()
    for y, p, w in _batches():
        p = p * 3 - 1  # scores, not only probabilities
        sw = w if weighted else None
        ours.update_state(y, p, sample_weight=sw)
        theirs.update_state(y, p, sample_weight=sw)
        np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)
    got = float(ours.result())
    ours.reset_state()
    assert float(ours.result()) == 0.0
    clone = metrics.CategoricalHinge.from_config(ours.get_config())
    assert clone.name == "categorical_hinge" and got > 0


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_equal_keras(name):
    for y, p, _ in _batches(1):
        ours = nhanh.ops.convert_to_numpy(getattr(metrics, name)(y, p))
        theirs = np.asarray(getattr(keras.metrics, name)(y, p))
        assert ours.shape == theirs.shape == (N,)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_as_weighted_running_means_equal_keras(name):
    """A function in a MeanMetricWrapper, over several weighted batches, as compile() uses it."""
    ours = metrics.MeanMetricWrapper(getattr(metrics, name), name=name)
    theirs = keras.metrics.MeanMetricWrapper(getattr(keras.metrics, name), name=name)
    for y, p, w in _batches():
        ours.update_state(y, p, sample_weight=w)
        theirs.update_state(y, p, sample_weight=w)
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)


def test_logged_in_fit_as_keras_computes_them():
    """With a zero learning rate the weights stay put, so each logged value must equal Keras's
    metric computed on the model's own predictions (`metrics` ignore sample weights in Keras;
    `weighted_metrics` use them)."""
    x = RNG.normal(size=(10, 3)).astype("float32")
    y = np.eye(C, dtype="float32")[RNG.integers(0, C, 10)]
    sw = RNG.uniform(0.1, 2.0, 10).astype("float32")
    model = nhanh.Sequential([nhanh.Input((3,)), nhanh.layers.Dense(C, activation="softmax")])
    model.compile(optimizer=nhanh.optimizers.SGD(learning_rate=0.0), loss="mse",
                  metrics=[metrics.CategoricalHinge(), metrics.binary_focal_crossentropy,
                           metrics.categorical_focal_crossentropy],
                  weighted_metrics=[metrics.CategoricalHinge(name="weighted_hinge")])
    history = model.fit(x, y, sample_weight=sw, batch_size=4, epochs=1, verbose=0)
    pred = np.asarray(model.predict(x, verbose=0))
    logs = {k: v[-1] for k, v in history.history.items()}
    assert set(logs) == {"loss", "categorical_hinge", "binary_focal_crossentropy",
                         "categorical_focal_crossentropy", "weighted_hinge"}
    for name in [*FUNCTIONS, "weighted_hinge"]:
        fn = getattr(keras.metrics, "categorical_hinge" if name == "weighted_hinge" else name)
        ref = keras.metrics.MeanMetricWrapper(fn)
        ref.update_state(y, pred, sample_weight=sw if name == "weighted_hinge" else None)
        np.testing.assert_allclose(logs[name], float(ref.result()), rtol=1e-5, err_msg=name)
