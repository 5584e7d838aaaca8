"""ConvLSTM1D/2D/3D against real Keras 3 (on JAX, imported once): forward outputs and states
with the same weights, a short SGD fit, masks, stateful carrying and configs."""

import os

import numpy as np
import pytest

import nhanh
from nhanh.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

OURS = {1: ConvLSTM1D, 2: ConvLSTM2D, 3: ConvLSTM3D}
CASES = {  # name: (rank, input shape, layer arguments, masked)
    "2d_same_seq": (2, (2, 3, 5, 6, 2), dict(filters=3, kernel_size=3, padding="same",
                                              return_sequences=True), False),
    "2d_strided_state": (2, (2, 3, 5, 6, 2), dict(filters=3, kernel_size=(3, 2), strides=2,
                                                  return_state=True), False),
    "2d_channels_first": (2, (2, 3, 2, 5, 6), dict(filters=3, kernel_size=3,
                                                   data_format="channels_first",
                                                   return_sequences=True, return_state=True),
                          False),
    "1d_dilated_backwards": (1, (2, 4, 7, 2), dict(filters=2, kernel_size=3, dilation_rate=2,
                                                   go_backwards=True, return_sequences=True),
                             False),
    "3d_same": (3, (2, 3, 4, 4, 3, 1), dict(filters=2, kernel_size=2, padding="same",
                                           activation="relu", use_bias=False), False),
}
_KERAS: dict = {}


def _data(name):
    rank, shape, kwargs, masked = CASES[name]
    rng = np.random.default_rng(len(name))
    x = rng.normal(size=shape).astype("float32")
    mask = None
    if masked:  # left padding, a hole in the middle, and a full row
        mask = np.ones(shape[:2], bool)
        mask[0, :2] = False
        mask[1, 2] = False
    return x, mask, rng


def _run(L, layer_cls, name):
    _, _, kwargs, _ = CASES[name]
    x, mask, rng = _data(name)
    layer = layer_cls(**kwargs)
    layer.build(x.shape)
    weights = [rng.normal(scale=0.3, size=w.shape).astype("float32")
               for w in layer.get_weights()]
    layer.set_weights(weights)
    out = layer(x, mask=mask) if mask is not None else layer(x)
    out = out if isinstance(out, (list, tuple)) else [out]
    return [np.asarray(L.ops.convert_to_numpy(o)) for o in out], layer


def _keras_forward(name):
    if name not in _KERAS:
        rank = CASES[name][0]
        outs, layer = _run(keras, getattr(keras.layers, f"ConvLSTM{rank}D"), name)
        _KERAS[name] = outs, [tuple(w.shape) for w in layer.weights], [
            w.path.split("/")[-1] for w in layer.weights], layer.get_config()
    return _KERAS[name]


@pytest.mark.parametrize("name", list(CASES))
def test_forward_matches_keras(name, backend):
    want, shapes, names, _ = _keras_forward(name)
    got, layer = _run(nhanh, OURS[CASES[name][0]], name)
    assert [tuple(w.shape) for w in layer.weights] == shapes
    assert [w.name.split("/")[-1] for w in layer.weights] == names
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    x, _, _ = _data(name)
    shape = layer.compute_output_shape(x.shape)
    shapes_out = shape if isinstance(shape, list) else [shape]
    assert [tuple(s) for s in shapes_out] == [g.shape for g in got]


