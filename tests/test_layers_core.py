"""The Layer base and the core layers, against NumPy."""

import numpy as np
import pytest

import nhanh
from nhanh import layers, ops
from nhanh.layers.core import Activation as CoreActivation, Dense as CoreDense
from conftest import to_numpy


def test_keras2_core_path_is_the_same_class():
    assert CoreDense is layers.Dense and CoreActivation is layers.Activation


def test_dense_forward_matches_numpy(np_rng):
    layer = layers.Dense(3, activation="relu")
    x = np_rng.normal(size=(4, 5)).astype("float32")
    y = to_numpy(layer(x))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (5, 3) and bias.shape == (3,) and kernel.dtype == np.float32
    np.testing.assert_allclose(y, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)


def test_dense_on_3d_inputs_acts_on_last_axis(np_rng):
    layer = layers.Dense(2, use_bias=False)
    x = np_rng.normal(size=(2, 3, 4)).astype("float32")
    y = to_numpy(layer(x))
    (kernel,) = layer.get_weights()
    np.testing.assert_allclose(y, x @ kernel, rtol=1e-5, atol=1e-6)


def test_dense_initializers_regularizers_constraints():
    layer = layers.Dense(2, kernel_initializer="ones", bias_initializer=nhanh.initializers.Constant(0.5),
                         kernel_regularizer=nhanh.regularizers.L2(0.1), kernel_constraint="non_neg")
    layer(np.zeros((1, 3), "float32"))
    kernel, bias = layer.get_weights()
    np.testing.assert_array_equal(kernel, np.ones((3, 2)))
    np.testing.assert_array_equal(bias, [0.5, 0.5])
    (penalty,) = layer.losses
    np.testing.assert_allclose(float(to_numpy(penalty)), 0.1 * 6, rtol=1e-6)
    assert layer.kernel.constraint is not None


def test_unique_default_names():
    a, b = layers.Dense(1), layers.Dense(1)
    assert a.name != b.name and a.name.startswith("dense") and b.name.startswith("dense")
    assert layers.Dense(1, name="out").name == "out"


def test_input_shape_input_dim_batch_size_keywords():
    assert layers.Dense(1, input_shape=(2,))._batch_input_shape == (None, 2)
    assert layers.Dense(1, input_dim=3)._batch_input_shape == (None, 3)
    assert layers.Dense(1, input_shape=(4,), batch_size=8)._batch_input_shape == (8, 4)


def test_unknown_keyword_is_an_error():
    with pytest.raises(TypeError, match="unexpected argument.*unitz"):
        layers.Dense(1, unitz=3)


def test_weights_lists_and_trainable_flag():
    layer = layers.Dense(2)
    layer.build((None, 3))
    assert [w.name for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]
    assert len(layer.trainable_weights) == 2 and not layer.non_trainable_weights
    layer.trainable = False
    assert not layer.trainable_weights and len(layer.non_trainable_weights) == 2
    assert layer.count_params() == 8


def test_set_weights_checks_count_and_shape_and_changes_nothing_on_error():
    layer = layers.Dense(2)
    layer.build((None, 3))
    before = layer.get_weights()
    with pytest.raises(ValueError, match="has 2 weight.*received 1"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"shape \(2,\).*\(3,\)"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    layer.set_weights([np.ones((3, 2)), np.full(2, 7.0)])
    np.testing.assert_array_equal(layer.get_weights()[1], [7.0, 7.0])


def test_built_layer_rejects_other_feature_count():
    layer = layers.Dense(2)
    layer(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError, match=r"dense.*size 3 on axis -1.*\(1, 4\)"):
        layer(np.zeros((1, 4), "float32"))


def test_get_config_round_trip():
    layer = layers.Dense(4, activation="tanh", use_bias=False, kernel_initializer="he_normal",
                         input_shape=(3,), name="d")
    clone = layers.Dense.from_config(layer.get_config())
    assert clone.units == 4 and not clone.use_bias and clone.name == "d"
    assert clone._batch_input_shape == (None, 3)
    x = np.linspace(-1, 1, 6).reshape(2, 3).astype("float32")
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(clone(x)), to_numpy(layer(x)), rtol=1e-6)
    assert clone.get_config()["activation"] == "tanh"


def test_activation_layer_by_name():
    x = np.array([[-1.0, 0.0, 2.0]], "float32")
    np.testing.assert_allclose(to_numpy(layers.Activation("relu")(x)), [[0, 0, 2]])
    with pytest.raises(ValueError, match="Unknown activation"):
        layers.Activation("rleu")


def test_dropout_only_in_training():
    layer = layers.Dropout(0.5, seed=1)
    x = np.ones((1000, 4), "float32")
    np.testing.assert_array_equal(to_numpy(layer(x)), x)
    y = to_numpy(layer(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)


def test_flatten_and_reshape(np_rng):
    x = np_rng.normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_array_equal(to_numpy(layers.Flatten()(x)), x.reshape(2, 12))
    np.testing.assert_array_equal(to_numpy(layers.Reshape((4, -1))(x)), x.reshape(2, 4, 3))
    assert layers.Reshape((4, -1)).compute_output_shape((None, 3, 4)) == (None, 4, 3)
    assert layers.Flatten().compute_output_shape((None, 3, 4)) == (None, 12)
    with pytest.raises(ValueError, match="cannot reshape"):
        layers.Reshape((5,))(x)


def test_custom_layer_with_ops_and_add_weight():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1],), initializer="ones", name="w")

        def call(self, inputs):
            return ops.multiply(inputs, self.w) + 1.0

    layer = Scale()
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(to_numpy(layer(x)), x + 1)
    assert [w.shape for w in layer.weights] == [(3,)]


def test_input_returns_symbolic_tensor():
    t = layers.Input(shape=(3,), name="features")
    assert t.shape == (None, 3) and t.dtype == "float32"
    assert isinstance(t._source_layer, layers.InputLayer)


def test_dense_takes_integer_inputs_like_float_ones():
    """An int32 batch is promoted as NumPy would (int @ float -> float), on every engine."""
    model = nhanh.Sequential([nhanh.Input((3,)), nhanh.layers.Dense(2)])
    ints = np.arange(12, dtype="int32").reshape(4, 3)
    np.testing.assert_allclose(model.predict(ints, verbose=0),
                               model.predict(ints.astype("float32"), verbose=0), rtol=1e-6)
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(nhanh.ops.matmul(ints, np.ones(
        (3, 2), "float32"))), ints @ np.ones((3, 2)), rtol=1e-6)
