"""Metrics: accumulation over batches with sample weights against NumPy, reset, the choice
behind 'accuracy', top-k against NumPy, updates inside a StatelessScope and a compiled step,
lookup errors and configs."""

import numpy as np
import pytest

import nhanh
from nhanh import losses, metrics, ops
from nhanh.variables import StatelessScope


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def _batches(rng, make, count=3, n=6):
    return [make(rng, n) for _ in range(count)]


def _weighted_mean(per_sample_list, weight_list):
    values = np.concatenate(per_sample_list)
    weights = np.concatenate(weight_list)
    return (values * weights).sum() / weights.sum()


# --- Mean and Sum ----------------------------------------------------------------------------

def test_mean_accumulates_weighted_batches(np_rng):
    m = metrics.Mean()
    values = [np_rng.normal(size=5) for _ in range(3)]
    weights = [np_rng.uniform(0, 2, size=5) for _ in range(3)]
    for v, w in zip(values, weights):
        m.update_state(v, sample_weight=w)
    np.testing.assert_allclose(_np(m.result()), _weighted_mean(values, weights), rtol=1e-5)
    m.update_state(np.array([10.0, 20.0]))  # unweighted: each value counts once
    total = sum((v * w).sum() for v, w in zip(values, weights)) + 30.0
    count = sum(w.sum() for w in weights) + 2
    np.testing.assert_allclose(_np(m.result()), total / count, rtol=1e-5)


def test_mean_of_scalars_and_per_sample_rows(np_rng):
    m = metrics.Mean()
    m.update_state(2.0)
    m.update_state(4.0, sample_weight=3.0)
    np.testing.assert_allclose(_np(m.result()), (2.0 + 12.0) / 4.0, rtol=1e-6)
    m = metrics.Mean()
    rows = np_rng.normal(size=(4, 3))
    w = np_rng.uniform(0, 1, size=4)
    m.update_state(rows, sample_weight=w)  # rows are averaged per sample, then weighted
    np.testing.assert_allclose(_np(m.result()), (rows.mean(1) * w).sum() / w.sum(), rtol=1e-5)


def test_sum_accumulates(np_rng):
    m = metrics.Sum()
    values = [np_rng.normal(size=4) for _ in range(3)]
    weights = [np_rng.uniform(0, 2, size=4) for _ in range(3)]
    for v, w in zip(values, weights):
        m.update_state(v, sample_weight=w)
    np.testing.assert_allclose(_np(m.result()), sum((v * w).sum() for v, w in
                                                    zip(values, weights)), rtol=1e-5)


def test_empty_mean_is_zero_not_nan():
    assert _np(metrics.Mean().result()) == 0.0


# --- the standard metrics against NumPy, over several weighted batches ---------------------

def _binary(rng, n):
    return rng.integers(0, 2, size=(n, 1)).astype("float32"), rng.uniform(size=(n, 1))


def _onehot(rng, n, c=4):
    return np.eye(c, dtype="float32")[rng.integers(0, c, size=n)], rng.normal(size=(n, c))


def _sparse(rng, n, c=4):
    return rng.integers(0, c, size=n).astype("int32"), rng.normal(size=(n, c))


def _real(rng, n):
    return rng.normal(size=(n, 3)), rng.normal(size=(n, 3))


def _exact(rng, n):
    return rng.integers(0, 3, size=(n, 2)), rng.integers(0, 3, size=(n, 2))


def _topk_np(labels, scores, k):
    top = np.argsort(-scores, axis=-1)[:, :k]
    return np.any(top == labels[:, None], axis=-1).astype(float)


