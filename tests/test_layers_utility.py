"""Utility layers (Lambda, Identity, Rescaling) and preprocessing layers (Normalization,
CategoryEncoding) against NumPy."""

import json
import warnings

import numpy as np
import pytest

import nhanh
from nhanh import config, ops
from nhanh.layers.preprocessing import CategoryEncoding, Normalization
from nhanh.layers.utility import Identity, Lambda, Rescaling
from conftest import to_numpy


def double_plus(x, offset=0.0):
    """A module-level function: saved by reference."""
    return x * 2.0 + offset


# --- Lambda --------------------------------------------------------------------------------------
def test_lambda_applies_the_function_with_arguments(np_rng):
    x = np_rng.normal(size=(3, 4)).astype("float32")
    layer = Lambda(double_plus, arguments={"offset": 1.0})
    np.testing.assert_allclose(to_numpy(layer(x)), 2 * x + 1, rtol=1e-6)
    assert layer.weights == []
    with pytest.raises(TypeError, match="callable"):
        Lambda("not a function")


def test_lambda_passes_training_and_mask_when_the_function_asks(np_rng):
    seen = {}

    def fn(x, mask=None, training=None):
        seen.update(mask=mask, training=training)
        return x

    x = np.ones((2, 3), "float32")
    mask = np.array([[True, False, True], [True, True, False]])
    Lambda(fn)(x, training=True, mask=mask)
    assert seen["training"] is True and seen["mask"] is mask
    assert Lambda(lambda x: x)(x, training=True) is not None  # no keywords forced on it


def test_lambda_masks():
    x = np.ones((2, 3), "float32")
    mask = np.ones((2, 3), bool)
    assert Lambda(ops.square).compute_mask(x, mask) is None
    assert not Lambda(ops.square).supports_masking
    passthrough = Lambda(ops.square, mask=lambda inputs, mask: mask)
    assert passthrough.supports_masking and passthrough.compute_mask(x, mask) is mask


def test_lambda_output_shape_inferred_given_or_computed():
    x = np.ones((2, 3, 4), "float32")
    auto = Lambda(lambda t: ops.sum(t, axis=-1))
    assert auto.compute_output_shape((None, 3, 4)) == (None, 3)
    assert to_numpy(auto(x)).shape == auto.compute_output_shape(x.shape)
    assert Lambda(ops.square, output_shape=(3, 4)).compute_output_shape((None, 3, 4)) == (
        None, 3, 4)
    by_fn = Lambda(ops.square, output_shape=lambda s: (s[0], 12))
    assert by_fn.compute_output_shape((5, 3, 4)) == (5, 12)
    broken = Lambda(lambda t: ops.reshape(t, (7, -1)))
    with pytest.raises(NotImplementedError, match="output_shape"):
        broken.compute_output_shape((2, 3, 4))


def test_lambda_config_of_named_functions_round_trips(np_rng):
    x = np_rng.normal(size=(2, 3)).astype("float32")
    layer = Lambda(double_plus, output_shape=(3,), arguments={"offset": 0.5}, name="dp")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a named function is saved without warning
        config_ = layer.get_config()
    json.dumps(config_)
    assert config_["function"]["config"] == "double_plus"
    with pytest.raises(ValueError, match="custom_objects"):  # not imported from a config
        Lambda.from_config(config_)
    clone = Lambda.from_config(config_, custom_objects={"double_plus": double_plus})
    np.testing.assert_allclose(to_numpy(clone(x)), to_numpy(layer(x)))
    assert clone.compute_output_shape((None, 3)) == (None, 3) and clone.name == "dp"
    ours = Lambda.from_config(Lambda(ops.square).get_config())  # nhanh's own ops resolve
    np.testing.assert_allclose(to_numpy(ours(x)), x ** 2, rtol=1e-6)


def test_lambda_of_a_python_lambda_warns_and_refuses_to_restore(np_rng):
    layer = Lambda(lambda t: t + 1.0)
    with pytest.warns(UserWarning, match="cannot be restored"):
        config_ = layer.get_config()
    json.dumps(config_)
    assert "t + 1.0" in config_["function"]["config"]["source"]
    with pytest.raises(ValueError, match=r"lambda.*unsafe.*custom_objects"):
        Lambda.from_config(config_)
    fn = lambda t: t + 1.0  # noqa: E731
    clone = Lambda.from_config(config_, custom_objects={"<lambda>": fn})
    x = np_rng.normal(size=(2, 2)).astype("float32")
    np.testing.assert_allclose(to_numpy(clone(x)), x + 1, rtol=1e-6)


