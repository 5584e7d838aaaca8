"""Dtype policies and mixed precision, against Keras 3's DTypePolicy and layers.

Policies' names, dtypes and configs are compared with Keras's own; a model of Conv2D,
BatchNormalization, LSTM, MultiHeadAttention and Dense under "mixed_bfloat16" must keep float32
weights, give compute-dtype outputs layer by layer, and match Keras 3 run on the same weights;
float16 training must not underflow thanks to the LossScaleOptimizer compile adds; and a small
ConvNet on scikit-learn's digits must learn as well under "mixed_bfloat16" as in float32.
"""

import os

import numpy as np
import pytest

import nhanh
from nhanh import config, dtype_policies, layers, mixed_precision, ops
from nhanh.dtype_policies.dtype_policy_map import DTypePolicyMap
from helpers import keras_once

os.environ.setdefault("KERAS_BACKEND", "jax")

POLICIES = ["float32", "float16", "bfloat16", "float64", "mixed_float16", "mixed_bfloat16",
            "int32"]


@pytest.fixture(autouse=True)
def reset_policy():
    yield
    config.set_dtype_policy(None)


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x)).astype("float32")


# --- policies ------------------------------------------------------------------------------
@pytest.mark.engine_independent
def test_policies_match_keras(keras):
    for name in POLICIES:
        ours, theirs = dtype_policies.get(name), keras.dtype_policies.get(name)
        assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode) == (
            theirs.name, theirs.compute_dtype, theirs.variable_dtype, theirs.quantization_mode)
        assert dtype_policies.serialize(ours) == keras.dtype_policies.serialize(theirs)
        assert repr(ours) == repr(theirs)
        assert dtype_policies.deserialize(keras.dtype_policies.serialize(theirs)) == ours
    assert dtype_policies.get(np.float16).name == "float16"
    assert dtype_policies.FloatDTypePolicy("bfloat16") == dtype_policies.DTypePolicy("bfloat16")
    assert repr(dtype_policies.FloatDTypePolicy("bfloat16")) == '<DTypePolicy "bfloat16">'
    assert dtype_policies.serialize(dtype_policies.FloatDTypePolicy("float16"))["class_name"] \
        == "DTypePolicy"
    with pytest.raises(ValueError, match="mixed_float16"):
        dtype_policies.get("mixed_float17")
    with pytest.raises(ValueError, match="quantization"):
        dtype_policies.get("int8_from_float32")
    with pytest.raises(AttributeError, match="Keras 3"):
        dtype_policies.Int4DTypePolicy


@pytest.mark.engine_independent
def test_convert_input_casts_only_floats():
    policy = dtype_policies.get("mixed_bfloat16")
    assert ops.dtype(policy.convert_input(np.ones(3, "float32"), True, "bfloat16")) == \
        "bfloat16"
    assert ops.dtype(policy.convert_input(np.ones(3, "int32"), True, "bfloat16")) == "int32"
    assert ops.dtype(policy.convert_input(np.ones(3, "float32"), False, "bfloat16")) == \
        "float32"


@pytest.mark.engine_independent
def test_policy_map_as_keras(keras):
    ours = DTypePolicyMap("mixed_bfloat16")
    theirs = keras.dtype_policies.DTypePolicyMap("mixed_bfloat16")
    for m in (ours, theirs):
        m["encoder/layer_0/dense"] = "bfloat16"
        m["encoder/.*"] = "float16"
        m["decoder"] = "bfloat16"
    for path in ["encoder/layer_0/dense", "encoder/attention/query", "decoder",
                 "decoder/attention", "other"]:
        assert ours[path].name == theirs[path].name, path
    assert (ours.name, ours.compute_dtype, ours.variable_dtype, len(ours)) == (
        theirs.name, theirs.compute_dtype, theirs.variable_dtype, len(theirs))
    assert dtype_policies.serialize(ours) == keras.dtype_policies.serialize(theirs)
    assert dtype_policies.deserialize(dtype_policies.serialize(ours)) == ours
    ours["encoder/attention/.*"] = "float32"
    with pytest.raises(ValueError, match="several keys"):
        ours["encoder/attention/query"]
    with pytest.raises(ValueError, match="already set"):
        ours["decoder"] = "float32"
    del ours["decoder"]
    assert ours["decoder"].name == "mixed_bfloat16"
    with pytest.raises(ValueError, match="default_policy"):
        DTypePolicyMap(ours)
    free = DTypePolicyMap()  # no default: the global policy at lookup time
    config.set_dtype_policy("mixed_float16")
    assert free["anything"].name == "mixed_float16" and free.compute_dtype == "float16"


