"""Keras behaviours users rely on, each run on nhanh and on real Keras 3 in the same process:
subclassed models with arguments of their own (plain and functional), Sequential's
inputs/outputs for feature extraction, add_loss-only training, SeedGenerators inside
compiled steps and predict, and Normalization's mean/variance."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import nhanh

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

X = np.arange(12, dtype="float32").reshape(4, 3) / 10.0


def _fit_weights(lib, model, x, y=None, epochs=2):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = model.fit(x, y, epochs=epochs, batch_size=4, shuffle=False, verbose=0)
    return history.history["loss"], [np.asarray(w) for w in model.get_weights()]


# --- 1. subclassed models with positional arguments ------------------------------------------

def _functional_subclass(lib):
    class Head(lib.Model):
        def __init__(self, units, activation):
            inputs = lib.Input((3,))
            hidden = lib.layers.Dense(units, activation=activation, kernel_initializer="ones",
                                      name="hidden")(inputs)
            super().__init__(inputs, lib.layers.Dense(1, kernel_initializer="ones")(hidden))
            self.units = units

        def twice(self, x):
            return 2 * self(x)

    return Head


def test_functional_subclass_with_own_arguments():
    """super().__init__(inputs, outputs) from a subclass's own __init__(units, activation)
    makes a functional model that keeps the subclass's methods and attributes."""
    lib = nhanh
    model = _functional_subclass(lib)(2, "relu")
    assert model.units == 2 and [type(la).__name__ for la in model.layers] == \
        ["InputLayer", "Dense", "Dense"]
    assert tuple(model.output_shape) == (None, 1)
    np.testing.assert_allclose(lib.ops.convert_to_numpy(model.twice(X)),
                               2 * 2 * X.sum(1, keepdims=True), rtol=1e-5)
    model.compile(lib.optimizers.SGD(0.01), "mse")
    losses, _ = _fit_weights(lib, model, X, np.zeros((4, 1), "float32"), epochs=1)
    assert np.isfinite(losses[0])
    assert model.get_layer("hidden").output.shape == (None, 2)


def test_functional_subclass_trains_like_keras():
    nh, ke = _functional_subclass(nhanh)(2, "relu"), _functional_subclass(keras)(2, "relu")
    y = np.ones((4, 1), "float32")
    results = []
    for lib, model in ((nhanh, nh), (keras, ke)):
        model.compile(lib.optimizers.SGD(0.01), "mse")
        results.append(_fit_weights(lib, model, X, y))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert "layers" not in nh.get_config()  # its own __init__ could not take the graph


def test_plain_subclass_with_positional_arguments_fits_and_summarises():
    class Net(nhanh.Model):
        def __init__(self, units, activation):
            super().__init__()
            self.hidden = nhanh.layers.Dense(units, activation=activation)
            self.out = nhanh.layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    model = Net(4, "relu")
    model.compile("sgd", "mse")
    losses, _ = _fit_weights(nhanh, model, X, np.zeros((4, 1), "float32"), epochs=1)
    assert np.isfinite(losses[0]) and model.count_params() == 3 * 4 + 4 + 4 + 1
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 21" in "\n".join(lines)


def test_non_tensor_positional_arguments_to_model_init_raise_without_changing_the_class():
    class Wrong(nhanh.Model):
        def __init__(self, units):
            super().__init__(units)

    with pytest.raises(TypeError, match=r"call super\(\).__init__\(\) without them"):
        Wrong(3)
    assert Wrong.__bases__ == (nhanh.Model,)


# --- 2. Sequential inputs / outputs and feature extraction -------------------------------------

