"""The training engine: fused stretches of steps agree with step-by-step training."""

import numpy as np
import pytest

import nhanh
from nhanh import callbacks, layers, ops
from helpers import classification_data, linear_data


class SampleCounter(layers.Layer):
    """Identity that counts, in a non-trainable weight, the samples it saw while training."""

    def build(self, input_shape):
        self.seen = self.add_weight((), initializer="zeros", trainable=False, name="seen")

    def call(self, inputs, training=None):
        if training:
            self.seen.assign(self.seen + ops.cast(ops.shape(inputs)[0], "float32"))
        return inputs


def _model(seed):
    nhanh.utils.set_random_seed(seed)
    model = nhanh.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
                              layers.Dropout(0.25), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.mark.parametrize("shuffle", [True, False, "batch"])
def test_fused_and_step_by_step_training_agree(shuffle):
    x, labels = classification_data(n=53)  # 53 = 5 batches of 10 and a partial batch of 3
    histories, weights = [], []
    for per_batch in (False, True):
        model = _model(3)
        cbs = [callbacks.LambdaCallback(on_batch_end=lambda b, logs: None)] if per_batch else []
        nhanh.utils.set_random_seed(17)
        history = model.fit(x, labels, batch_size=10, epochs=3, shuffle=shuffle, verbose=0,
                            validation_split=0.2, callbacks=cbs)
        histories.append(history.history)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
    assert histories[0].keys() == histories[1].keys()
    for key in histories[0]:
        np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=2e-5)


