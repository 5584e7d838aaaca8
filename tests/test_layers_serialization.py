"""nhanh.layers.serialize / deserialize against Keras 3's keras.layers.serialize: the same
envelope (module, class_name, registered_name), the same config values for a few layers, and
round trips both ways (Keras's dict read by nhanh gives a layer that computes the same)."""

import os

import numpy as np
import pytest

import nhanh
from nhanh import layers, ops
from nhanh.layers.serialization import deserialize, serialize


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def envelope(d: dict) -> dict:
    return {k: d[k] for k in ("module", "class_name", "registered_name")}


CASES = [("Dense", dict(units=3, activation="relu", use_bias=False), ("units", "activation",
                                                                      "use_bias")),
         ("Dropout", dict(rate=0.25, seed=3), ("rate", "seed")),
         ("Conv2D", dict(filters=4, kernel_size=3, strides=2, padding="same"),
          ("filters", "kernel_size", "strides", "padding")),
         ("LSTM", dict(units=5, return_sequences=True), ("units", "return_sequences")),
         ("Embedding", dict(input_dim=10, output_dim=4, mask_zero=True),
          ("input_dim", "output_dim", "mask_zero"))]


@pytest.mark.parametrize("class_name,kwargs,keys", CASES, ids=[c[0] for c in CASES])
def test_serialize_matches_keras(keras, class_name, kwargs, keys):
    ours = serialize(getattr(layers, class_name)(name="x", **kwargs))
    theirs = keras.layers.serialize(getattr(keras.layers, class_name)(name="x", **kwargs))
    assert envelope(ours) == envelope(theirs)
    for key in ("name", "trainable", *keys):
        value = ours["config"][key]
        assert (list(value) if isinstance(value, tuple) else value) == \
            (list(theirs["config"][key]) if isinstance(theirs["config"][key], tuple)
             else theirs["config"][key]), key
    back = deserialize(ours)
    assert isinstance(back, getattr(layers, class_name))
    assert back.get_config() == ours["config"]


def test_models_and_custom_classes_have_keras_envelopes(keras):
    seq = serialize(nhanh.Sequential([nhanh.Input((2,)), layers.Dense(1)]))
    k_seq = keras.layers.serialize(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
    assert envelope(seq) == envelope(k_seq)
    inp = nhanh.Input((2,))
    functional = serialize(nhanh.Model(inp, layers.Dense(1)(inp)))
    k_inp = keras.Input((2,))
    k_functional = keras.layers.serialize(keras.Model(k_inp, keras.layers.Dense(1)(k_inp)))
    assert envelope(functional) == envelope(k_functional)

    class Scale(layers.Layer):
        def call(self, x):
            return 2 * x

    class KScale(keras.layers.Layer):
        pass

    ours, theirs = serialize(Scale(name="s")), keras.layers.serialize(KScale(name="s"))
    assert ours["module"] == Scale.__module__ and theirs["module"] == KScale.__module__
    assert ours["registered_name"] == "Scale" and theirs["registered_name"] == "KScale"
    assert isinstance(deserialize(ours, custom_objects={"Scale": Scale}), Scale)


def test_keras_dict_deserializes_to_a_layer_computing_the_same(keras):
    x = np.arange(6, dtype="float32").reshape(2, 3) / 6
    for k_layer in (keras.layers.Activation("softplus"), keras.layers.Reshape((3, 1)),
                    keras.layers.LeakyReLU(negative_slope=0.2)):
        ours = deserialize(keras.layers.serialize(k_layer))
        assert ours.name == k_layer.name
        np.testing.assert_allclose(ops.convert_to_numpy(ours(x - 0.5)), np.asarray(k_layer(x - 0.5)),
                                   rtol=1e-5)
    k_layer = keras.layers.Dense(2, activation="tanh", name="d")
    expected = np.asarray(k_layer(x))
    k_dict = keras.layers.serialize(k_layer)
    # Keras 3.15 writes `quantization_config: None` (dropped on reading); its initializers'
    # configs (GlorotUniform with input_axes / output_axes) are read as they are.
    ours = deserialize(k_dict)
    assert ours.kernel_initializer.get_config() == k_dict["config"]["kernel_initializer"][
        "config"]
    assert ours.built  # from Keras's build_config
    ours.set_weights([np.asarray(w) for w in k_layer.get_weights()])
    assert ours.name == "d" and ours.units == 2
    np.testing.assert_allclose(ops.convert_to_numpy(ours(x)), expected, rtol=1e-5)
    model = deserialize(serialize(nhanh.Sequential([nhanh.Input((3,)), ours])))
    assert [type(la).__name__ for la in model.layers] == ["Dense"]


def test_deserialize_from_a_class_name_and_errors_that_name_the_class():
    layer = deserialize("BatchNormalization")
    assert isinstance(layer, layers.BatchNormalization) and layer.momentum == 0.99
    assert isinstance(deserialize({"class_name": "Dropout", "config": {"rate": 0.3}}),
                      layers.Dropout)
    with pytest.raises(ValueError, match="'Dence'.*Did you mean 'Dense'.*custom_objects"):
        deserialize({"class_name": "Dence", "config": {}})
    with pytest.raises(ValueError, match="class_name"):
        deserialize({"config": {}})
    with pytest.raises(TypeError, match="expects a layer"):
        serialize(3)