# --- Identity and Rescaling ----------------------------------------------------------------------
def test_identity(np_rng):
    x = np_rng.normal(size=(2, 3)).astype("float32")
    layer = Identity(name="id")
    np.testing.assert_array_equal(to_numpy(layer(x)), x)
    assert layer.compute_output_shape((None, 3)) == (None, 3)
    mask = np.ones((2, 3), bool)
    assert layer.compute_mask(x, mask) is mask
    assert Identity.from_config(layer.get_config()).name == "id"


def test_rescaling_uint8_images_and_per_channel_scale():
    pixels = np.arange(2 * 2 * 2 * 3, dtype="uint8").reshape(2, 2, 2, 3) * 10
    y = to_numpy(Rescaling(1 / 127.5, offset=-1)(pixels))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, pixels / 127.5 - 1, rtol=1e-6, atol=1e-6)
    scale = [1.0, 0.5, 0.25]
    layer = Rescaling(scale)
    np.testing.assert_allclose(to_numpy(layer(pixels)), pixels * np.array(scale), rtol=1e-6)
    assert layer.compute_output_shape((None, 2, 2, 3)) == (None, 2, 2, 3)
    clone = Rescaling.from_config(json.loads(json.dumps(layer.get_config())))
    np.testing.assert_allclose(to_numpy(clone(pixels)), to_numpy(layer(pixels)))
    with pytest.raises(TypeError, match="scale"):
        Rescaling("1/255")


def test_rescaling_per_channel_scale_channels_first():
    previous = config.image_data_format()
    config.set_image_data_format("channels_first")
    try:
        x = np.ones((1, 3, 2, 2), "float32")
        y = to_numpy(Rescaling([1.0, 2.0, 3.0])(x))
    finally:
        config.set_image_data_format(previous)
    np.testing.assert_allclose(y[0, :, 0, 0], [1, 2, 3])


# --- Normalization -------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, None, (1, 2), 1])
def test_normalization_adapt_matches_numpy(np_rng, axis):
    data = (np_rng.normal(size=(50, 3, 4)) * [[1], [2], [3]] + 5).astype("float32")
    layer = Normalization(axis=axis)
    layer.adapt(data)
    keep = () if axis is None else ((axis,) if isinstance(axis, int) else axis)
    keep = tuple(a % 3 for a in keep)
    reduce = tuple(i for i in range(3) if i not in keep)
    mean = data.mean(axis=reduce, keepdims=True)
    std = data.std(axis=reduce, keepdims=True)
    mean_w, var_w, count = layer.get_weights()
    np.testing.assert_allclose(mean_w, mean.reshape(mean_w.shape), rtol=1e-5)
    np.testing.assert_allclose(var_w, (std ** 2).reshape(var_w.shape), rtol=1e-5)
    assert count == np.prod([data.shape[i] for i in reduce])
    np.testing.assert_allclose(to_numpy(layer(data)), (data - mean) / std, rtol=1e-4, atol=1e-5)


def test_normalization_adapt_merges_batches_exactly(np_rng):
    batches = [(np_rng.normal(size=(n, 2)) * 3 + i).astype("float32") for i, n in
               enumerate((7, 20, 1, 12))]
    whole = np.concatenate(batches)
    layer = Normalization()
    layer.adapt(iter([(b, np.zeros(len(b))) for b in batches]))  # (x, y) batches, a generator
    np.testing.assert_allclose(layer.get_weights()[0], whole.mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[1], whole.var(0), rtol=1e-5)
    as_tensor = Normalization()
    as_tensor.adapt(ops.convert_to_tensor(whole))
    np.testing.assert_allclose(as_tensor.get_weights()[1], whole.var(0), rtol=1e-5)


def test_normalization_weights_and_invert(np_rng):
    layer = Normalization()
    data = (np_rng.normal(size=(30, 3)) * 4 - 2).astype("float32")
    layer.adapt(data)
    assert [w.name.split("/")[-1] for w in layer.weights] == ["mean", "variance", "count"]
    assert layer.trainable_weights == []
    inverse = Normalization(invert=True)
    inverse.build((None, 3))
    inverse.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(inverse(layer(data))), data, rtol=1e-4, atol=1e-4)


