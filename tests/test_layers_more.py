"""RMSNormalization, SpectralNormalization, AlphaDropout, EinsumDense, the 3-D reshaping layers
and adaptive pooling against real Keras 3 (same weights, random inputs), torch.nn.functional
(adaptive pooling, values and gradients), NumPy (SVD, closed forms) and one short fit that must
end with Keras's weights."""

import functools
import os

import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.layers.adaptive_pooling import (
    AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D, AdaptiveMaxPooling2D, AdaptiveMaxPooling3D,
)
from nhanh.layers.alpha_dropout import ALPHA_PRIME, AlphaDropout
from nhanh.layers.cropping_padding import Cropping3D, ZeroPadding3D
from nhanh.layers.einsum_dense import EinsumDense
from nhanh.layers.rms_normalization import RMSNormalization
from nhanh.layers.spectral_normalization import SpectralNormalization
from nhanh.layers.up_sampling import UpSampling3D
from conftest import to_numpy

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)


def _x(*shape):
    return RNG.normal(size=shape).astype("float32")


def _plain(value):
    """Config values compared across libraries: tuples and lists alike."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class KerasCase:
    """A real Keras layer built on an input, given random weights; its output (also with
    training=True when asked, and the weights after that call) and config. Computed once per
    session by `keras_case`: the Keras side does not depend on nhanh's engine."""

    def __init__(self, theirs, x, seed: int, training: bool = False):
        theirs.build(x.shape)
        rng = np.random.default_rng(seed + 1)
        for w in theirs.weights:
            w.assign(rng.normal(size=tuple(w.shape)).astype("float32"))
        self.x = x
        self.weights = [keras.ops.convert_to_numpy(w) for w in theirs.weights]
        self.output = keras.ops.convert_to_numpy(theirs(x))
        if training:
            self.train_output = keras.ops.convert_to_numpy(theirs(x, training=True))
            self.train_weights = [keras.ops.convert_to_numpy(w) for w in theirs.weights]
        self.config = theirs.get_config()


