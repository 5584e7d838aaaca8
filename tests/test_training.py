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
    # As Keras 3.15 gives them: the dict's keys sorted, the list in compile order, loss first.
    assert list(result) == ["accuracy", "loss", "sparse_top_k_categorical_accuracy"]
    assert result["sparse_top_k_categorical_accuracy"] == 1.0  # 3 classes, k = 5
    as_list = model.evaluate(x, labels, verbose=0)
    np.testing.assert_allclose(as_list, [result[k] for k in ("loss", "accuracy",
                                                             "sparse_top_k_categorical_accuracy")],
                               rtol=1e-6)


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
    assert model._steps.trace_counts == counts
    # 20 samples in batches of 5: one compiled loop on JAX; one captured step on PyTorch,
    # whose loop is Python around it.
    assert counts["train_loop" if backend == "jax" else "train"] == 1


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


def _inference_forward(model, x):
    """Dense(relu) -> BatchNormalization -> Dropout -> Dense(softmax) in inference mode, in
    NumPy: the moving statistics normalise, Dropout is the identity."""
    k1, b1, gamma, beta, mean, var, k2, b2 = model.get_weights()
    h = np.maximum(x @ k1 + b1, 0)
    h = (h - mean) / np.sqrt(var + 1e-3) * gamma + beta
    logits = h @ k2 + b2
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("compiled", [True, False])
def test_predict_and_evaluate_run_in_inference_mode(compiled):
    """Dropout and BatchNormalization act differently in training; predict and evaluate
    (compiled or not) must use the inference behaviour, and repeat exactly."""
    x, labels = classification_data(n=60)
    model = nhanh.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
                              layers.BatchNormalization(momentum=0.5), layers.Dropout(0.5),
                              layers.Dense(3, activation="softmax")])
    if compiled:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, labels, epochs=2, batch_size=16, verbose=0)
    else:  # moving statistics away from (0, 1), so training-mode batches would differ
        bn = model.layers[1]
        bn.moving_mean.assign(np.linspace(0.5, 2.0, 8).astype("float32"))
        bn.moving_variance.assign(np.linspace(0.5, 3.0, 8).astype("float32"))
    expected = _inference_forward(model, x)
    first = model.predict(x, batch_size=16, verbose=0)
    np.testing.assert_allclose(first, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(first, model.predict(x, batch_size=16, verbose=0))
    np.testing.assert_allclose(model.predict_on_batch(x), expected, rtol=1e-4, atol=1e-6)
    if compiled:
        loss = model.evaluate(x, labels, batch_size=16, verbose=0)
        np.testing.assert_allclose(loss, -np.mean(np.log(expected[np.arange(60), labels])),
                                   rtol=1e-4)


def test_validation_split_trains_on_the_head_only():
    """One full-batch SGD step: the new weights are the gradient step on the first 75% of the
    rows (split before shuffling), and val_loss is the tail's loss after that step."""
    x, y = linear_data(20)
    model = linear_model(lr=0.1)
    w, b = (np.array([[0.5], [-0.25]], "float32"), np.array([0.1], "float32"))
    model.set_weights([w, b])
    history = model.fit(x, y, validation_split=0.25, batch_size=100, epochs=1, verbose=0)
    head, tail = slice(0, 15), slice(15, 20)
    x32, y32 = x.astype("float32"), y.astype("float32")
    err = (x32[head] @ w + b)[:, 0] - y32[head]
    np.testing.assert_allclose(history.history["loss"][0], np.mean(err ** 2), rtol=1e-5)
    new_w = w - 0.1 * 2 * x32[head].T @ err[:, None] / 15
    new_b = b - 0.1 * 2 * err.mean(keepdims=True)
    got_w, got_b = model.get_weights()
    np.testing.assert_allclose(got_w, new_w, rtol=1e-5)
    np.testing.assert_allclose(got_b, new_b, rtol=1e-5)
    val_err = (x32[tail] @ new_w + new_b)[:, 0] - y32[tail]
    np.testing.assert_allclose(history.history["val_loss"][0], np.mean(val_err ** 2),
                               rtol=1e-4)


def _rows_seen(shuffle, epochs=3, n=12, batch_size=4):
    """The row numbers each training step saw, recorded by an eager train_step."""
    seen = []

    class Recording(nhanh.Sequential):
        def train_step(self, data):
            seen.append(np.array(to_numpy(data[0]))[:, 0].astype(int))
            return super().train_step(data)

    model = Recording([layers.Dense(1, input_shape=(1,))])
    model.compile(loss="mse", optimizer="sgd", run_eagerly=True)
    model.fit(np.arange(n, dtype="float32")[:, None], np.zeros(n, "float32"),
              batch_size=batch_size, epochs=epochs, shuffle=shuffle, verbose=0)
    per_epoch = len(seen) // epochs
    return [np.concatenate(seen[e * per_epoch:(e + 1) * per_epoch]) for e in range(epochs)], seen


def test_shuffle_true_draws_a_new_permutation_each_epoch():
    epochs, _ = _rows_seen(True)
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), np.arange(12))
    assert not any(np.array_equal(order, np.arange(12)) for order in epochs)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])