def test_normalization_with_given_statistics_has_no_weights(np_rng):
    x = np_rng.normal(size=(4, 3)).astype("float32")
    layer = Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25])
    np.testing.assert_allclose(to_numpy(layer(x)), (x - [1, 2, 3]) / [2, 1, 0.5], rtol=1e-5)
    assert layer.weights == []
    scalar = Normalization(mean=2.0, variance=9.0)
    np.testing.assert_allclose(to_numpy(scalar(x)), (x - 2) / 3, rtol=1e-5)
    clone = Normalization.from_config(json.loads(json.dumps(layer.get_config())))
    np.testing.assert_allclose(to_numpy(clone(x)), to_numpy(layer(x)))
    with pytest.raises(ValueError, match="both mean and variance"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match="adapt"):
        layer.adapt(x)


def test_normalization_rejects_data_of_another_shape(np_rng):
    layer = Normalization(name="norm")
    layer.adapt(np_rng.normal(size=(10, 3)))
    with pytest.raises(ValueError, match=r"'norm'.*size 3 on axis 1.*\(2, 4\)"):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"'norm'.*\(None, 3\)|'norm'.*\(10, 3\).*\(5, 4\)"):
        layer.adapt(np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"'n2'.*axis 2 is out of range"):
        Normalization(axis=2, name="n2").adapt(np.zeros((5, 4)))
    assert Normalization().compute_output_shape((None, 3)) == (None, 3)


def test_normalization_in_a_model_after_adapt(np_rng):
    x = (np_rng.normal(size=(40, 2)) * 10 + 50).astype("float32")
    norm = Normalization(input_shape=(2,))
    norm.adapt(x)
    model = nhanh.Sequential([norm, nhanh.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x[:, :1], epochs=1, batch_size=8, verbose=0)
    np.testing.assert_allclose(norm.get_weights()[0], x.mean(0), rtol=1e-5)  # not trained


# --- CategoryEncoding ----------------------------------------------------------------------------
def _numpy_encoding(tokens, n, mode, weights=None):
    tokens = np.asarray(tokens)
    if mode == "one_hot":
        if tokens.ndim > 1 and tokens.shape[-1] == 1:
            tokens = tokens[..., 0]
        return np.eye(n)[tokens]
    out = np.zeros((*tokens.shape[:-1], n))
    w = np.ones(tokens.shape) if weights is None else weights
    for index in np.ndindex(tokens.shape):
        out[index[:-1] + (tokens[index],)] += w[index]
    return (out > 0).astype(float) if mode == "multi_hot" else out


@pytest.mark.parametrize("mode", ["multi_hot", "count", "one_hot"])
@pytest.mark.parametrize("shape", [(5, 4), (5, 1), (5,), (2, 3, 4)])
def test_category_encoding_matches_numpy(np_rng, mode, shape):
    tokens = np_rng.integers(0, 6, size=shape)
    layer = CategoryEncoding(6, output_mode=mode)
    y = to_numpy(layer(tokens))
    np.testing.assert_array_equal(y, _numpy_encoding(tokens, 6, mode))
    assert y.shape == layer.compute_output_shape(shape) and y.dtype == np.float32


def test_category_encoding_count_weights(np_rng):
    tokens = np_rng.integers(0, 4, size=(3, 5))
    weights = np_rng.random((3, 5)).astype("float32")
    layer = CategoryEncoding(4, output_mode="count")
    np.testing.assert_allclose(to_numpy(layer(tokens, count_weights=weights)),
                               _numpy_encoding(tokens, 4, "count", weights), rtol=1e-6)
    with pytest.raises(ValueError, match="count_weights"):
        CategoryEncoding(4)(tokens, count_weights=weights)


def test_category_encoding_checks_arguments_and_tokens():
    with pytest.raises(ValueError, match=r"'ce'.*\[0, 3\).*0 to 3"):
        CategoryEncoding(3, name="ce")(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="num_tokens"):
        CategoryEncoding()
    with pytest.raises(ValueError, match="output_mode"):
        CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="sparse"):
        CategoryEncoding(3, sparse=True)
    assert CategoryEncoding(3, output_mode="binary").output_mode == "multi_hot"
    layer = CategoryEncoding(7, output_mode="count", name="c")
    clone = CategoryEncoding.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert not layer.supports_masking