@pytest.mark.engine_independent
def test_global_policy_names():
    assert config.dtype_policy().name == "float32"
    mixed_precision.set_global_policy("mixed_bfloat16")
    assert mixed_precision.global_policy() == mixed_precision.Policy("mixed_bfloat16")
    assert config.dtype_policy().name == mixed_precision.dtype_policy().name == "mixed_bfloat16"
    assert dtype_policies.get(None).compute_dtype == "bfloat16"
    assert mixed_precision.DTypePolicy is dtype_policies.DTypePolicy
    assert mixed_precision.LossScaleOptimizer is nhanh.optimizers.LossScaleOptimizer
    with pytest.raises(ValueError, match="policy"):
        config.set_dtype_policy(3)
    config.set_dtype_policy(None)
    old = config.floatx()
    config.set_floatx("float64")  # the default follows floatx until a policy is set
    try:
        assert config.dtype_policy().name == "float64"
    finally:
        config.set_floatx(old)


# --- layers --------------------------------------------------------------------------------
def test_layer_dtype_arguments_and_configs(keras):
    config.set_dtype_policy("mixed_float16")
    dense = layers.Dense(2)  # the global policy
    assert (dense.dtype_policy.name, dense.compute_dtype, dense.variable_dtype, dense.dtype) \
        == ("mixed_float16", "float16", "float32", "float32")
    config.set_dtype_policy(None)
    for dtype in [None, "float32", "bfloat16", "mixed_bfloat16", "mixed_float16",
                  dtype_policies.DTypePolicy("float16")]:
        ours = layers.Dense(2, dtype=dtype)
        theirs = keras.layers.Dense(2, dtype=dtype if not isinstance(dtype, dtype_policies
                                                                      .DTypePolicy) else "float16")
        assert ours.get_config()["dtype"] == theirs.get_config()["dtype"], dtype
        assert (ours.compute_dtype, ours.variable_dtype, ours.dtype) == (
            theirs.compute_dtype, theirs.variable_dtype, theirs.dtype)
        clone = layers.Dense.from_config(ours.get_config())
        assert clone.dtype_policy == ours.dtype_policy
    # A Keras config of a mixed layer restores the policy here.
    keras_dtype = keras.layers.Dense(2, dtype="mixed_bfloat16").get_config()["dtype"]
    clone = layers.Dense.from_config({**layers.Dense(2).get_config(), "dtype": keras_dtype})
    assert (clone.compute_dtype, clone.variable_dtype) == ("bfloat16", "float32")
    policy_map = DTypePolicyMap("float32", {"inner": "mixed_bfloat16"})
    assert layers.Dense(2, dtype=policy_map, name="inner").compute_dtype == "bfloat16"
    assert layers.Dense(2, dtype=policy_map, name="outer").compute_dtype == "float32"
    with pytest.raises(ValueError, match="dtype"):
        layers.Dense(2, dtype="mixed_float17")


class Probe(layers.Layer):
    """Records the dtypes call() sees: its inputs, and its weight as read inside call()."""

    def build(self, input_shape):
        self.w = self.add_weight((input_shape[0][-1],), "ones", name="w")

    def call(self, inputs):
        x, ids = inputs
        self.seen = (ops.dtype(x), ops.dtype(ids), ops.dtype(self.w.value))
        return x * self.w


