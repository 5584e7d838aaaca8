"""Small builders shared by the model tests."""

import numpy as np

import nhanh
from nhanh import layers


def linear_data(n=100, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 2))
    y = 2 * x[:, 0] + 3 * x[:, 1] + 4 + 0.2 * rng.standard_normal(n)
    return x, y


def linear_model(lr=0.1):
    model = nhanh.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(loss="mse", optimizer=nhanh.optimizers.SGD(learning_rate=lr))
    return model


def classification_data(n=120, classes=3, features=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3, size=(classes, features))
    labels = rng.integers(0, classes, n)
    x = centers[labels] + rng.normal(size=(n, features))
    return x.astype("float32"), labels.astype("int32")


def snapshot(model):
    weights = [w.copy() for w in model.get_weights()]
    opt = [np.array(nhanh.ops.convert_to_numpy(v)) for v in model.optimizer.variables] \
        if getattr(model, "optimizer", None) is not None else []
    return weights, opt


def assert_same(a, b):
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        np.testing.assert_array_equal(x, y)
    assert len(a[0]) == len(b[0]) and len(a[1]) == len(b[1])


_ONCE: dict = {}


def keras_once(key, compute):
    """`compute()` (Keras's side of a comparison, as NumPy) run once per process for `key`:
    Keras's numbers do not depend on nhanh's engine, and the engine parametrizations of a test
    run on one xdist worker (tests/conftest.py), so they share it instead of paying Keras's
    compiles twice."""
    if key not in _ONCE:
        _ONCE[key] = compute()
    return _ONCE[key]
