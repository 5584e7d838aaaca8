"""compile / fit / evaluate / predict / *_on_batch, checked against closed forms."""

import numpy as np
import pytest

import nhanh
from nhanh import callbacks, layers
from conftest import to_numpy
from helpers import classification_data, linear_data, linear_model


def test_fit_recovers_linear_coefficients():
    x, y = linear_data()
    model = linear_model()
    history = model.fit(x, y, epochs=30, batch_size=2, verbose=0)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel[:, 0], [2, 3], atol=0.15)
    np.testing.assert_allclose(bias, [4], atol=0.15)
    assert list(history.history) == ["loss"] and len(history.history["loss"]) == 30
    assert history.epoch == list(range(30))
    assert history.history["loss"][-1] < 0.06


def test_one_sgd_step_matches_hand_computed_gradient():
    x = np.array([[1.0, 2.0], [3.0, -1.0]], "float32")
    y = np.array([1.0, 0.0], "float32")
    model = nhanh.Sequential([layers.Dense(1, input_shape=(2,), kernel_initializer="zeros")])
    model.compile(loss="mse", optimizer=nhanh.optimizers.SGD(learning_rate=0.1))
    w = np.array([[0.5], [-0.25]], "float32")
    b = np.array([0.1], "float32")
    model.set_weights([w, b])
    loss = model.train_on_batch(x, y)
    pred = x @ w + b
    err = pred[:, 0] - y
    np.testing.assert_allclose(loss, np.mean(err ** 2), rtol=1e-5)
    grad_w = 2 * x.T @ err[:, None] / len(y)
    grad_b = 2 * err.mean(keepdims=True)
    new_w, new_b = model.get_weights()
    np.testing.assert_allclose(new_w, w - 0.1 * grad_w, rtol=1e-5)
    np.testing.assert_allclose(new_b, b - 0.1 * grad_b, rtol=1e-5)


def test_validation_split_uses_the_last_samples_and_logs_val_keys():
    x, y = linear_data(100)
    model = linear_model()
    history = model.fit(x, y, epochs=3, batch_size=10, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "val_loss"}
    val = model.evaluate(x[80:], y[80:], verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][-1], val, rtol=1e-4)


def test_validation_data_and_metrics():
    x, labels = classification_data()
    model = nhanh.Sequential([layers.Dense(16, activation="relu", input_shape=(4,)),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, labels, epochs=20, batch_size=16, verbose=0,
                        validation_data=(x[:30], labels[:30]))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    loss, acc = model.evaluate(x, labels, verbose=0)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(acc, np.mean(probs.argmax(-1) == labels), atol=1e-6)
    np.testing.assert_allclose(loss, -np.mean(np.log(probs[np.arange(len(x)), labels])),
                               rtol=1e-4)
    assert acc > 0.9


def test_evaluate_return_dict_and_list_forms():
    x, labels = classification_data(n=40)
    model = nhanh.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    result = model.evaluate(x, labels, verbose=0, return_dict=True)
    assert list(result) == ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]
    assert result["sparse_top_k_categorical_accuracy"] == 1.0  # 3 classes, k = 5
    as_list = model.evaluate(x, labels, verbose=0)
    np.testing.assert_allclose(as_list, list(result.values()), rtol=1e-6)


def test_sample_weight_zero_ignores_samples():
    x, y = linear_data(40)
    y_bad = y.copy()
    y_bad[20:] = 1000.0
    sw = np.r_[np.ones(20), np.zeros(20)]
    a, b = linear_model(), linear_model()
    b.set_weights(a.get_weights())
    a.fit(x[:20], y[:20], epochs=2, batch_size=40, shuffle=False, verbose=0)
    b.fit(x, y_bad, sample_weight=sw * 2, epochs=2, batch_size=40, shuffle=False, verbose=0)
    # weighted mean over the batch: weights 2 on 20 samples out of 40 equals the plain mean
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5)


def test_class_weight_equals_matching_sample_weight():
    x, labels = classification_data(n=60)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    a = nhanh.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    a.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    b = nhanh.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    b.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    b.set_weights(a.get_weights())
    a.fit(x, labels, class_weight=cw, epochs=2, batch_size=20, shuffle=False, verbose=0)
    b.fit(x, labels, sample_weight=np.array([cw[c] for c in labels]), epochs=2, batch_size=20,
          shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5)