@functools.lru_cache(maxsize=None)
def keras_case(name: str, shape: tuple, args: tuple = (), kwargs: tuple = (), seed: int = 0,
               training: bool = False, ints: int = 0):
    """keras.layers.<name>(*args, **kwargs) on a normal(shape) input drawn from `seed` (or
    integers below `ints`). A layer among `args`, given as ("layer", name, args), is made too."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, ints, shape) if ints else rng.normal(size=shape).astype("float32")
    args = tuple(getattr(keras.layers, a[1])(*a[2]) if isinstance(a, tuple) and a[:1] == ("layer",)
                 else a for a in args)
    return KerasCase(getattr(keras.layers, name)(*args, **dict(kwargs)), x, seed, training)


def _with_weights(ours, case, **call):
    """`ours` built on the case's input and given the Keras layer's weights; its output."""
    ours(case.x)
    assert [w.shape for w in ours.weights] == [w.shape for w in case.weights]
    ours.set_weights(case.weights)
    return to_numpy(ours(case.x, **call))


def _same_config(ours, case, keys):
    for key in keys:
        assert _plain(ours.get_config()[key]) == _plain(case.config[key]), key


def _input_grad(layer, x, cotangent):
    """d sum(layer(x) * cotangent) / dx on the current engine."""
    b = nhanh.backend.get()

    def loss(params):
        return ops.sum(layer(params[0]) * ops.convert_to_tensor(cotangent)), None

    _, (grad,) = b.value_and_grad(loss, has_aux=True)([ops.convert_to_tensor(x)])
    return to_numpy(grad)


# --- RMSNormalization ----------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, (-1, -2)])
def test_rms_normalization_matches_keras_with_its_weights(axis):
    case = keras_case("RMSNormalization", (3, 4, 5), kwargs=(("axis", axis), ("epsilon", 1e-3)))
    ours = RMSNormalization(axis=axis, epsilon=1e-3)
    y = _with_weights(ours, case)
    np.testing.assert_allclose(y, case.output, rtol=1e-5, atol=1e-6)
    _same_config(ours, case, ["axis", "epsilon"])
    assert [w.name.split("/")[-1] for w in ours.weights] == ["scale"]
    clone = RMSNormalization.from_config(ours.get_config())
    x = case.x
    clone(x)
    clone.set_weights(ours.get_weights())
    np.testing.assert_allclose(to_numpy(clone(x)), y, rtol=1e-6)


def test_rms_normalization_on_a_middle_axis_scales_along_that_axis():
    x = _x(2, 3, 4)
    layer = RMSNormalization(axis=1)
    layer(x)
    scale = _x(3)
    layer.set_weights([scale])
    rms = np.sqrt(np.mean(x.astype("float64") ** 2, axis=1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(to_numpy(layer(x)), x / rms * scale[None, :, None], rtol=1e-5)
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        RMSNormalization(axis=3)(x)


# --- SpectralNormalization -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["dense", "conv", "embedding"])
def test_spectral_normalization_training_call_matches_keras(kind):
    inner, args, shape, ints = {"dense": ("Dense", (5,), (4, 6), 0),
                                "conv": ("Conv2D", (4, 3), (2, 5, 5, 3), 0),
                                "embedding": ("Embedding", (7, 3), (3, 4), 7)}[kind]
    case = keras_case("SpectralNormalization", shape, (("layer", inner, args),),
                      (("power_iterations", 2),), training=True, ints=ints)
    ours = SpectralNormalization(getattr(nhanh.layers, inner)(*args), power_iterations=2)
    y = _with_weights(ours, case)  # inference: the kernel as stored
    np.testing.assert_allclose(y, case.output, rtol=1e-5, atol=1e-5)
    assert [w.name.split("/")[-1] for w in ours.weights][:2] == [
        "embeddings" if kind == "embedding" else "kernel", "vector_u"]
    np.testing.assert_allclose(to_numpy(ours(case.x, training=True)), case.train_output,
                               rtol=1e-4, atol=1e-5)
    for w, v in zip(ours.get_weights(), case.train_weights):  # kernel and vector_u updated
        np.testing.assert_allclose(w, v, rtol=1e-4, atol=1e-6)


def test_spectral_normalization_reaches_unit_spectral_norm_by_svd():
    ours = SpectralNormalization(nhanh.layers.Dense(6), power_iterations=30)
    x = _x(2, 8)
    ours(x)
    kernel = ours.get_weights()[0].astype("float64")
    ours(x, training=True)
    normalized = ours.get_weights()[0]
    sigma = np.linalg.svd(kernel, compute_uv=False)[0]
    np.testing.assert_allclose(normalized, kernel / sigma, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.linalg.svd(normalized, compute_uv=False)[0], 1.0, rtol=1e-4)
    assert [w.name.split("/")[-1] for w in ours.non_trainable_weights] == ["vector_u"]
    assert [w.name.split("/")[-1] for w in ours.trainable_weights] == ["kernel", "bias"]


def test_spectral_normalization_config_and_errors():
    layer = SpectralNormalization(nhanh.layers.Dense(3, name="inner"), power_iterations=3)
    clone = SpectralNormalization.from_config(layer.get_config())
    assert clone.power_iterations == 3 and clone.layer.units == 3
    assert clone.layer.name == "inner"
    with pytest.raises(ValueError, match="power_iterations"):
        SpectralNormalization(nhanh.layers.Dense(3), power_iterations=0)
    with pytest.raises(ValueError, match="neither a `kernel` nor an `embeddings`"):
        SpectralNormalization(nhanh.layers.Dropout(0.5))(_x(2, 3))
    with pytest.raises(ValueError, match="layer instance"):
        SpectralNormalization("dense")
    zero = SpectralNormalization(nhanh.layers.Dense(2, kernel_initializer="zeros"))
    assert np.all(np.isfinite(to_numpy(zero(_x(2, 3), training=True))))
    assert np.all(zero.get_weights()[0] == 0)


# --- a short fit through all three trainable layers ---------------------------------------------
def _fit_model(L, weights=None):
    model = L.Sequential([
        L.Input((6,)),
        L.layers.SpectralNormalization(L.layers.Dense(4, activation="tanh")),
        L.layers.RMSNormalization(),
        L.layers.EinsumDense("ab,bc->ac", 1, bias_axes="c"),
    ])
    if weights is not None:
        model.set_weights(weights)
    model.compile(optimizer=L.optimizers.SGD(0.1), loss="mse")
    return model


@functools.lru_cache(maxsize=None)
def _keras_fit():
    data = np.random.default_rng(5)
    x = data.normal(size=(24, 6)).astype("float32")
    y = (x[:, :1] - 0.5 * x[:, 1:2]).astype("float32")
    model = _fit_model(keras)
    start = [data.normal(size=w.shape).astype("float32") * 0.5 for w in model.get_weights()]
    model.set_weights(start)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return x, y, start, model.get_weights(), history.history["loss"]


def test_fit_einsum_dense_rms_and_spectral_normalization_ends_with_keras_weights():
    x, y, start, keras_weights, keras_loss = _keras_fit()
    model = _fit_model(nhanh, start)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], keras_loss, rtol=1e-4)
    for ours, theirs in zip(model.get_weights(), keras_weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    assert not np.allclose(keras_weights[0], start[0])  # training moved the weights


# --- AlphaDropout --------------------------------------------------------------------------------
def test_alpha_dropout_keeps_selu_mean_and_variance_and_uses_two_values_per_input():
    rate = 0.3
    x = _x(400, 500)
    layer = AlphaDropout(rate, seed=1)
    np.testing.assert_array_equal(to_numpy(layer(x)), x)  # identity unless training
    y = to_numpy(layer(x, training=True))
    a = ((1 - rate) * (1 + rate * ALPHA_PRIME ** 2)) ** -0.5
    b = -a * ALPHA_PRIME * rate
    kept = np.isclose(y, a * x + b, atol=1e-5)
    dropped = np.isclose(y, a * ALPHA_PRIME + b, atol=1e-5)
    assert np.all(kept | dropped)
    assert abs(dropped.mean() - rate) < 0.005
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01
    again = AlphaDropout(rate, seed=1)
    np.testing.assert_array_equal(to_numpy(again(x, training=True)), y)


def test_alpha_dropout_noise_shape_config_and_masks():
    x = _x(4, 6, 5)
    y = to_numpy(AlphaDropout(0.5, noise_shape=(None, 1, 5), seed=2)(x, training=True))
    a = (0.5 * (1 + 0.5 * ALPHA_PRIME ** 2)) ** -0.5
    dropped = np.isclose(y, a * ALPHA_PRIME - a * ALPHA_PRIME * 0.5, atol=1e-5)
    assert dropped.any() and not dropped.all()
    assert np.all(dropped == dropped[:, :1, :])  # one draw per (sample, feature), every step
    case = keras_case("AlphaDropout", (4, 6, 5), (0.25,), (("noise_shape", (None, 1, 5)),
                                                          ("seed", 3)))
    ours = AlphaDropout(0.25, noise_shape=(None, 1, 5), seed=3)
    _same_config(ours, case, ["rate", "seed", "noise_shape"])
    assert AlphaDropout.from_config(ours.get_config()).noise_shape == (None, 1, 5)
    mask = np.ones((4, 6), bool)
    assert ours.compute_mask(x, mask) is mask
    np.testing.assert_array_equal(to_numpy(AlphaDropout(1.0)(x, training=True)), 0 * x)
    with pytest.raises(ValueError, match="rate"):
        AlphaDropout(1.5)
    with pytest.raises(ValueError, match="noise_shape"):
        AlphaDropout(0.1, noise_shape=(None, 0))


# --- EinsumDense ---------------------------------------------------------------------------------
EINSUM_CASES = [
    ("ab,bc->ac", (3,), None, (4, 5)),
    ("abc,cd->abd", (None, 3), "d", (2, 4, 5)),
    ("abc,cde->abde", (4, 2, 3), "de", (2, 4, 5)),
    ("abc,cde->abde", (4, 2, 3), "d", (2, 4, 5)),  # bias (2, 1): sized on d, 1 on e
    ("...b,bc->...c", (3,), "c", (2, 3, 4, 5)),
    ("ab...,bc->ac...", (3,), "c", (2, 5, 4, 2)),
    ("abcd,cde->abe", (2, 3), "be", (2, 2, 4, 5)),
]


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", EINSUM_CASES)
def test_einsum_dense_matches_keras_shapes_and_outputs(equation, output_shape, bias_axes, shape):
    case = keras_case("EinsumDense", shape, (equation, output_shape),
                      (("bias_axes", bias_axes), ("activation", "relu")))
    ours = EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="relu")
    y = _with_weights(ours, case)
    np.testing.assert_allclose(y, case.output, rtol=1e-5, atol=1e-5)
    assert ours.compute_output_shape((None, *shape[1:]))[1:] == case.output.shape[1:]
    _same_config(ours, case, ["equation", "output_shape", "bias_axes", "activation"])
    x = case.x
    clone = EinsumDense.from_config(ours.get_config())
    clone(x)
    clone.set_weights(ours.get_weights())
    np.testing.assert_allclose(to_numpy(clone(x)), y, rtol=1e-6)


@functools.lru_cache(maxsize=None)
def _keras_einsum_kernel():
    theirs = keras.layers.EinsumDense("ab,bcd->acd", (8, 16))
    theirs.build((None, 64))
    return keras.ops.convert_to_numpy(theirs.kernel)


def test_einsum_dense_glorot_counts_fans_over_the_equation_axes():
    # kernel (64, 8, 16): fan_in 64 (the input letter b), fan_out 8 * 16 = 128 (c and d).
    ours = EinsumDense("ab,bcd->acd", (8, 16), kernel_initializer="glorot_uniform")
    ours.build((None, 64))
    limit = np.sqrt(6 / (64 + 128))
    for kernel in (ours.get_weights()[0], _keras_einsum_kernel()):
        assert kernel.shape == (64, 8, 16)
        assert 0.97 * limit < np.abs(kernel).max() <= limit
        assert abs(kernel.std() - limit / np.sqrt(3)) < 0.02 * limit


def test_einsum_dense_bad_equations_say_what_is_wrong():
    with pytest.raises(ValueError, match="must look like"):
        EinsumDense("ab,bc,cd->ad", 3).build((None, 2))
    with pytest.raises(ValueError, match="not output letters"):
        EinsumDense("ab,bc->ac", 3, bias_axes="b").build((None, 2))
    with pytest.raises(ValueError, match="neither the input nor the output"):
        EinsumDense("ab,bz->ab", 2).build((None, 2))
    with pytest.raises(ValueError, match="input has size 5 there"):
        EinsumDense("abc,cd->abd", (4, 3)).build((None, 5, 2))
    with pytest.raises(NotImplementedError, match="lora_rank"):
        EinsumDense("ab,bc->ac", 3, lora_rank=2)


# --- Cropping3D, ZeroPadding3D, UpSampling3D -----------------------------------------------------
THREE_D = [
    (Cropping3D, "Cropping3D", dict(cropping=((1, 0), (0, 2), (1, 1)))),
    (Cropping3D, "Cropping3D", dict(cropping=(1, 2, 0))),
    (ZeroPadding3D, "ZeroPadding3D", dict(padding=((1, 0), (0, 2), (2, 1)))),
    (ZeroPadding3D, "ZeroPadding3D", dict(padding=1)),
    (UpSampling3D, "UpSampling3D", dict(size=(2, 1, 3))),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("cls,name,kw", THREE_D)
def test_3d_reshaping_matches_keras(cls, name, kw, data_format):
    case = keras_case(name, (2, 4, 5, 6, 3), kwargs=(("data_format", data_format), *kw.items()))
    x, expected = case.x, case.output
    ours = cls(data_format=data_format, **kw)
    np.testing.assert_array_equal(to_numpy(ours(x)), expected)
    assert ours.compute_output_shape((None, *x.shape[1:])) == (None, *expected.shape[1:])
    _same_config(ours, case, [*kw, "data_format"])
    np.testing.assert_array_equal(to_numpy(cls.from_config(ours.get_config())(x)), expected)


def test_3d_reshaping_errors():
    with pytest.raises(ValueError, match="removes everything"):
        Cropping3D(cropping=(2, 0, 0))(_x(1, 4, 3, 3, 1))
    with pytest.raises(ValueError, match="tuple of 3"):
        ZeroPadding3D(padding=(1, 1))
    with pytest.raises(ValueError, match="size"):
        UpSampling3D(size=(2, 0, 1))
    with pytest.raises(ValueError, match="rank 5"):
        UpSampling3D()(_x(2, 3, 3, 1))


# --- adaptive pooling ----------------------------------------------------------------------------
POOLS = {
    (1, "avg"): (AdaptiveAveragePooling1D, "AdaptiveAveragePooling1D"),
    (1, "max"): (AdaptiveMaxPooling1D, "AdaptiveMaxPooling1D"),
    (2, "avg"): (AdaptiveAveragePooling2D, "AdaptiveAveragePooling2D"),
    (2, "max"): (AdaptiveMaxPooling2D, "AdaptiveMaxPooling2D"),
    (3, "avg"): (AdaptiveAveragePooling3D, "AdaptiveAveragePooling3D"),
    (3, "max"): (AdaptiveMaxPooling3D, "AdaptiveMaxPooling3D"),
}
SPATIAL = {1: (7,), 2: (7, 5), 3: (5, 4, 7)}
OUT = {1: 3, 2: (3, 4), 3: (2, 3, 5)}  # shrinking, and growing (4 > 5 is not; 5 > 4 is)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank,mode", list(POOLS))
def test_adaptive_pooling_matches_keras(rank, mode, data_format):
    cls, name = POOLS[rank, mode]
    spatial = SPATIAL[rank]
    shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
    case = keras_case(name, shape, (OUT[rank],), (("data_format", data_format),))
    ours = cls(OUT[rank], data_format=data_format)
    np.testing.assert_allclose(to_numpy(ours(case.x)), case.output, rtol=1e-5, atol=1e-6)
    assert ours.compute_output_shape(case.x.shape) == case.output.shape
    _same_config(ours, case, ["output_size", "data_format"])
    assert cls.from_config(ours.get_config()).output_size == ours.output_size


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("size,out", [((9, 7), (4, 3)), ((3, 5), (5, 7)), ((6, 6), (3, 2))])
def test_adaptive_pooling_2d_matches_torch_values_and_gradients(mode, size, out):
    x = _x(2, 3, *size)
    cotangent = _x(2, 3, *out)
    fn = (torch.nn.functional.adaptive_avg_pool2d if mode == "avg"
          else torch.nn.functional.adaptive_max_pool2d)
    tx = torch.tensor(x, requires_grad=True)
    ty = fn(tx, out)
    (ty * torch.tensor(cotangent)).sum().backward()
    layer = POOLS[2, mode][0](out, data_format="channels_first")
    np.testing.assert_allclose(to_numpy(layer(x)), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_input_grad(layer, x, cotangent), tx.grad.numpy(),
                               rtol=1e-5, atol=1e-6)


def test_adaptive_pooling_arguments():
    with pytest.raises(ValueError, match="output_size"):
        AdaptiveAveragePooling2D((2, 2, 2))
    with pytest.raises(ValueError, match="output_size"):
        AdaptiveMaxPooling1D(0)
    with pytest.raises(ValueError, match="data_format"):
        AdaptiveMaxPooling3D(2, data_format="channels_middle")
    assert AdaptiveAveragePooling3D(2).output_size == (2, 2, 2)
    assert AdaptiveMaxPooling1D([4]).get_config()["output_size"] == (4,)