def test_autocast_inside_call_and_gradients_reach_float32_weights():
    probe = Probe(dtype="mixed_bfloat16")
    out = probe([np.ones((2, 3), "float32"), np.arange(2, dtype="int32")])
    assert probe.seen == ("bfloat16", "int32", "bfloat16")  # integer inputs are not cast
    assert ops.dtype(out) == "bfloat16" and probe.w.dtype == "float32"
    assert ops.dtype(probe.w.value) == "float32"  # outside call() as stored
    probe([ops.ones((2, 3), "float32"), ops.ones((2,), "float16")])  # tensors are cast too
    assert probe.seen == ("bfloat16", "bfloat16", "bfloat16")

    # Gradients flow through the cast to the float32 weights (checked against float32 math).
    config.set_dtype_policy("mixed_bfloat16")
    model = nhanh.Sequential([layers.Input((4,)), layers.Dense(1, use_bias=False)])
    model.compile(nhanh.optimizers.SGD(0.1), "mse")
    kernel = np.array([[0.5], [-0.25], [0.75], [1.0]], "float32")
    model.set_weights([kernel])
    x = np.array([[1.0, 2.0, 0.5, -1.0], [0.5, -0.5, 1.5, 2.0]], "float32")
    y = np.array([[1.0], [-2.0]], "float32")
    model.train_on_batch(x, y)
    new = model.get_weights()[0]
    expected = kernel - 0.1 * (2 * x.T @ (x @ kernel - y) / len(x))
    assert model.layers[0].kernel.dtype == "float32" and new.dtype == np.float32
    np.testing.assert_allclose(new, expected, rtol=2e-2, atol=2e-2)
    assert not np.allclose(new, kernel)


def test_losses_and_metrics_run_in_float32():
    predictions = ops.convert_to_tensor(np.array([[0.2, 0.8], [0.6, 0.4]]), "bfloat16")
    truth = np.array([[0.0, 1.0], [1.0, 0.0]], "float32")
    assert ops.dtype(nhanh.losses.MeanSquaredError()(truth, predictions)) == "float32"
    metric = nhanh.metrics.CategoricalAccuracy()
    metric.update_state(truth, predictions)
    assert ops.dtype(metric.result()) == "float32"


def test_batch_normalization_statistics_stay_float32(keras):
    """Under mixed_bfloat16 the moving statistics are updated in float32, as Keras does (in
    bfloat16 a mean near 3 would be off by up to 0.008)."""
    x = (3.0 + 0.1 * np.random.default_rng(2).normal(size=(16, 4))).astype("float32")
    ours = layers.BatchNormalization(momentum=0.5, dtype="mixed_bfloat16")
    theirs = keras.layers.BatchNormalization(momentum=0.5, dtype="mixed_bfloat16")
    ours(x + 0.37, training=True), theirs(x + 0.37, training=True)  # moving stats not round
    got, want = ours(x, training=True), theirs(x, training=True)
    assert ops.dtype(got) == str(want.dtype) == "bfloat16"
    np.testing.assert_allclose(np_(got), np_(want), atol=0.03)
    assert all(v.dtype == "float32" for v in ours.weights)
    np.testing.assert_allclose(ours.moving_mean.numpy(), np_(theirs.moving_mean), atol=1e-4)
    np.testing.assert_allclose(ours.moving_variance.numpy(), np_(theirs.moving_variance),
                               atol=1e-4)


def _mixed_model(lib, dtype):
    inputs = lib.Input((5, 4, 3))
    x = lib.layers.Conv2D(4, 3, activation="relu", dtype=dtype)(inputs)
    x = lib.layers.BatchNormalization(dtype=dtype)(x)
    x = lib.layers.Reshape((6, 4), dtype=dtype)(x)
    x = lib.layers.LSTM(5, return_sequences=True, dtype=dtype)(x)
    x = lib.layers.MultiHeadAttention(2, 3, dtype=dtype)(x, x)
    x = lib.layers.GlobalAveragePooling1D(dtype=dtype)(x)
    x = lib.layers.Dense(3, dtype=dtype)(x)
    outputs = lib.layers.Activation("softmax", dtype=dtype)(x)
    return lib.Model(inputs, outputs)