@pytest.mark.parametrize("n,batch_size", [(25, 10), (30, 10), (7, 10)])
def test_every_sample_is_trained_on_exactly_once_per_epoch(n, batch_size):
    counter = SampleCounter()
    model = nhanh.Sequential([layers.Input((2,)), counter, layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    x, y = linear_data(n)
    model.fit(x, y, batch_size=batch_size, epochs=3, verbose=0)
    assert float(counter.seen.numpy()) == 3 * n


def test_steps_per_epoch_limits_the_samples_seen():
    counter = SampleCounter()
    model = nhanh.Sequential([layers.Input((2,)), counter, layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    x, y = linear_data(25)
    model.fit(x, y, batch_size=10, epochs=2, steps_per_epoch=2, verbose=0)
    # As Keras: epoch 2 goes on where epoch 1 stopped (the partial batch of 5, then 10 more).
    assert float(counter.seen.numpy()) == 10 + 10 + 5 + 10
    model.fit(x, y, batch_size=10, epochs=1, steps_per_epoch=3, verbose=0)
    assert float(counter.seen.numpy()) == 35 + 25  # the third step is the partial batch


def test_evaluate_and_predict_fused_match_numpy():
    x, labels = classification_data(n=37)
    model = _model(1)
    probs = model.predict(x, batch_size=8, verbose=0)
    kernel1, bias1, kernel2, bias2 = model.get_weights()
    hidden = np.maximum(x @ kernel1 + bias1, 0)
    logits = hidden @ kernel2 + bias2
    want = np.exp(logits - logits.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    np.testing.assert_allclose(probs, want, rtol=1e-4, atol=1e-6)
    loss, acc = model.evaluate(x, labels, batch_size=8, verbose=0)
    np.testing.assert_allclose(loss, -np.mean(np.log(want[np.arange(37), labels])), rtol=1e-4)
    np.testing.assert_allclose(acc, np.mean(want.argmax(-1) == labels))


def test_per_batch_evaluate_callback_sees_every_batch():
    x, labels = classification_data(n=21)
    model = _model(1)
    seen = []

    class Recorder(callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            seen.append(batch)

    fused = model.evaluate(x, labels, batch_size=5, verbose=0)
    stepped = model.evaluate(x, labels, batch_size=5, verbose=0, callbacks=[Recorder()])
    assert seen == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(fused, stepped, rtol=1e-6)


def test_a_second_fit_and_evaluate_compile_nothing_new(backend):
    x, labels = classification_data(n=50)
    model = _model(2)
    model.fit(x, labels, batch_size=16, epochs=2, verbose=0, validation_data=(x, labels))
    model.evaluate(x, labels, batch_size=16, verbose=0)
    model.predict(x, batch_size=16, verbose=0)
    counts = dict(model._steps.trace_counts)
    model.fit(x, labels, batch_size=16, epochs=2, verbose=0, validation_data=(x, labels))
    model.evaluate(x, labels, batch_size=16, verbose=0)
    model.predict(x, batch_size=16, verbose=0)
    assert model._steps.trace_counts == counts
    assert counts["train"] == 2  # full batches (inside the loop on JAX) and the tail batch
    if backend == "jax":
        assert counts["train_loop"] == 1


def test_learning_rate_changed_by_a_callback_reaches_the_compiled_step():
    x, y = linear_data(20)
    model = nhanh.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(loss="mse", optimizer=nhanh.optimizers.SGD(learning_rate=0.1))
    before = model.get_weights()

    class Freeze(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.learning_rate = 0.0

    model.fit(x, y, epochs=2, batch_size=5, verbose=0, callbacks=[Freeze()])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_steps_per_execution_chooses_the_path_and_not_the_numbers(backend):
    x, labels = classification_data(n=40)
    results = []
    for setting in (1, 4, "auto"):
        model = _model(5)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      steps_per_execution=setting)
        nhanh.utils.set_random_seed(2)
        model.fit(x, labels, batch_size=8, epochs=2, verbose=0)
        results.append(model.get_weights())
        if backend == "jax":
            loops = model._steps.trace_counts["train_loop"]
            assert (loops == 0) if setting == 1 else (loops == 1)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
    with pytest.raises(ValueError, match="steps_per_execution"):
        _model(5).compile(optimizer="adam", loss="mse", steps_per_execution=0)


def test_data_too_large_for_the_device_is_streamed_with_the_same_results(monkeypatch):
    """When in-memory data would take more than half of the device's free memory, batches are
    cut on the host and moved one at a time: same order, same numbers."""
    from nhanh.training.data import ArrayData

    x, labels = classification_data(n=53)
    streamed = []
    original = ArrayData.host_batches

    def counted(self, *args, **kwargs):
        streamed.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ArrayData, "host_batches", counted)
    results = []
    for free in (None, 100):  # a host-memory engine; a device with 100 bytes free
        monkeypatch.setattr(nhanh.backend.get(), "device_memory_free", lambda: free)
        model = _model(4)
        nhanh.utils.set_random_seed(9)
        history = model.fit(x, labels, batch_size=10, epochs=2, verbose=0,
                            validation_data=(x[:23], labels[:23]))
        results.append((history.history, model.get_weights(),
                        model.evaluate(x, labels, batch_size=10, verbose=0),
                        model.predict(x, batch_size=10, verbose=0), len(streamed)))
    (h0, w0, e0, p0, streamed0), (h1, w1, e1, p1, streamed1) = results
    for key in h0:
        np.testing.assert_allclose(h0[key], h1[key], rtol=1e-5, atol=1e-6)
    for a, b in zip(w0 + [np.asarray(e0), p0], w1 + [np.asarray(e1), p1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # fit's 2 epochs, 2 validations, evaluate, predict: all streamed, only in the second run
    assert streamed0 == 0 and streamed1 == 6


def test_two_variables_holding_one_buffer_train_apart():
    """assign(other.value) lets two Variables hold one buffer; the step must neither donate
    it twice (JAX) nor update it in place for both (PyTorch)."""
    x = np.random.default_rng(0).random((32, 3)).astype("float32")
    y = x.sum(1)
    model = nhanh.Sequential([layers.Input((3,)), layers.Dense(3), layers.Dense(3),
                              layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    first, second = model.layers[0].kernel, model.layers[1].kernel
    second.assign(first.value)
    same = first.numpy().copy()
    model.train_on_batch(x, y)
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.allclose(first.numpy(), same) and not np.allclose(second.numpy(), same)
    assert not np.allclose(first.numpy(), second.numpy())  # each got its own gradient