CASES = {
    "binary_accuracy": (metrics.BinaryAccuracy, _binary,
                        lambda yt, yp: (yt[:, 0] == (yp[:, 0] > 0.5)).astype(float)),
    "binary_accuracy_0.7": (lambda: metrics.BinaryAccuracy(threshold=0.7), _binary,
                            lambda yt, yp: (yt[:, 0] == (yp[:, 0] > 0.7)).astype(float)),
    "categorical_accuracy": (metrics.CategoricalAccuracy, _onehot,
                             lambda yt, yp: (yt.argmax(-1) == yp.argmax(-1)).astype(float)),
    "sparse_categorical_accuracy": (metrics.SparseCategoricalAccuracy, _sparse,
                                    lambda yt, yp: (yt == yp.argmax(-1)).astype(float)),
    "top_k": (lambda: metrics.TopKCategoricalAccuracy(k=2), _onehot,
              lambda yt, yp: _topk_np(yt.argmax(-1), yp, 2)),
    "sparse_top_k": (lambda: metrics.SparseTopKCategoricalAccuracy(k=3), _sparse,
                     lambda yt, yp: _topk_np(yt, yp, 3)),
    "accuracy": (metrics.Accuracy, _exact, lambda yt, yp: (yt == yp).mean(-1)),
    "mse": (metrics.MeanSquaredError, _real, lambda yt, yp: ((yt - yp) ** 2).mean(-1)),
    "mae": (metrics.MeanAbsoluteError, _real, lambda yt, yp: np.abs(yt - yp).mean(-1)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_metric_accumulates_weighted_batches(name, np_rng):
    make, data, per_sample = CASES[name]
    m = make()
    batches = _batches(np_rng, data)
    weights = [np_rng.uniform(0, 2, size=len(b[0])) for b in batches]
    for (yt, yp), w in zip(batches, weights):
        m.update_state(yt, yp, sample_weight=w)
    expected = _weighted_mean([per_sample(yt, yp) for yt, yp in batches], weights)
    np.testing.assert_allclose(_np(m.result()), expected, rtol=1e-5, atol=1e-7)

    m.reset_state()
    assert _np(m.result()) == 0.0
    assert all(np.all(_np(v) == 0) for v in m.variables)
    for yt, yp in batches[:2]:  # unweighted after reset: only these batches count
        value = m(yt, yp)
    expected = np.concatenate([per_sample(yt, yp) for yt, yp in batches[:2]]).mean()
    np.testing.assert_allclose(_np(value), expected, rtol=1e-5, atol=1e-7)


def test_root_mean_squared_error(np_rng):
    m = metrics.RootMeanSquaredError()
    batches = _batches(np_rng, _real)
    weights = [np_rng.uniform(0, 2, size=len(b[0])) for b in batches]
    for (yt, yp), w in zip(batches, weights):
        m.update_state(yt, yp, sample_weight=w)
    mse = _weighted_mean([((yt - yp) ** 2).mean(-1) for yt, yp in batches], weights)
    np.testing.assert_allclose(_np(m.result()), np.sqrt(mse), rtol=1e-5)
    assert m.name == "root_mean_squared_error"


def test_keras_documented_values():
    m = metrics.BinaryAccuracy()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    np.testing.assert_allclose(_np(m.result()), 0.75)
    m.reset_state()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], sample_weight=[1, 0, 0, 1])
    np.testing.assert_allclose(_np(m.result()), 0.5)
    m = metrics.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
                   sample_weight=[0.7, 0.3])
    np.testing.assert_allclose(_np(m.result()), 0.3, rtol=1e-6)
    m = metrics.SparseCategoricalAccuracy()
    m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    np.testing.assert_allclose(_np(m.result()), 0.5)
    m = metrics.SparseTopKCategoricalAccuracy(k=1)
    m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], sample_weight=[0.7, 0.3])
    np.testing.assert_allclose(_np(m.result()), 0.3, rtol=1e-6)
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    np.testing.assert_allclose(_np(m.result()), 0.75)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_functions_against_numpy(k, np_rng):
    labels = np_rng.integers(0, 6, size=40)
    scores = np_rng.normal(size=(40, 6))
    scores[np.arange(40), labels] += np_rng.uniform(0, 1.5, size=40)  # a mix of hits and misses
    scores = scores.astype("float32")
    expected = _topk_np(labels, scores, k)
    np.testing.assert_array_equal(
        _np(metrics.sparse_top_k_categorical_accuracy(labels, scores, k=k)), expected)
    np.testing.assert_array_equal(
        _np(metrics.top_k_categorical_accuracy(np.eye(6)[labels], scores, k=k)), expected)
    assert 0 < expected.mean() < 1


