"""Subclassed models: custom call, custom train_step / test_step, add_loss, tracked metrics."""

import numpy as np
import pytest

import nhanh
from nhanh import layers, ops
from helpers import linear_data


class Net(nhanh.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(6, activation="tanh")
        self.out = layers.Dense(1)

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))


class HandWrittenStep(Net):
    """The default training step written out by hand, as a user would."""

    def __init__(self):
        super().__init__()
        self.loss_tracker = nhanh.metrics.Mean(name="loss")
        self.mae = nhanh.metrics.MeanAbsoluteError(name="mae")

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae]

    def train_step(self, data):
        x, y = data

        def forward():
            y_pred = self(x, training=True)
            return self.compute_loss(x, y, y_pred), y_pred

        (loss, y_pred), grads = self.value_and_grad(forward)
        self.optimizer.apply(grads, self.trainable_variables)
        self.loss_tracker.update_state(loss, sample_weight=ops.shape(x)[0])
        self.mae.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae.result()}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.loss_tracker.update_state(self.compute_loss(x, y, y_pred),
                                       sample_weight=ops.shape(x)[0])
        self.mae.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_custom_train_step_matches_built_in_training():
    x, y = linear_data(40)
    nhanh.utils.set_random_seed(3)
    custom = HandWrittenStep()
    custom.compile(optimizer="adam", loss="mse")
    custom.build((None, 2))
    nhanh.utils.set_random_seed(3)
    plain = Net()
    plain.compile(optimizer="adam", loss="mse", metrics=["mae"])
    plain.build((None, 2))
    plain.set_weights(custom.get_weights())
    nhanh.utils.set_random_seed(8)
    h1 = custom.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_split=0.25)
    nhanh.utils.set_random_seed(8)
    h2 = plain.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_split=0.25)
    for a, b in zip(custom.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert list(h1.history) == list(h2.history) == ["loss", "mae", "val_loss", "val_mae"]
    for key in h1.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=1e-5)


class PenalizedDense(layers.Layer):
    """Dense without bias that adds rate * mean(output^2) to the loss through add_loss."""

    def __init__(self, units, rate, **kwargs):
        super().__init__(**kwargs)
        self.units, self.rate = units, rate

    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], self.units), initializer="ones")

    def call(self, inputs):
        out = ops.matmul(inputs, self.kernel)
        self.add_loss(self.rate * ops.mean(ops.square(out)))
        return out


def test_add_loss_enters_the_training_loss_and_its_gradient():
    x = np.array([[1.0, 2.0], [0.5, -1.0]], "float32")
    y = np.array([[1.0], [0.0]], "float32")
    model = nhanh.Sequential([layers.Input((2,)), PenalizedDense(1, rate=0.5)])
    model.compile(loss="mse", optimizer=nhanh.optimizers.SGD(learning_rate=0.1))
    out = x @ np.ones((2, 1))
    expected = np.mean((out - y) ** 2) + 0.5 * np.mean(out ** 2)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), expected, rtol=1e-5)
    model.train_on_batch(x, y)
    grad = 2 * x.T @ (out - y) / 2 + 0.5 * 2 * x.T @ out / 2
    np.testing.assert_allclose(model.get_weights()[0], 1 - 0.1 * grad, rtol=1e-5)


def test_activity_regularizer_adds_to_loss():
    x = np.array([[1.0, -2.0]], "float32")
    model = nhanh.Sequential([layers.Dense(1, input_shape=(2,), kernel_initializer="ones",
                                           activity_regularizer=nhanh.regularizers.L1(0.1))])
    model.compile(loss="mse", optimizer="sgd")
    out = -1.0
    np.testing.assert_allclose(model.evaluate(x, np.zeros((1, 1)), verbose=0),
                               out ** 2 + 0.1 * abs(out), rtol=1e-5)


def test_batch_norm_statistics_update_inside_fit():
    from nhanh.layers.normalization import BatchNormalization

    x = np.random.default_rng(0).normal(3.0, 2.0, size=(64, 2)).astype("float32")
    model = nhanh.Sequential([BatchNormalization(momentum=0.0, input_shape=(2,)),
                              layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(x, np.zeros(64), batch_size=64, epochs=1, shuffle=False, verbose=0)
    gamma, beta, mean, var = model.layers[0].get_weights()
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(var, x.var(0), rtol=1e-4)


def test_weights_created_in_call_after_build_are_reported():
    class Sloppy(layers.Layer):
        def call(self, inputs):
            w = self.add_weight((ops.shape(inputs)[-1], 1), name="late")
            return ops.matmul(inputs, w)

    layer = Sloppy()
    with pytest.raises(ValueError, match=r"'late' in call\(\) after it was built"):
        layer(np.ones((2, 3), "float32"))

    class MakesLayersInCall(nhanh.Model):
        def call(self, inputs):
            return layers.Dense(1)(inputs)

    model = MakesLayersInCall()
    model.compile(loss="mse", optimizer="sgd")
    x, y = linear_data(8)
    with pytest.raises(RuntimeError, match="created inside a training step"):
        model.fit(x, y, epochs=1, verbose=0)


def test_summary_of_a_subclassed_model():
    model = Net()
    model.build((None, 2))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(Dense)" in text and "Total params: 25" in text  # 2*6+6 + 6*1+1