def test_steps_per_epoch_and_initial_epoch():
    x, y = linear_data(100)
    model = linear_model()
    seen = []
    cb = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: seen.append(batch))
    history = model.fit(x, y, batch_size=10, epochs=4, initial_epoch=2, steps_per_epoch=3,
                        callbacks=[cb], verbose=0)
    assert history.epoch == [2, 3]
    assert seen == [0, 1, 2, 0, 1, 2]


def test_per_batch_callback_sees_every_batch_including_the_partial_one():
    x, y = linear_data(25)
    model = linear_model()

    class Recorder(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches, self.epochs = [], []

        def on_train_batch_end(self, batch, logs=None):
            self.batches.append((batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(epoch)

    rec = Recorder()
    model.fit(x, y, batch_size=10, epochs=2, callbacks=[rec], verbose=0)
    assert [b for b, _ in rec.batches] == [0, 1, 2, 0, 1, 2]
    assert all(keys == ["loss"] for _, keys in rec.batches)
    assert rec.epochs == [0, 1]


def test_per_batch_and_plain_training_give_the_same_weights():
    x, y = linear_data(30)
    nhanh.utils.set_random_seed(5)
    a = linear_model()
    nhanh.utils.set_random_seed(5)
    b = linear_model()
    nhanh.utils.set_random_seed(9)
    a.fit(x, y, batch_size=4, epochs=3, verbose=0)
    nhanh.utils.set_random_seed(9)
    b.fit(x, y, batch_size=4, epochs=3, verbose=0,
          callbacks=[callbacks.LambdaCallback(on_batch_end=lambda b, l: None)])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)


def test_terminate_on_nan_stops_at_the_first_bad_batch():
    x, y = linear_data(100)
    model = linear_model(lr=1e6)
    seen = []
    history = model.fit(x, y * 1e10, batch_size=10, epochs=5, verbose=0, callbacks=[
        callbacks.TerminateOnNaN(),
        callbacks.LambdaCallback(on_batch_end=lambda b, logs: seen.append(logs["loss"]))])
    assert len(history.epoch) == 1
    assert not np.isfinite(seen[-1]) and np.all(np.isfinite(seen[:-1]))


def test_nan_loss_is_reported():
    x, y = linear_data(20)
    model = linear_model(lr=1e6)
    with pytest.warns(RuntimeWarning, match="loss became"):
        model.fit(x, y * 1e10, batch_size=10, epochs=3, verbose=0)


def test_early_stopping_stops():
    x, y = linear_data(50)
    model = linear_model(lr=0.0)
    history = model.fit(x, y, epochs=20, batch_size=10, verbose=0,
                        callbacks=[callbacks.EarlyStopping(monitor="loss", patience=2)])
    assert len(history.epoch) < 20


def test_train_test_predict_on_batch():
    x, y = linear_data(8)
    model = linear_model()
    before = model.test_on_batch(x, y)
    model.train_on_batch(x, y)
    after = model.test_on_batch(x, y)
    assert after < before
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(model.predict_on_batch(x), x.astype("float32") @ kernel + bias,
                               rtol=1e-5)


def test_predict_without_compile_and_batches():
    model = nhanh.Sequential([layers.Dense(2, input_shape=(3,))])
    x = np.arange(21, dtype="float32").reshape(7, 3)
    kernel, bias = model.get_weights()
    out = model.predict(x, batch_size=3, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (7, 2)
    np.testing.assert_allclose(out, x @ kernel + bias, rtol=1e-5)


def test_model_built_from_first_data():
    model = nhanh.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)])
    assert not model.built
    model.compile(loss="mse", optimizer="adam")
    x, y = linear_data(20)
    model.fit(x, y, epochs=1, verbose=0)
    assert model.built and model.input_shape == (None, 2)
    assert [w.shape for w in model.get_weights()] == [(2, 4), (4,), (4, 1), (1,)]


def test_second_fit_does_not_compile_again(backend):
    x, y = linear_data(20)
    model = linear_model()
    model.fit(x, y, epochs=2, batch_size=5, verbose=0)
    counts = dict(model._steps.trace_counts)
    model.fit(x, y, epochs=2, batch_size=5, verbose=0)
    if backend == "jax":
        assert counts["train_loop"] == 1  # 20 samples in batches of 5: one compiled loop
        assert model._steps.trace_counts == counts