def test_accuracy_functions_per_sample(np_rng):
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.array([[0.9], [0.6], [0.2], [0.1]])
    np.testing.assert_array_equal(_np(metrics.binary_accuracy(y, p)), [1, 0, 0, 1])
    np.testing.assert_array_equal(_np(metrics.binary_accuracy(y[:, None], p)), [1, 0, 0, 1])
    labels = np.array([0, 2, 1])
    scores = np.array([[3.0, 1, 0], [0, 1, 2], [5, 1, 2]])
    np.testing.assert_array_equal(_np(metrics.sparse_categorical_accuracy(labels, scores)),
                                  [1, 1, 0])
    np.testing.assert_array_equal(
        _np(metrics.sparse_categorical_accuracy(labels[:, None], scores)), [1, 1, 0])
    np.testing.assert_array_equal(
        _np(metrics.categorical_accuracy(np.eye(3)[labels], scores)), [1, 1, 0])


# --- 'accuracy' for each kind of output ------------------------------------------------------

@pytest.mark.parametrize("identifier", ["accuracy", "acc", "Accuracy"])
@pytest.mark.parametrize("loss, y_shape, out_shape, expected", [
    ("binary_crossentropy", (8,), (None, 1), metrics.BinaryAccuracy),
    ("mse", (8,), (None, 1), metrics.BinaryAccuracy),
    ("mse", (8, 1), (None, 1), metrics.BinaryAccuracy),
    (losses.BinaryCrossentropy(), (8, 3), (None, 3), metrics.BinaryAccuracy),
    ("sparse_categorical_crossentropy", (8,), (None, 3), metrics.SparseCategoricalAccuracy),
    (losses.SparseCategoricalCrossentropy(from_logits=True), (8, 1), (None, 3),
     metrics.SparseCategoricalAccuracy),
    (None, (8,), (None, 3), metrics.SparseCategoricalAccuracy),
    ("mse", (8, 1), (None, 3), metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", (8, 3), (None, 3), metrics.CategoricalAccuracy),
    (losses.CategoricalCrossentropy(from_logits=True), (8, 3), (None, 3),
     metrics.CategoricalAccuracy),
    ("mse", (8, 3), (None, 3), metrics.CategoricalAccuracy),
    (losses.LossFunctionWrapper(losses.binary_crossentropy), (8, 2), (None, 2),
     metrics.BinaryAccuracy),
])
def test_accuracy_resolution(identifier, loss, y_shape, out_shape, expected):
    m = metrics.get_for_output(identifier, loss, y_shape, out_shape)
    assert type(m) is expected
    assert m.name == identifier


def test_accuracy_resolution_accepts_arrays_and_computes_the_right_thing(np_rng):
    y = np_rng.integers(0, 3, size=10)
    scores = np_rng.normal(size=(10, 3)).astype("float32")
    m = metrics.get_for_output("accuracy", "mse", y, scores)
    m.update_state(y, scores)
    np.testing.assert_allclose(_np(m.result()), (scores.argmax(-1) == y).mean(), rtol=1e-6)


def test_crossentropy_resolution_follows_the_loss(np_rng):
    m = metrics.get_for_output("crossentropy", losses.SparseCategoricalCrossentropy(
        from_logits=True), (4,), (None, 3))
    assert type(m) is metrics.SparseCategoricalCrossentropy and m.name == "crossentropy"
    labels = np.array([0, 1, 2, 1])
    logits = np_rng.normal(size=(4, 3)).astype("float32")
    m.update_state(labels, logits)
    expected = _np(losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
    np.testing.assert_allclose(_np(m.result()), expected.mean(), rtol=1e-6)
    assert type(metrics.get_for_output("ce", "mse", (4, 1), (None, 1))) is \
        metrics.BinaryCrossentropy


def test_other_names_resolve_and_keep_the_given_name(np_rng):
    for name, cls in [("mse", metrics.MeanSquaredError), ("MAE", metrics.MeanAbsoluteError),
                      ("rmse", metrics.RootMeanSquaredError),
                      ("binary_accuracy", metrics.BinaryAccuracy),
                      ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
                      ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
                      ("sparse_top_k_categorical_accuracy",
                       metrics.SparseTopKCategoricalAccuracy),
                      ("mean_absolute_percentage_error", metrics.MeanAbsolutePercentageError),
                      ("CategoricalAccuracy", metrics.CategoricalAccuracy)]:
        m = metrics.get_for_output(name, "mse", (8, 3), (None, 3))
        assert type(m) is cls and m.name == name
    instance = metrics.BinaryAccuracy(name="bin")
    assert metrics.get_for_output(instance, "mse", (8,), (None, 1)) is instance
    assert instance.name == "bin"
    wrapped = metrics.get_for_output(losses.mean_absolute_error, "mse", (8,), (None, 1))
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "mean_absolute_error"
    yt, yp = np_rng.normal(size=(6, 1)), np_rng.normal(size=(6, 1))
    wrapped.update_state(yt, yp)
    np.testing.assert_allclose(_np(wrapped.result()), np.abs(yt - yp).mean(), rtol=1e-5)
    assert metrics.get_for_output(None, "mse", None, None) is None


def test_compile_time_check_without_shapes():
    """compile() checks names before it has data; 'accuracy' must not fail then."""
    assert isinstance(metrics.get_for_output("accuracy", "mse", None, None), metrics.Metric)
    assert type(metrics.get_for_output("accuracy", "binary_crossentropy", None, None)) is \
        metrics.BinaryAccuracy


def test_unknown_names_raise_with_close_matches():
    with pytest.raises(ValueError, match="binary_accuracy"):
        metrics.get("binary_acuracy")
    with pytest.raises(ValueError, match="mse"):
        metrics.get_for_output("mse_", "mse", (8,), (None, 1))
    with pytest.raises(ValueError, match="get_for_output"):
        metrics.get("acc")
    with pytest.raises(ValueError):
        metrics.get(3.5)


def test_get_follows_keras():
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert metrics.get("mse").name == "mean_squared_error"
    assert isinstance(metrics.get("accuracy"), metrics.Accuracy)
    assert isinstance(metrics.get(metrics.Mean), metrics.Mean)
    assert metrics.get(None) is None


# --- state: reset, StatelessScope, compiled steps ---------------------------------------------

def test_update_inside_stateless_scope_records_and_leaves_variables(np_rng):
    m = metrics.BinaryAccuracy()
    yt, yp = _binary(np_rng, 8)
    before = [_np(v._value) for v in m.variables]
    with StatelessScope() as scope:
        m.update_state(yt, yp)
        inside = _np(m.result())
    assert set(scope.assigned) == set(m.variables)
    for v, old in zip(m.variables, before):
        np.testing.assert_array_equal(_np(v._value), old)  # the Variable itself is unchanged
    expected = (yt[:, 0] == (yp[:, 0] > 0.5)).mean()
    np.testing.assert_allclose(inside, expected, rtol=1e-6)
    total, count = (_np(scope.assigned[v]) for v in (m.total, m.count))
    np.testing.assert_allclose([total, count], [expected * 8, 8], rtol=1e-6)
    assert _np(m.result()) == 0.0


def test_stateless_update_in_a_compiled_step(np_rng):
    m = metrics.SparseCategoricalAccuracy()
    bk = nhanh.backend.get()
    step = bk.compile_step(lambda state, yt, yp: m.stateless_update_state(state, yt, yp))
    state = m.stateless_reset_state()
    batches = _batches(np_rng, _sparse, count=4)
    for yt, yp in batches:
        state = step(state, ops.convert_to_tensor(yt), ops.convert_to_tensor(yp, "float32"))
    expected = np.concatenate([yt == yp.argmax(-1) for yt, yp in batches]).mean()
    np.testing.assert_allclose(_np(m.stateless_result(state)), expected, rtol=1e-6)
    assert _np(m.result()) == 0.0 and all(np.all(_np(v) == 0) for v in m.variables)
    for v, value in zip(m.variables, state):
        v.assign(value)
    np.testing.assert_allclose(_np(m.result()), expected, rtol=1e-6)


def test_custom_metric_with_add_weight_and_initial_value(np_rng):
    class Largest(metrics.Metric):
        def __init__(self, name="largest", **kwargs):
            super().__init__(name=name, **kwargs)
            self.best = self.add_weight(name="best", initializer=-1e9)

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.best.assign(ops.maximum(self.best.value, ops.max(ops.convert_to_tensor(
                y_pred, "float32"))))

        def result(self):
            return self.best.value

    m = Largest()
    assert m.variables[0].trainable is False and m.name == "largest"
    for batch in ([1.0, 3.0], [2.0, -1.0]):
        m.update_state(None, np.array(batch))
    assert _np(m.result()) == 3.0
    m.reset_state()
    np.testing.assert_allclose(_np(m.result()), -1e9)


# --- configs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("metric", [
    lambda: metrics.BinaryAccuracy(name="bacc", threshold=0.7),
    lambda: metrics.TopKCategoricalAccuracy(k=2),
    lambda: metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
    lambda: metrics.MeanMetricWrapper(losses.huber, name="hub", delta=0.5),
    lambda: metrics.RootMeanSquaredError(name="r"),
])
def test_config_round_trip(metric, np_rng):
    m = metric()
    restored = metrics.deserialize(metrics.serialize(m))
    assert type(restored) is type(m) and restored.get_config() == m.get_config()
    yt, yp = _onehot(np_rng, 6)
    np.testing.assert_allclose(_np(restored(yt, yp)), _np(m(yt, yp)), rtol=1e-6)