def test_shuffle_false_and_batch_keep_rows_together():
    epochs, _ = _rows_seen(False)
    for order in epochs:
        np.testing.assert_array_equal(order, np.arange(12))
    epochs, batches = _rows_seen("batch", epochs=4)
    for batch in batches:  # whole batches move: each is one of 0-3, 4-7, 8-11 in order
        assert batch[0] % 4 == 0
        np.testing.assert_array_equal(batch, np.arange(batch[0], batch[0] + 4))
    assert any(not np.array_equal(order, np.arange(12)) for order in epochs)


def test_shuffled_fused_training_differs_from_ordered():
    """Per-sample SGD depends on the order: shuffle=True must not train like shuffle=False
    on the fused (compiled-loop) path either, and the same seed repeats the run."""
    x, y = linear_data(24)
    results = []
    for shuffle, seed in ((False, 3), (True, 3), (True, 3)):
        nhanh.utils.set_random_seed(1)
        model = linear_model(lr=0.05)
        nhanh.utils.set_random_seed(seed)
        model.fit(x, y, batch_size=1, epochs=2, shuffle=shuffle, verbose=0)
        results.append(model.get_weights()[0])
    assert not np.allclose(results[0], results[1], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(results[1], results[2])


def test_class_weight_scales_each_sample_loss():
    """Keras's loss with class weights: sum of class_weight[label] * loss_i over the batch
    size, checked against NumPy on a step that does not move the weights."""
    x, labels = classification_data(n=30)
    cw = {0: 1.0, 1: 3.0, 2: 0.25}
    model = nhanh.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer=nhanh.optimizers.SGD(learning_rate=0.0),
                  loss="sparse_categorical_crossentropy")
    probs = model.predict(x, verbose=0)
    ce = -np.log(probs[np.arange(30), labels])
    weights = np.array([cw[c] for c in labels])
    history = model.fit(x, labels, class_weight=cw, batch_size=30, epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], np.sum(weights * ce) / 30,
                               rtol=1e-5)
    np.testing.assert_allclose(model.train_on_batch(x, labels, class_weight=cw),
                               np.sum(weights * ce) / 30, rtol=1e-5)
    # With sample weights as well, Keras 3 refuses; if they are accepted, they multiply.
    sw = np.linspace(0.5, 2.0, 30)
    try:
        history = model.fit(x, labels, class_weight=cw, sample_weight=sw, batch_size=30,
                            epochs=1, verbose=0)
    except ValueError as e:
        assert "class_weight" in str(e) and "sample_weight" in str(e)
    else:
        np.testing.assert_allclose(history.history["loss"][0],
                                   np.sum(sw * weights * ce) / 30, rtol=1e-5)


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


@pytest.mark.engine_independent  # loops over the engines itself
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