def test_loss_weights_scale_the_loss():
    x, y = linear_data(16)
    model = nhanh.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(loss="mse", optimizer="sgd", loss_weights=[3.0])
    plain = nhanh.Sequential([layers.Dense(1, input_shape=(2,))])
    plain.compile(loss="mse", optimizer="sgd")
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0),
                               3 * plain.evaluate(x, y, verbose=0), rtol=1e-5)


def test_regularization_is_part_of_the_loss():
    x, y = linear_data(16)
    model = nhanh.Sequential([layers.Dense(1, input_shape=(2,), kernel_regularizer="l2")])
    model.compile(loss="mse", optimizer="sgd")
    kernel, bias = model.get_weights()
    pred = x.astype("float32") @ kernel + bias
    expected = np.mean((pred[:, 0] - y) ** 2) + 0.01 * np.sum(kernel ** 2)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), expected, rtol=1e-4)


def test_frozen_layer_does_not_change():
    x, y = linear_data(20)
    model = nhanh.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    model.layers[0].trainable = False
    model.compile(loss="mse", optimizer="sgd")
    frozen = model.layers[0].get_weights()
    other = model.layers[1].get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(other[0], model.layers[1].get_weights()[0])


def test_dropout_trains_and_predict_is_deterministic():
    x, labels = classification_data(n=60)
    model = nhanh.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
                              layers.Dropout(0.5), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, labels, epochs=2, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_same_seed_same_training_run():
    x, y = linear_data(30)
    runs = []
    for _ in range(2):
        nhanh.utils.set_random_seed(11)
        model = nhanh.Sequential([layers.Dense(4, input_shape=(2,)), layers.Dropout(0.3),
                                  layers.Dense(1)])
        model.compile(loss="mse", optimizer="adam")
        model.fit(x, y, epochs=2, batch_size=4, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_initial_weights_on_both_backends():
    from conftest import INSTALLED

    if len(INSTALLED) < 2:
        pytest.skip("needs both backends installed")
    weights = {}
    for name in INSTALLED:
        nhanh.config.set_backend(name)
        nhanh.utils.set_random_seed(42)
        model = nhanh.Sequential([layers.Dense(8, input_shape=(5,), activation="relu"),
                                  layers.Dense(3, kernel_initializer="he_normal",
                                               bias_initializer="random_uniform")])
        weights[name] = model.get_weights()
    for a, b in zip(weights["jax"], weights["torch"]):
        np.testing.assert_array_equal(a, b)


def test_subclassed_model_trains():
    class Net(nhanh.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="tanh")
            self.out = layers.Dense(1)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    x, y = linear_data(64)
    model = Net()
    model.compile(loss="mse", optimizer="adam")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=10, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first
    assert len(model.trainable_weights) == 4
    out = model(x[:3].astype("float32"))
    assert to_numpy(out).shape == (3, 1)


def test_training_leaves_arrays_held_outside_alone():
    """Training updates its own buffers (in place on PyTorch): weights read earlier, arrays
    given to set_weights() and the best weights EarlyStopping keeps do not change with it."""
    x, y = linear_data()
    model = linear_model()
    given = [w.copy() + 1.0 for w in model.get_weights()]
    model.set_weights(given)
    kept = [w.copy() for w in given]
    before = model.get_weights()
    before_kept = [w.copy() for w in before]
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for a, b in zip(given + before, kept + before_kept):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(model.get_weights()[0], before_kept[0])


def test_early_stopping_restores_the_best_weights_seen():
    x, y = linear_data()
    model = linear_model()
    seen = []

    def overshoot_late(epoch, logs):  # a learning rate that helps, then makes things worse
        model.optimizer.learning_rate = 0.3 if epoch < 3 else 6.0

    record = callbacks.LambdaCallback(
        on_epoch_begin=overshoot_late,
        on_epoch_end=lambda epoch, logs: seen.append((logs["loss"], model.get_weights())))
    stop = callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    model.fit(x, y, batch_size=100, epochs=8, verbose=0, callbacks=[record, stop])
    losses = [loss for loss, _ in seen]
    best = int(np.argmin(losses))
    assert 0 < best < len(seen) - 1 < 7  # stopped early, after the best epoch
    for a, b in zip(model.get_weights(), seen[best][1]):
        np.testing.assert_array_equal(a, b)