def _stack(lib):
    rng = np.random.default_rng(0)
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, activation="relu", name="h"),
                            lib.layers.Dense(2, name="o")])
    model.set_weights([rng.normal(size=w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


def test_sequential_inputs_outputs_and_feature_extraction_match_keras():
    nh, ke = _stack(nhanh), _stack(keras)
    for model in (nh, ke):
        assert [tuple(t.shape) for t in model.inputs] == [(None, 3)]
        assert [tuple(t.shape) for t in model.outputs] == [(None, 2)]
        assert model.get_layer(index=-1).name == "o"
    features = [np.asarray(lib.Model(m.inputs, m.layers[-2].output).predict(X, verbose=0))
                for lib, m in ((nhanh, nh), (keras, ke))]
    np.testing.assert_allclose(features[0], features[1], rtol=1e-5, atol=1e-6)
    both = nhanh.Model(nh.inputs, [layer.output for layer in nh.layers])
    assert [tuple(s) for s in both.output_shape] == [(None, 4), (None, 2)]


def test_unbuilt_sequential_has_no_inputs_yet():
    model = nhanh.Sequential([nhanh.layers.Dense(2)])
    with pytest.raises(AttributeError, match="no defined inputs yet"):
        model.inputs
    model.build((None, 5))
    assert tuple(model.inputs[0].shape) == (None, 5)
    assert tuple(model.outputs[0].shape) == (None, 2)


def test_get_layer_takes_a_name_or_an_index():
    model = _stack(nhanh)
    with pytest.raises(ValueError, match="exactly one"):
        model.get_layer()
    with pytest.raises(ValueError, match="no index -3"):
        model.get_layer(index=-3)


# --- 3. add_loss without a compiled loss, and nothing to train ---------------------------------

def _add_loss_models(lib):
    class NothingToTrain(lib.Model):
        def call(self, x):
            self.add_loss(lib.ops.mean(x) * 2.0)
            return x

    class AddedLossOnly(lib.Model):
        def __init__(self):
            super().__init__()
            self.dense = lib.layers.Dense(1, kernel_initializer="ones")

        def call(self, x):
            out = self.dense(x)
            self.add_loss(lib.ops.mean(lib.ops.square(out)))
            return out

    return NothingToTrain, AddedLossOnly


def test_added_loss_alone_trains_as_in_keras():
    results = []
    for lib in (nhanh, keras):
        _, added_only = _add_loss_models(lib)
        model = added_only()
        model.compile(lib.optimizers.SGD(0.01))  # no loss: the added loss alone, y unused
        results.append(_fit_weights(lib, model, X))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_model_without_trainable_weights_fits_on_its_added_loss_and_warns():
    nothing, added_only = _add_loss_models(nhanh)
    model = nothing()
    model.compile("sgd")
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        history = model.fit(X, epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [2 * X.mean()] * 2, rtol=1e-6)
    np.testing.assert_allclose(model.evaluate(X, verbose=0), 2 * X.mean(), rtol=1e-6)
    frozen = added_only()
    frozen(X)
    frozen.trainable = False
    frozen.compile("sgd", "mse")
    with pytest.warns(UserWarning, match="trainable weights"):
        loss = frozen.train_on_batch(X, np.zeros((4, 1), "float32"))
    sums = X.sum(1)
    np.testing.assert_allclose(loss, 2 * np.mean(sums ** 2), rtol=1e-5)


def test_compiled_metrics_still_need_targets():
    _, added_only = _add_loss_models(nhanh)
    model = added_only()
    model.compile("sgd", metrics=["mae"])
    with pytest.raises(ValueError, match="needs targets"):
        model.fit(X, verbose=0)


# --- 4. SeedGenerator inside compiled steps and predict ----------------------------------------

def _noise_layers(lib):
    class InitNoise(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = lib.random.SeedGenerator(1)

        def call(self, x):
            return x + lib.random.normal(lib.ops.shape(x), seed=self.seed_generator)

    class BuildNoise(lib.layers.Layer):
        def build(self, input_shape):
            self.generators = [lib.random.SeedGenerator(2)]

        def call(self, x):
            return x + lib.random.uniform(lib.ops.shape(x), seed=self.generators[0])

    return InitNoise, BuildNoise


def _noisy_model(noise):
    model = nhanh.Sequential([nhanh.Input((3,)),
                              nhanh.layers.Dense(3, kernel_initializer="zeros"), noise()])
    model.compile(nhanh.optimizers.SGD(0.0), "mse")
    return model


def test_seed_generator_draws_anew_each_step_and_predict_and_repeats():
    def run():
        model = _noisy_model(_noise_layers(nhanh)[0])
        losses, _ = _fit_weights(nhanh, model, X, np.zeros((4, 3), "float32"), epochs=3)
        x = np.zeros((6, 3), "float32")
        first, second = (model.predict(x, batch_size=3, verbose=0) for _ in range(2))
        evaluated = [model.evaluate(x, x, batch_size=3, verbose=0) for _ in range(2)]
        return losses, first, second, evaluated

    losses, first, second, evaluated = run()
    assert len(set(losses)) == 3  # each step drew anew
    assert not np.allclose(first[:3], first[3:])  # each predict batch too
    assert not np.allclose(first, second)  # and each predict call
    assert evaluated[0] != evaluated[1]
    again = run()  # the same seeds: the same draws
    np.testing.assert_array_equal(losses, again[0])
    np.testing.assert_array_equal(first, again[1])


def test_seed_generators_listed_in_an_attribute_are_state_too():
    model = _noisy_model(_noise_layers(nhanh)[1])
    losses, _ = _fit_weights(nhanh, model, X, np.zeros((4, 3), "float32"), epochs=3)
    assert len(set(losses)) == 3


def test_seed_generator_in_uncompiled_functional_predict_follows_eager_draws():
    """Keras's stream: a fresh layer's first predict draws what its first eager call would."""
    outs = {}
    for lib in (nhanh, keras):
        init_noise = _noise_layers(lib)[0]
        eager = init_noise()
        calls = [np.asarray(eager(np.zeros((2, 3), "float32"))) for _ in range(2)]
        inputs = lib.Input((3,))
        model = lib.Model(inputs, init_noise()(inputs))
        preds = [model.predict(np.zeros((2, 3), "float32"), verbose=0) for _ in range(2)]
        assert not np.allclose(calls[0], calls[1]) and not np.allclose(preds[0], preds[1])
        outs[lib.__name__] = (calls, preds)
    for a, b in zip(outs["nhanh"][1], outs["nhanh"][0]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


# --- 5. Normalization's mean and variance ------------------------------------------------------

DATA = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 7.0]], "float32")


@pytest.mark.parametrize("kwargs", [{}, {"axis": None}, {"invert": True},
                                    {"mean": [1.0, 2.0], "variance": [4.0, 9.0]},
                                    {"mean": 3.0, "variance": 4.0, "invert": True}],
                         ids=["adapt", "adapt_axis_none", "adapt_invert", "given", "given_inv"])
def test_normalization_mean_variance_match_keras(kwargs):
    got = {}
    for lib in (nhanh, keras):
        layer = lib.layers.Normalization(**kwargs)
        assert layer.mean is None  # not built yet
        if "mean" in kwargs:
            out = layer(DATA)
        else:
            layer.adapt(DATA)
            out = layer(DATA)
        got[lib.__name__] = (np.asarray(layer.mean), np.asarray(layer.variance), np.asarray(out))
    for a, b in zip(got["nhanh"], got["keras"]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# --- 6. the `training` flag follows the enclosing call ----------------------------------------

def _dropout_subclass(lib):
    class Net(lib.Model):  # call() takes no `training`: Keras still hands it to the Dropout
        def __init__(self):
            super().__init__()
            self.block = lib.Sequential([lib.layers.Dropout(0.5, seed=3)])

        def call(self, x):
            return self.block(x)

    return Net()


def _zero_fraction(out) -> float:
    return float(np.mean(np.asarray(out) == 0))


def test_training_flag_reaches_layers_the_model_calls_without_passing_it():
    x = np.ones((64, 16), "float32")
    for lib in (nhanh, keras):
        net = _dropout_subclass(lib)
        assert _zero_fraction(net(x, training=True)) > 0.3, lib.__name__
        np.testing.assert_array_equal(np.asarray(net(x, training=False)), x)
        np.testing.assert_array_equal(np.asarray(net(x)), x)  # the Dropout's own default


def test_training_defaults_to_the_layers_own_call_default():
    class AlwaysUnlessTold(nhanh.layers.Layer):  # a preprocessing-style default of True
        def call(self, x, training=True):
            return x * 0 if training else x

    class Outer(nhanh.layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = AlwaysUnlessTold()

        def call(self, x):
            return self.inner(x)

    x = np.ones((2, 3), "float32")
    assert float(np.asarray(AlwaysUnlessTold()(x)).sum()) == 0  # its default applies
    assert float(np.asarray(Outer()(x, training=False)).sum()) == 6  # the caller's flag wins
