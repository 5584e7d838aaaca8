"""Sequential: building, add / pop, summary, configuration."""

import numpy as np
import pytest

import nhanh
from nhanh import layers
from conftest import to_numpy


def test_built_from_input_shape_and_summary(capsys):
    model = nhanh.Sequential([layers.Dense(1, input_shape=(2,), activation="linear")],
                             name="sequential_demo")
    assert model.built and model.input_shape == (None, 2) and model.output_shape == (None, 1)
    model.summary()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Model: "sequential_demo"'
    assert out[2].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#"]
    row = out[4].split()
    assert row[1:] == ["(Dense)", "(None,", "1)", "3"]
    assert " Total params: 3 (12.00 B)" in out  # Keras 3's lines and units
    assert " Trainable params: 3 (12.00 B)" in out
    assert " Non-trainable params: 0 (0.00 B)" in out


def test_summary_counts_frozen_weights():
    model = nhanh.Sequential([layers.Input((4,)), layers.Dense(5), layers.Dropout(0.1),
                              layers.Dense(2)])
    model.layers[0].trainable = False
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 37" in text and "Trainable params: 12" in text
    assert "Non-trainable params: 25" in text
    assert "(None, 5)" in text and "dropout" in text


def test_summary_before_build_explains():
    model = nhanh.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        model.summary()


def test_add_and_pop():
    model = nhanh.Sequential()
    model.add(layers.Input((3,)))
    model.add(layers.Dense(4))
    model.add(layers.Dense(2))
    assert model.built and model.output_shape == (None, 2)
    popped = model.pop()
    assert isinstance(popped, layers.Dense) and model.output_shape == (None, 4)
    with pytest.raises(TypeError, match="expects a Layer"):
        model.add("dense")


def test_call_on_arrays_matches_layers_in_turn(np_rng):
    model = nhanh.Sequential([layers.Dense(4, activation="relu", input_dim=3),
                              layers.Dense(2)])
    x = np_rng.normal(size=(5, 3)).astype("float32")
    k1, b1, k2, b2 = model.get_weights()
    want = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(to_numpy(model(x)), want, rtol=1e-5, atol=1e-6)


def test_config_round_trip_gives_same_outputs(np_rng):
    model = nhanh.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
                              layers.Dropout(0.2), layers.Flatten(), layers.Reshape((2, 2)),
                              layers.Flatten(), layers.Dense(1)])
    clone = nhanh.Sequential.from_config(model.get_config())
    assert clone.built and [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    clone.set_weights(model.get_weights())
    x = np_rng.normal(size=(2, 3)).astype("float32")
    np.testing.assert_allclose(to_numpy(clone(x)), to_numpy(model(x)), rtol=1e-6)
