"""StackedRNNCells, stateful RNNs, ReversibleEmbedding, Pipeline and GroupQueryAttention against
real Keras 3 (same weights, random inputs), NumPy recurrences (stateful fit and predict) and one
short fit that must end with Keras's weights."""

import functools
import os

import numpy as np
import pytest

import nhanh
from nhanh import layers as L
from nhanh.layers.group_query_attention import GroupQueryAttention
from nhanh.layers.pipeline import Pipeline
from nhanh.layers.reversible_embedding import ReversibleEmbedding
from nhanh.layers.stacked_rnn_cells import StackedRNNCells
from conftest import to_numpy

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(5)
X = RNG.normal(size=(3, 5, 4)).astype("float32")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _randomize(layer, seed: int) -> list:
    rng = np.random.default_rng(seed)
    for w in layer.weights:
        w.assign(0.5 * rng.normal(size=tuple(w.shape)).astype("float32"))
    return [_np(w) for w in layer.weights]


def _close(ours, theirs, atol=2e-5):
    np.testing.assert_allclose(to_numpy(ours), _np(theirs), atol=atol, rtol=1e-4)


# --- StackedRNNCells ----------------------------------------------------------------------------
def _cells(lib):
    return [lib.layers.LSTMCell(6), lib.layers.GRUCell(4), lib.layers.SimpleRNNCell(3)]


@functools.lru_cache(maxsize=None)
def _keras_stacked():
    rnn = keras.layers.RNN(_cells(keras), return_sequences=True, return_state=True)
    rnn.build(X.shape)
    weights = _randomize(rnn, 1)
    return weights, rnn(X)  # (Keras's stacked loop fails on masks with unequal state sizes)


def test_stacked_cells_match_keras():
    weights, (out, lstm_states, gru_state, simple_state) = _keras_stacked()
    rnn = L.RNN(StackedRNNCells(_cells(nhanh)), return_sequences=True, return_state=True)
    rnn(X)
    assert [tuple(w.shape) for w in rnn.weights] == [w.shape for w in weights]
    rnn.set_weights(weights)
    ours = rnn(X)
    assert len(ours) == 4 and isinstance(ours[1], list) and len(ours[1]) == 2
    _close(ours[0], out)
    for a, b in zip(ours[1], lstm_states):
        _close(a, b)
    for a, b in ((ours[2], gru_state), (ours[3], simple_state)):  # a list per cell, as Keras
        assert isinstance(a, list) and len(a) == 1
        _close(a[0], b[0])
    # A plain list of cells is wrapped the same way, and the layer survives its config.
    listed = L.RNN.from_config(rnn.get_config())
    assert type(listed.cell).__name__ == "StackedRNNCells"
    listed(X)
    listed.set_weights(weights)
    _close(listed(X)[0], out)
    assert rnn.cell.state_size == [[6, 6], 4, 3] and rnn.cell.output_size == 3


def test_stacked_cells_bad_cell_is_named():
    with pytest.raises(ValueError, match="state_size"):
        StackedRNNCells([L.Dense(3)])


# --- stateful -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _keras_stateful(kind: str):
    layer = getattr(keras.layers, kind)(4, stateful=True, return_sequences=True)
    layer.build(X.shape)
    weights = _randomize(layer, 2)
    first, second = _np(layer(X)), _np(layer(X[:, ::-1]))
    layer.reset_states()
    return weights, first, second, _np(layer(X))


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_stateful_batches_match_keras(kind):
    weights, first, second, after_reset = _keras_stateful(kind)
    layer = getattr(L, kind)(4, stateful=True, return_sequences=True)
    layer(X)
    layer.set_weights(weights)  # the carried states are not weights, as in Keras
    layer.reset_states()
    _close(layer(X), first)
    _close(layer(X[:, ::-1]), second)  # starts from the first batch's final states
    assert len(layer.states) == (2 if kind == "LSTM" else 1)
    layer.reset_states()
    _close(layer(X), after_reset)
    with pytest.raises(ValueError, match="batch size 3"):
        layer(X[:2])