def test_binary_accuracy_threshold_is_validated():
    with pytest.raises(ValueError, match="threshold"):
        metrics.BinaryAccuracy(threshold=1.5)


def _keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("threshold", [0.5, 0.7])
def test_binary_accuracy_at_the_threshold_counts_as_negative(threshold):
    """Keras predicts 1 only for y_pred > threshold: a score exactly at the threshold is a 0."""
    keras = _keras()
    y = np.array([[0.0], [1.0], [0.0], [1.0], [1.0], [0.0]])
    p = np.array([[threshold], [threshold], [threshold + 0.01], [0.99], [0.0], [0.0]],
                 "float32")
    expected = np.array([1, 0, 0, 1, 0, 1])
    np.testing.assert_array_equal(_np(metrics.binary_accuracy(y, p, threshold=threshold)),
                                  expected)
    m = metrics.BinaryAccuracy(threshold=threshold)
    m.update_state(y, p, sample_weight=[1, 2, 1, 1, 1, 3])
    reference = keras.metrics.BinaryAccuracy(threshold=threshold)
    reference.update_state(y, p, sample_weight=[1, 2, 1, 1, 1, 3])
    np.testing.assert_allclose(_np(m.result()), float(reference.result()), rtol=1e-6)
    np.testing.assert_allclose(_np(m.result()), 5 / 9, rtol=1e-6)


def test_accuracy_of_a_model_that_outputs_exactly_one_half():
    """A sigmoid over zero weights outputs 0.5 exactly: 'accuracy' counts it as class 0."""
    labels = np.array([0, 1, 1, 0, 1, 1, 1, 0], "float32")
    model = nhanh.Sequential([nhanh.layers.Dense(1, activation="sigmoid", input_shape=(3,),
                                                 kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    loss, acc = model.evaluate(x, labels, verbose=0)
    np.testing.assert_allclose(acc, 3 / 8)
    np.testing.assert_allclose(loss, np.log(2), rtol=1e-5)