def test_mixed_bfloat16_model_matches_keras(keras):
    config.set_dtype_policy("mixed_bfloat16")
    ours = _mixed_model(nhanh, None)
    rng = np.random.default_rng(0)
    all_weights = []
    for a in ours.layers:
        weights = [rng.normal(size=w.shape).astype("float32") * 0.5 for w in a.get_weights()]
        if isinstance(a, layers.BatchNormalization):
            weights[3] = np.abs(weights[3]) + 0.5  # a positive moving variance
        a.set_weights(weights)
        all_weights.append(weights)
    assert all(v.dtype == "float32" for v in ours.weights)
    x = rng.normal(size=(2, 5, 4, 3)).astype("float32")

    def keras_side():  # [(dtype, values)] of every layer's output
        theirs = _mixed_model(keras, "mixed_bfloat16")
        for b, weights in zip(theirs.layers, all_weights):
            b.set_weights(weights)
        every = keras.Model(theirs.inputs, [b.output for b in theirs.layers[1:]])(x)
        return [(str(want.dtype), np_(want)) for want in every]

    every_ours = nhanh.Model(ours.inputs, [a.output for a in ours.layers[1:]])(x)
    every_theirs = keras_once("mixed_bfloat16_model", keras_side)
    for a, got, (want_dtype, want) in zip(ours.layers[1:], every_ours, every_theirs):
        assert ops.dtype(got) == want_dtype == "bfloat16", a.name
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(np_(got), want, atol=0.03 * scale, err_msg=a.name)


def test_float16_training_with_loss_scaling_does_not_underflow():
    """A tiny loss's float16 gradients flush to zero unscaled; compile's LossScaleOptimizer
    keeps them, so the weights move and the loss falls."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [1.5]], "float32")).astype("float32")

    def tiny_mse(y_true, y_pred):
        return 1e-9 * ops.mean(ops.square(y_true - y_pred), axis=-1)

    def train(auto_scale_loss):
        nhanh.utils.set_random_seed(3)
        config.set_dtype_policy("mixed_float16")
        model = nhanh.Sequential([layers.Input((4,)), layers.Dense(8, activation="tanh"),
                                  layers.Dense(1)])
        model.compile(nhanh.optimizers.SGD(1e8), tiny_mse, auto_scale_loss=auto_scale_loss)
        before = model.get_weights()
        history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
        moved = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]
        return model, history.history["loss"], moved

    model, losses, moved = train(True)
    assert isinstance(model.optimizer, mixed_precision.LossScaleOptimizer)
    assert model.layers[0].kernel.dtype == "float32"
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.5 * losses[0], losses
    assert all(moved)
    model, _, moved = train(False)
    assert not isinstance(model.optimizer, mixed_precision.LossScaleOptimizer)
    assert not any(moved)  # every float16 gradient underflowed to zero


def test_digits_convnet_mixed_bfloat16_matches_float32():
    """The issue's acceptance check: same seed, same epochs, test accuracy within 1 point."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    train, test = slice(0, 1000), slice(1000, None)

    def accuracy(policy):
        config.set_dtype_policy(policy)
        nhanh.utils.set_random_seed(7)
        model = nhanh.Sequential([
            layers.Input((8, 8, 1)), layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10, activation="softmax")])
        model.compile(nhanh.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x[train], y[train], epochs=4, batch_size=50, verbose=0)
        assert model.layers[0].kernel.dtype == "float32"
        assert ops.dtype(model(x[:2])) == ("bfloat16" if policy != "float32" else "float32")
        return model.evaluate(x[test], y[test], verbose=0)[1]

    full, mixed = accuracy("float32"), accuracy("mixed_bfloat16")
    assert full > 0.85
    assert abs(full - mixed) <= 0.01, (full, mixed)