def test_stateful_needs_fixed_batch():
    inputs = L.Input((5, 4))
    with pytest.raises(ValueError, match="batch_size"):
        L.SimpleRNN(2, stateful=True)(inputs)


def _numpy_simple_rnn(x, kernel, recurrent, bias, h):
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent + bias)
    return h


def test_stateful_fit_and_predict_carry_states():
    """fit and predict (compiled steps) carry the states from batch to batch, in order."""
    x = RNG.normal(size=(8, 5, 3)).astype("float32")
    model = nhanh.Sequential([L.Input((5, 3), batch_size=4), L.SimpleRNN(2, stateful=True)])
    model.compile(nhanh.optimizers.SGD(learning_rate=0.0), "mse")
    kernel, recurrent, bias = model.layers[0].get_weights()
    h = np.zeros((4, 2), "float32")
    h1 = _numpy_simple_rnn(x[:4], kernel, recurrent, bias, h)
    h2 = _numpy_simple_rnn(x[4:], kernel, recurrent, bias, h1)
    model.fit(x, np.zeros((8, 2), "float32"), batch_size=4, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(to_numpy(model.layers[0].states[0].value), h2, atol=1e-5)
    model.layers[0].reset_states()
    out = model.predict(x, batch_size=4, verbose=0)
    np.testing.assert_allclose(out, np.concatenate([h1, h2]), atol=1e-5)


# --- ReversibleEmbedding ------------------------------------------------------------------------
IDS = RNG.integers(0, 10, (3, 5))


@functools.lru_cache(maxsize=None)
def _keras_reversible(kwargs: tuple):
    layer = keras.layers.ReversibleEmbedding(10, 4, **dict(kwargs))
    layer.build(IDS.shape)
    weights = _randomize(layer, 3)
    hidden = layer(IDS)
    return weights, _np(hidden), _np(layer(hidden, reverse=True)), layer.get_config()


@pytest.mark.parametrize("kwargs", [(), (("tie_weights", False), ("logit_soft_cap", 0.5)),
                                    (("reverse_dtype", "float32"), ("mask_zero", True))])
def test_reversible_embedding_matches_keras(kwargs):
    weights, hidden, logits, config = _keras_reversible(kwargs)
    layer = ReversibleEmbedding(10, 4, **dict(kwargs))
    layer(IDS)
    assert [tuple(w.shape) for w in layer.weights] == [w.shape for w in weights]
    layer.set_weights(weights)
    ours = layer(IDS)
    _close(ours, hidden)
    _close(layer(ours, reverse=True), logits)
    assert set(layer.get_config()) >= set(config) - {"quantization_config", "dtype"}
    mask = layer.compute_mask(nhanh.ops.convert_to_tensor(IDS))
    if dict(kwargs).get("mask_zero"):
        np.testing.assert_array_equal(to_numpy(mask), IDS != 0)
    else:
        assert mask is None
    assert layer.compute_mask(ours) is None  # the reverse call's float inputs carry no mask


@functools.lru_cache(maxsize=None)
def _keras_reversible_fit():
    ids = keras.Input((5,), dtype="int32")
    emb = keras.layers.ReversibleEmbedding(10, 4, name="emb")
    model = keras.Model(ids, emb(emb(ids), reverse=True))
    weights = _randomize(model, 4)
    model.compile(keras.optimizers.SGD(0.5), keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    model.fit(IDS, IDS, batch_size=3, epochs=2, shuffle=False, verbose=0)
    return weights, [_np(w) for w in model.weights]


def test_reversible_embedding_fit_matches_keras():
    """The tied matrix gets the gradients of both uses, as in Keras."""
    start, end = _keras_reversible_fit()
    ids = L.Input((5,), dtype="int32")
    emb = ReversibleEmbedding(10, 4)
    model = nhanh.Model(ids, emb(emb(ids), reverse=True))
    model.set_weights(start)
    model.compile(nhanh.optimizers.SGD(0.5),
                  nhanh.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(IDS, IDS, batch_size=3, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(model.get_weights()[0], end[0], atol=1e-5)
    assert not np.allclose(end[0], start[0])


# --- Pipeline -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _keras_pipeline():
    pipe = keras.layers.Pipeline([keras.layers.Embedding(10, 4, mask_zero=True),
                                  keras.layers.SimpleRNN(3)])
    pipe(IDS * (IDS > 3))  # builds
    return _randomize(pipe, 5), _np(pipe(IDS * (IDS > 3)))


def test_pipeline_matches_keras_with_masks():
    weights, out = _keras_pipeline()
    pipe = Pipeline([L.Embedding(10, 4, mask_zero=True), L.SimpleRNN(3)])
    pipe(IDS)
    pipe.set_weights(weights)
    _close(pipe(IDS * (IDS > 3)), out)  # the embedding's mask reaches the RNN
    # Inside a model, the pipeline's output mask (its embedding's) reaches the next layer.
    inner = Pipeline([L.Embedding(10, 4, mask_zero=True)])
    model = nhanh.Sequential([L.Input((5,), dtype="int32"), inner, L.SimpleRNN(3)])
    model.set_weights(weights)
    np.testing.assert_allclose(model.predict(IDS * (IDS > 3), verbose=0), out, atol=2e-5)
    again = Pipeline.from_config(pipe.get_config())
    assert [type(la).__name__ for la in again.layers] == ["Embedding", "SimpleRNN"]


def test_pipeline_trains_unless_told():
    x = np.ones((4, 50), "float32")
    pipe = Pipeline([L.Dropout(0.5)])
    assert (to_numpy(pipe(x)) == 0).any()  # Keras's default: training=True
    np.testing.assert_array_equal(to_numpy(pipe(x, training=False)), x)
    model = nhanh.Sequential([L.Input((50,)), pipe])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)  # the model says inference


# --- GroupQueryAttention ------------------------------------------------------------------------
Q = RNG.normal(size=(2, 5, 8)).astype("float32")
V = RNG.normal(size=(2, 6, 8)).astype("float32")
K = RNG.normal(size=(2, 6, 6)).astype("float32")
VMASK = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
CALLS = {"plain": {}, "masked": {"value_mask": VMASK, "use_causal_mask": True}}


@functools.lru_cache(maxsize=None)
def _keras_gqa(kwargs: tuple, call: str):
    layer = keras.layers.GroupQueryAttention(4, 4, 2, **dict(kwargs))
    layer.build(Q.shape, V.shape, K.shape)
    weights = _randomize(layer, 6)
    out, scores = layer(Q, V, K, return_attention_scores=True, **CALLS[call])
    return weights, _np(out), _np(scores), _np(layer(Q, V, K, **CALLS[call]))


@pytest.mark.parametrize("kwargs,call", [((), "plain"), ((("use_gate", True),), "masked"),
                                         ((("sliding_window", 2), ("use_bias", False)), "masked")])
def test_group_query_attention_matches_keras(kwargs, call):
    weights, out, scores, fast = _keras_gqa(kwargs, call)
    layer = GroupQueryAttention(4, 4, 2, **dict(kwargs))
    layer(Q, V, K)
    assert [tuple(w.shape) for w in layer.weights] == [w.shape for w in weights]
    layer.set_weights(weights)
    ours, our_scores = layer(Q, V, K, return_attention_scores=True, **CALLS[call])
    _close(ours, out)
    _close(our_scores, scores)
    _close(layer(Q, V, K, **CALLS[call]), fast)  # Keras's dot_product_attention path


def test_group_query_attention_dropout_and_errors():
    layer = GroupQueryAttention(4, 4, 2, dropout=0.5, seed=1)
    _, scores = layer(Q, V, return_attention_scores=True, training=True)
    np.testing.assert_allclose(to_numpy(scores).sum(-1), 1.0, atol=1e-5)  # scores before drop
    a, b = layer(Q, V, training=True), layer(Q, V)
    assert not np.allclose(to_numpy(a), to_numpy(b))
    np.testing.assert_allclose(to_numpy(layer(Q, V)), to_numpy(b))
    with pytest.raises(ValueError, match="divisible"):
        GroupQueryAttention(4, 3, 2)
    with pytest.raises(ValueError, match="flash_attention"):
        GroupQueryAttention(4, 4, 2, dropout=0.1, flash_attention=True)
