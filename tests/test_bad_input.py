"""Each bad input raises at once, names the problem, and changes no weight or optimizer slot."""

import numpy as np
import pytest

import nhanh
from nhanh import layers
from helpers import assert_same, linear_data, linear_model, snapshot


@pytest.fixture
def trained():
    x, y = linear_data(20)
    model = linear_model()
    model.fit(x, y, epochs=1, batch_size=5, verbose=0)  # optimizer slots exist
    return model, x, y


@pytest.mark.parametrize("call,match", [
    (lambda m, x, y: m.fit(x, y[:-1], verbose=0), "20 samples.*19 samples"),
    (lambda m, x, y: m.fit(x[:, :1], y, verbose=0), r"built for inputs of shape \(None, 2\)"),
    (lambda m, x, y: m.fit(np.c_[x, x], y, verbose=0), r"samples of shape \(4,\)"),
    (lambda m, x, y: m.evaluate(x[:, :1], y, verbose=0), "built for inputs"),
    (lambda m, x, y: m.predict(x[:, :1], verbose=0), "built for inputs"),
    (lambda m, x, y: m.train_on_batch(x, y[:3]), "samples"),
    (lambda m, x, y: m.fit(x.astype(str), y, verbose=0), "must be numeric"),
    (lambda m, x, y: m.fit(x, np.array(["a"] * 20), verbose=0), "must be numeric"),
    (lambda m, x, y: m.fit(x, y, validation_split=1.0, verbose=0), r"validation_split.*\[0, 1\)"),
    (lambda m, x, y: m.fit(x, y, validation_split=-0.1, verbose=0), "validation_split"),
    (lambda m, x, y: m.fit(x, y, batch_size=0, verbose=0), "batch_size must be a positive"),
    (lambda m, x, y: m.fit(x, y, epochs=2.5, verbose=0), "epochs must be a positive"),
    (lambda m, x, y: m.fit(x, y, verbose=3), "verbose must be"),
    (lambda m, x, y: m.fit(x, y, validation_data=(x[:, :1], y), verbose=0), "built for inputs"),
    (lambda m, x, y: m.fit(x, y, validation_data=(x, y[:3]), verbose=0), "samples"),
    (lambda m, x, y: m.set_weights([np.zeros((2, 1))]), "has 2 weight"),
    (lambda m, x, y: m.set_weights([np.zeros((3, 1)), np.zeros(1)]), r"shape \(2, 1\)"),
    (lambda m, x, y: m.fit(x, y, class_weight={0: 1.0}, sample_weight=np.ones(len(y)),
                           verbose=0), "class_weight and sample_weight"),
    (lambda m, x, y: m.fit(x, y, class_weight=[1.0, 2.0], verbose=0), "class_weight"),
])
def test_bad_input_raises_and_changes_nothing(trained, call, match):
    model, x, y = trained
    before = snapshot(model)
    with pytest.raises((ValueError, TypeError), match=match):
        call(model, x, y)
    assert_same(before, snapshot(model))


@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_methods_before_compile(method):
    model = nhanh.Sequential([layers.Dense(1, input_shape=(2,))])
    x, y = linear_data(4)
    before = model.get_weights()
    with pytest.raises(RuntimeError, match=f"compile the model before calling {method}"):
        getattr(model, method)(x, y)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs,match", [
    ({"loss": "mse_", "optimizer": "sgd"}, "Unknown loss 'mse_'.*'mse'"),
    ({"loss": "mse", "optimizer": "adm"}, "Unknown optimizer 'adm'.*'adam'"),
    ({"loss": "mse", "optimizer": "sgd", "metrics": ["acuracy"]}, "Unknown metric.*'accuracy'"),
])
def test_unknown_names_in_compile(kwargs, match):
    model = nhanh.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match=match):
        model.compile(**kwargs)
    assert not model.compiled


def test_unknown_activation_and_initializer_names():
    with pytest.raises(ValueError, match="Unknown activation 'relux'.*'relu'"):
        layers.Dense(1, activation="relux")
    with pytest.raises(ValueError, match="Unknown initializer 'glorot_unifrom'.*'glorot_uniform'"):
        layers.Dense(1, kernel_initializer="glorot_unifrom")
