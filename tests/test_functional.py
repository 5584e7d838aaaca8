"""The functional API: graphs of layers, several inputs and outputs, shared layers, nesting."""

import numpy as np
import pytest

import nhanh
from nhanh import layers
from conftest import to_numpy


def _two_branch():
    a = layers.Input((3,), name="a")
    b = layers.Input((2,), name="b")
    shared = layers.Dense(4, activation="relu", name="shared")
    ha = shared(layers.Dense(3, name="pa")(a))
    hb = shared(layers.Dense(3, name="pb")(b))
    reg = layers.Dense(1, name="reg")(ha)
    cls = layers.Dense(3, activation="softmax", name="cls")(hb)
    return nhanh.Model([a, b], [reg, cls], name="two")


def _numpy_forward(model, xa, xb):
    w = {l.name: l.get_weights() for l in model.layers if l.weights}
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    ha = relu((xa @ w["pa"][0] + w["pa"][1]) @ w["shared"][0] + w["shared"][1])
    hb = relu((xb @ w["pb"][0] + w["pb"][1]) @ w["shared"][0] + w["shared"][1])
    reg = ha @ w["reg"][0] + w["reg"][1]
    logits = hb @ w["cls"][0] + w["cls"][1]
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return reg, e / e.sum(-1, keepdims=True)


def test_graph_with_shared_layer_matches_numpy(np_rng):
    model = _two_branch()
    assert model.output_shape == [(None, 1), (None, 3)]
    assert [l.name for l in model.layers] == ["a", "b", "pa", "shared", "reg", "pb", "cls"] or \
        {l.name for l in model.layers} == {"a", "b", "pa", "pb", "shared", "reg", "cls"}
    assert len(model.weights) == 10  # the shared layer's weights count once
    xa = np_rng.normal(size=(5, 3)).astype("float32")
    xb = np_rng.normal(size=(5, 2)).astype("float32")
    reg, cls = model([xa, xb])
    want_reg, want_cls = _numpy_forward(model, xa, xb)
    np.testing.assert_allclose(to_numpy(reg), want_reg, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(cls), want_cls, rtol=1e-5, atol=1e-6)
    by_name = model({"a": xa, "b": xb})
    np.testing.assert_allclose(to_numpy(by_name[0]), want_reg, rtol=1e-5, atol=1e-6)