def test_masked_steps_keep_the_states(backend):
    """Keras 3's ConvLSTM fails on a mask (a broadcasting error), so the reference is the
    definition: a masked step keeps the states and repeats the last output, hence each
    sample ends as if its masked steps were cut out of the sequence."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 4, 4, 1)).astype("float32")
    mask = np.ones((3, 4), bool)
    mask[0, :2] = False  # left padding
    mask[1, 2] = False  # a hole
    layer = ConvLSTM2D(2, 3, padding="same", return_sequences=True, return_state=True)
    layer.build(x.shape)
    layer.set_weights([rng.normal(scale=0.4, size=w.shape).astype("float32")
                       for w in layer.get_weights()])
    seq, h, c = (nhanh.ops.convert_to_numpy(t) for t in layer(x, mask=mask))
    for i in range(3):
        _, h_i, c_i = (nhanh.ops.convert_to_numpy(t) for t in layer(x[i:i + 1, mask[i]]))
        np.testing.assert_allclose(h[i], h_i[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(c[i], c_i[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(seq[0, :2], 0.0)  # before the first step: the zero state
    np.testing.assert_array_equal(seq[1, 2], seq[1, 1])  # the hole repeats the last output


def _fit(L, layer_cls):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 3, 5, 5, 1)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    model = L.Sequential([L.Input((3, 5, 5, 1)),
                          layer_cls(filters=2, kernel_size=3, padding="same"),
                          L.layers.Flatten(), L.layers.Dense(1)])
    model.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32")
                       for w in model.get_weights()])
    model.compile(optimizer=L.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    return history.history["loss"], [np.asarray(w) for w in model.get_weights()]


def test_fit_matches_keras(backend, caplog):
    if "fit" not in _KERAS:
        _KERAS["fit"] = _fit(keras, keras.layers.ConvLSTM2D)
    want_loss, want_weights = _KERAS["fit"]
    with caplog.at_level("WARNING", logger="nhanh"):
        loss, weights = _fit(nhanh, ConvLSTM2D)
    assert "could not be captured" not in caplog.text
    np.testing.assert_allclose(loss, want_loss, rtol=1e-4, atol=1e-5)
    for got, want in zip(weights, want_weights):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_stateful_carries_states_across_batches(backend):
    """Two halves of a sequence through a stateful layer = the whole sequence at once."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 6, 4, 1)).astype("float32")
    whole = ConvLSTM1D(2, 3, padding="same", return_sequences=True)
    whole.build(x.shape)
    weights = [rng.normal(scale=0.4, size=w.shape).astype("float32")
               for w in whole.get_weights()]
    whole.set_weights(weights)
    model = nhanh.Sequential([nhanh.Input((3, 4, 1), batch_size=2),
                              ConvLSTM1D(2, 3, padding="same", return_sequences=True,
                                         stateful=True)])
    model.set_weights(weights)
    want = nhanh.ops.convert_to_numpy(whole(x))
    first = model.predict(x[:, :3], verbose=0)
    second = model.predict(x[:, 3:], verbose=0)
    np.testing.assert_allclose(np.concatenate([first, second], 1), want, rtol=1e-5, atol=1e-5)
    model.layers[0].reset_states()
    np.testing.assert_allclose(model.predict(x[:, :3], verbose=0), first, rtol=1e-6)


def test_config_round_trips_with_keras(backend):
    name = "2d_channels_first"
    want, _, _, keras_config = _keras_forward(name)
    layer = ConvLSTM2D.from_config(keras_config)  # Keras's own config builds ours
    config = layer.get_config()
    assert set(config) == set(keras_config)
    for key in ("filters", "kernel_size", "strides", "padding", "data_format",
                "return_sequences", "return_state", "unit_forget_bias"):
        assert tuple(np.atleast_1d(config[key])) == tuple(np.atleast_1d(keras_config[key]))
    x, _, rng = _data(name)
    clone = ConvLSTM2D.from_config(config)
    clone.build(x.shape)
    clone.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32")
                       for w in clone.get_weights()])
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(clone(x)[0]), want[0], rtol=1e-5,
                               atol=1e-5)


def test_unit_forget_bias_and_dropout(backend):
    layer = ConvLSTM2D(3, 2, dropout=0.5, recurrent_dropout=0.5, seed=1,
                       return_sequences=True)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 4, 1)).astype("float32")
    inference = nhanh.ops.convert_to_numpy(layer(x))
    bias = nhanh.ops.convert_to_numpy(layer.weights[2])
    np.testing.assert_array_equal(bias, [0] * 3 + [1] * 3 + [0] * 6)  # gates i, f, c, o
    again = nhanh.ops.convert_to_numpy(layer(x))
    np.testing.assert_array_equal(inference, again)  # no dropout outside training
    trained = nhanh.ops.convert_to_numpy(layer(x, training=True))
    assert not np.allclose(trained, inference)


def test_bad_arguments_name_what_to_fix(backend):
    with pytest.raises(ValueError, match="strides.*dilation_rate"):
        ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="filters"):
        ConvLSTM2D(0, 3)
    with pytest.raises(ValueError, match="rank 5"):
        ConvLSTM2D(2, 3)(np.zeros((2, 3, 4, 1), "float32"))