def test_fit_two_inputs_two_outputs_with_per_output_losses_and_metrics(np_rng):
    model = _two_branch()
    model.compile(optimizer="adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 1.0, "cls": 0.5}, metrics={"cls": ["accuracy"]})
    xa = np_rng.normal(size=(40, 3))
    xb = np_rng.normal(size=(40, 2))
    y_reg, y_cls = xa.sum(1), (xb[:, 0] > 0).astype("int32")
    history = model.fit([xa, xb], {"reg": y_reg, "cls": y_cls}, epochs=2, batch_size=8,
                        verbose=0)
    assert list(history.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss"]  # Keras sorts
    result = model.evaluate([xa, xb], [y_reg, y_cls], verbose=0, return_dict=True)
    reg, cls = model.predict([xa, xb], verbose=0)
    mse = np.mean((reg[:, 0] - y_reg) ** 2)
    ce = -np.mean(np.log(cls[np.arange(40), y_cls]))
    np.testing.assert_allclose(result["reg_loss"], mse, rtol=1e-4)
    np.testing.assert_allclose(result["cls_loss"], ce, rtol=1e-4)
    np.testing.assert_allclose(result["loss"], mse + 0.5 * ce, rtol=1e-4)
    np.testing.assert_allclose(result["cls_accuracy"], np.mean(cls.argmax(-1) == y_cls))


def test_feature_extraction_from_intermediate_output(np_rng):
    seq = nhanh.Sequential([layers.Dense(4, activation="tanh", input_shape=(3,), name="feat"),
                            layers.Dense(1)])
    extractor = nhanh.Model(seq.input, seq.get_layer("feat").output)
    x = np_rng.normal(size=(6, 3)).astype("float32")
    kernel, bias = seq.get_layer("feat").get_weights()
    np.testing.assert_allclose(extractor.predict(x, verbose=0), np.tanh(x @ kernel + bias),
                               rtol=1e-5, atol=1e-6)


def test_model_used_as_a_layer(np_rng):
    inner_in = layers.Input((3,))
    inner = nhanh.Model(inner_in, layers.Dense(2, name="inner_dense")(inner_in), name="inner")
    outer_in = layers.Input((3,))
    out = layers.Dense(1, name="head")(inner(outer_in))
    outer = nhanh.Model(outer_in, out)
    assert outer.output_shape == (None, 1)
    x = np_rng.normal(size=(4, 3)).astype("float32")
    k1, b1 = inner.get_weights()
    k2, b2 = outer.get_layer("head").get_weights()
    np.testing.assert_allclose(to_numpy(outer(x)), (x @ k1 + b1) @ k2 + b2, rtol=1e-5, atol=1e-6)
    assert len(outer.trainable_weights) == 4


def test_config_round_trip(np_rng):
    model = _two_branch()
    clone = nhanh.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    xa = np_rng.normal(size=(2, 3)).astype("float32")
    xb = np_rng.normal(size=(2, 2)).astype("float32")
    for a, b in zip(model([xa, xb]), clone([xa, xb])):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-6)
    assert clone.output_names == ["reg", "cls"]


def test_summary_lists_every_layer(capsys):
    _two_branch().summary()
    out = capsys.readouterr().out
    for name in ("a (InputLayer)", "shared (Dense)", "cls (Dense)"):
        assert name in out
    assert "Total params: 57" in out  # 12 + 9 + 16 + 5 + 15


def test_wrong_shape_is_caught_when_the_graph_is_built():
    x = layers.Input((4,))
    dense = layers.Dense(3, name="d3")
    dense(x)
    with pytest.raises(ValueError, match=r"'d3'.*size 4 on axis -1.*\(None, 5\)"):
        dense(layers.Input((5,)))


def test_outputs_must_connect_to_inputs():
    a, b = layers.Input((2,)), layers.Input((2,))
    out = layers.Dense(1)(b)
    with pytest.raises(ValueError, match="not among the model's inputs"):
        nhanh.Model(a, out)
    with pytest.raises(TypeError, match="symbolic tensors"):
        nhanh.Model(a, np.zeros(3))


def test_layer_freezing_in_functional_model(np_rng):
    model = _two_branch()
    model.get_layer("shared").trainable = False
    model.compile(optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"])
    before = model.get_layer("shared").get_weights()
    xa, xb = np_rng.normal(size=(16, 3)), np_rng.normal(size=(16, 2))
    model.fit([xa, xb], [xa.sum(1), np.zeros(16, "int32")], epochs=1, verbose=0)
    for w0, w1 in zip(before, model.get_layer("shared").get_weights()):
        np.testing.assert_array_equal(w0, w1)
    assert len(model.trainable_weights) == 8


def test_masks_flow_through_the_graph(np_rng):
    tokens = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2]], "int32")
    inp = layers.Input((5,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)
    rnn = layers.SimpleRNN(3)
    functional = nhanh.Model(inp, rnn(emb(inp)))
    sequential = nhanh.Sequential([layers.Input((5,), dtype="int32"),
                                   layers.Embedding(10, 4, mask_zero=True),
                                   layers.SimpleRNN(3)])
    sequential.set_weights(functional.get_weights())
    out = to_numpy(functional(tokens))
    np.testing.assert_allclose(out, to_numpy(sequential(tokens)), rtol=1e-6)
    # the padded row equals the same tokens without padding
    short = to_numpy(functional(tokens[:1, :3]))
    np.testing.assert_allclose(out[0], short[0], rtol=1e-5, atol=1e-6)


def test_config_round_trip_across_layer_families(np_rng):
    seq = nhanh.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, padding="same"),
                            layers.BatchNormalization(), layers.MaxPooling2D(),
                            layers.Reshape((16, 4)), layers.LSTM(5, return_sequences=True),
                            layers.Bidirectional(layers.GRU(3)), layers.Dense(2)])
    clone = nhanh.Sequential.from_config(seq.get_config())
    clone.set_weights(seq.get_weights())
    x = np_rng.random((2, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), seq.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    a, b = layers.Input((5,)), layers.Input((5,))
    attended = layers.MultiHeadAttention(2, 4)(layers.Reshape((5, 1))(a),
                                               layers.Reshape((5, 1))(b))
    model = nhanh.Model([a, b], layers.Flatten()(attended))
    copy = nhanh.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    xs = [np_rng.random((3, 5)).astype("float32"), np_rng.random((3, 5)).astype("float32")]
    np.testing.assert_allclose(copy.predict(xs, verbose=0), model.predict(xs, verbose=0),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.engine_independent
def test_input_takes_kerass_batch_shape_like_keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    for kwargs in (dict(batch_shape=(4, 3)), dict(batch_shape=(None, 5, 2)),
                   dict(shape=(3,), batch_size=4)):
        ours, theirs = nhanh.Input(**kwargs), keras.Input(**kwargs)
        assert tuple(ours.shape) == tuple(theirs.shape)
    with pytest.raises(ValueError, match="not both"):
        nhanh.Input(shape=(3,), batch_shape=(4, 3))
    with pytest.raises(ValueError):
        keras.Input(shape=(3,), batch_shape=(4, 3))
    inputs = nhanh.Input(batch_shape=(4, 3))
    assert nhanh.Model(inputs, nhanh.layers.Dense(2)(inputs)).output_shape == (4, 2)
