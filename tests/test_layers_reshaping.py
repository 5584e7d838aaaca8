"""Reshaping layers (Permute, RepeatVector, Cropping, ZeroPadding, UpSampling) against NumPy:
forward, gradients (numerical, on the NumPy reference), shapes, configs and bad inputs."""

import numpy as np
import pytest
import torch

import nhanh
from nhanh import ops
from nhanh.layers.reshaping import (
    Cropping1D, Cropping2D, Permute, RepeatVector, UpSampling1D, UpSampling2D, ZeroPadding1D,
    ZeroPadding2D,
)
from conftest import to_numpy


def numeric_grad(f, x, cotangent, eps=1e-4):
    """d sum(f(x) * cotangent) / dx by central differences, in float64."""
    x = x.astype("float64")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = np.sum((f(up) - f(down)) * cotangent) / (2 * eps)
    return grad


def forward_and_grad(layer, x, cotangent, **call_kwargs):
    """layer(x) and d sum(layer(x) * cotangent) / dx, in one compiled step (jit on JAX)."""
    b = nhanh.backend.get()

    def loss(params):
        y = layer(params[0], **call_kwargs)
        return ops.sum(y * ops.convert_to_tensor(cotangent)), y

    step = b.compile_step(lambda state, x: b.value_and_grad(loss, has_aux=True)([x]))
    (_, y), (grad,) = step([], ops.convert_to_tensor(x))
    return to_numpy(y), to_numpy(grad)


def check_layer(layer, x, reference, rng, **call_kwargs):
    """Forward and input gradient of `layer` match the NumPy `reference`; shapes agree."""
    expected = reference(x.astype("float64"))
    assert layer.compute_output_shape(x.shape) == expected.shape
    cotangent = rng.normal(size=expected.shape).astype("float32")
    y, grad = forward_and_grad(layer, x, cotangent, **call_kwargs)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad, numeric_grad(reference, x, cotangent), rtol=1e-4, atol=1e-4)


def test_permute(np_rng):
    x = np_rng.normal(size=(2, 3, 4, 5)).astype("float32")
    check_layer(Permute((3, 1, 2)), x, lambda a: np.transpose(a, (0, 3, 1, 2)), np_rng)
    check_layer(Permute((2, 1, 3)), x, lambda a: np.transpose(a, (0, 2, 1, 3)), np_rng)


def test_repeat_vector(np_rng):
    x = np_rng.normal(size=(2, 3)).astype("float32")
    check_layer(RepeatVector(4), x, lambda a: np.repeat(a[:, None, :], 4, axis=1), np_rng)


@pytest.mark.parametrize("cropping,crop", [(1, (1, 1)), ((0, 2), (0, 2)), ((2, 1), (2, 1))])
def test_cropping1d(np_rng, cropping, crop):
    x = np_rng.normal(size=(2, 6, 3)).astype("float32")
    check_layer(Cropping1D(cropping), x, lambda a: a[:, crop[0]:6 - crop[1]], np_rng)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("cropping,rows,cols", [(1, (1, 1), (1, 1)), ((1, 0), (1, 1), (0, 0)),
                                                (((0, 2), (1, 0)), (0, 2), (1, 0))])
def test_cropping2d(np_rng, data_format, cropping, rows, cols):
    x = np_rng.normal(size=(2, 5, 4, 3)).astype("float32")
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))

        def ref(a):
            return a[:, :, rows[0]:a.shape[2] - rows[1], cols[0]:a.shape[3] - cols[1]]
    else:
        def ref(a):
            return a[:, rows[0]:a.shape[1] - rows[1], cols[0]:a.shape[2] - cols[1]]
    check_layer(Cropping2D(cropping, data_format=data_format), x, ref, np_rng)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_zero_padding1d(np_rng, data_format):
    x = np_rng.normal(size=(2, 3, 4)).astype("float32")
    widths = (((0, 0), (2, 1), (0, 0)) if data_format == "channels_last"
              else ((0, 0), (0, 0), (2, 1)))
    check_layer(ZeroPadding1D((2, 1), data_format=data_format), x, lambda a: np.pad(a, widths),
                np_rng)
    check_layer(ZeroPadding1D(data_format=data_format), x, lambda a: np.pad(
        a, [(1, 1) if w != (0, 0) else w for w in widths]), np_rng)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding,rows,cols", [(1, (1, 1), (1, 1)), ((2, 0), (2, 2), (0, 0)),
                                               (((1, 2), (0, 3)), (1, 2), (0, 3))])
def test_zero_padding2d(np_rng, data_format, padding, rows, cols):
    x = np_rng.normal(size=(2, 3, 2, 2)).astype("float32")
    widths = (((0, 0), rows, cols, (0, 0)) if data_format == "channels_last"
              else ((0, 0), (0, 0), rows, cols))
    check_layer(ZeroPadding2D(padding, data_format=data_format), x,
                lambda a: np.pad(a, widths), np_rng)


def test_up_sampling1d(np_rng):
    x = np_rng.normal(size=(2, 3, 2)).astype("float32")
    check_layer(UpSampling1D(3), x, lambda a: np.repeat(a, 3, axis=1), np_rng)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_up_sampling2d_nearest(np_rng, data_format):
    x = np_rng.normal(size=(2, 3, 2, 2)).astype("float32")
    h, w = (1, 2) if data_format == "channels_last" else (2, 3)
    check_layer(UpSampling2D((2, 3), data_format=data_format), x,
                lambda a: np.repeat(np.repeat(a, 2, axis=h), 3, axis=w), np_rng)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_up_sampling2d_bilinear_matches_torch_interpolate(np_rng, data_format):
    """Bilinear with half-pixel centres, as torch's align_corners=False (and jax.image)."""
    x = np_rng.normal(size=(2, 3, 4, 2)).astype("float32")
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))

    def ref(a):
        t = torch.from_numpy(a if data_format == "channels_first" else np.moveaxis(a, -1, 1))
        out = torch.nn.functional.interpolate(t, scale_factor=(2, 3), mode="bilinear",
                                              align_corners=False).numpy()
        return out if data_format == "channels_first" else np.moveaxis(out, 1, -1)

    check_layer(UpSampling2D((2, 3), data_format=data_format, interpolation="bilinear"), x, ref,
                np_rng)


@pytest.mark.parametrize("layer", [
    Permute((2, 1)), RepeatVector(3), Cropping1D((1, 2)),
    Cropping2D(((1, 0), (2, 1)), data_format="channels_first"), ZeroPadding1D(2),
    ZeroPadding2D(((1, 0), (0, 2))), UpSampling1D(4), UpSampling2D(3, interpolation="bilinear"),
], ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert {k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")}


def test_config_values_are_keras_shaped():
    assert Cropping2D(2).get_config()["cropping"] == ((2, 2), (2, 2))
    assert ZeroPadding2D((1, 2)).get_config()["padding"] == ((1, 1), (2, 2))
    assert ZeroPadding1D(3).get_config()["padding"] == (3, 3)
    assert Cropping1D().get_config()["cropping"] == (1, 1)
    assert UpSampling2D().get_config()["size"] == (2, 2)
    assert Permute([2, 1]).get_config()["dims"] == (2, 1)


def test_unknown_sizes_stay_unknown():
    assert Cropping1D(1).compute_output_shape((None, None, 3)) == (None, None, 3)
    assert ZeroPadding2D(1).compute_output_shape((None, None, 5, 3)) == (None, None, 7, 3)
    assert UpSampling1D(2).compute_output_shape((4, None, 3)) == (4, None, 3)
    assert RepeatVector(2).compute_output_shape((None, 3)) == (None, 2, 3)


@pytest.mark.parametrize("make,shape", [
    (lambda: Permute((2, 1)), (2, 3, 4, 5)), (lambda: RepeatVector(2), (2, 3, 4)),
    (lambda: Cropping1D(), (2, 5)), (lambda: Cropping2D(), (2, 5, 5)),
    (lambda: ZeroPadding1D(), (2, 5, 5, 1)), (lambda: ZeroPadding2D(), (2, 5)),
    (lambda: UpSampling1D(), (2, 5)), (lambda: UpSampling2D(), (2, 5, 5)),
])
def test_wrong_rank_names_layer_expected_and_received(make, shape):
    layer = make()
    with pytest.raises(ValueError, match=rf"{layer.name}.*rank \d.*{shape}".replace("(", r"\(")
                       .replace(")", r"\)")):
        layer(np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match="rank"):
        make().compute_output_shape(shape)


def test_cropping_everything_away_is_an_error():
    with pytest.raises(ValueError, match=r"cropping.*\(2, 3, 4\)"):
        Cropping1D((2, 1))(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"cropping.*\(1, 4, 6, 1\)"):
        Cropping2D(((0, 0), (3, 3)))(np.zeros((1, 4, 6, 1), "float32"))


@pytest.mark.parametrize("make,message", [
    (lambda: Permute((1, 3)), "permutation"), (lambda: Permute((0, 1)), "permutation"),
    (lambda: RepeatVector(0), "positive"), (lambda: UpSampling1D(0), "positive"),
    (lambda: UpSampling2D((2, 0)), "size"), (lambda: Cropping1D(-1), "cropping"),
    (lambda: Cropping2D((1, 2, 3)), "cropping"), (lambda: ZeroPadding2D("a"), "padding"),
    (lambda: ZeroPadding1D((1, 2, 3)), "padding"),
    (lambda: UpSampling2D(interpolation="bicubic"), "interpolation"),
    (lambda: ZeroPadding2D(data_format="nhwc"), "data_format"),
])
def test_bad_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_default_data_format_follows_config():
    nhanh.config.set_image_data_format("channels_first")
    try:
        layer = ZeroPadding2D(1)
    finally:
        nhanh.config.set_image_data_format("channels_last")
    assert layer.data_format == "channels_first"
    assert layer.compute_output_shape((1, 3, 4, 5)) == (1, 3, 6, 7)


def test_layers_run_inside_a_compiled_step(np_rng):
    layers_ = [Permute((2, 1)), UpSampling1D(2), ZeroPadding1D(1), Cropping1D(1)]
    x = np_rng.normal(size=(2, 3, 4)).astype("float32")

    def step(state, a):
        for layer in layers_:
            a = layer(a)
        return a

    out = to_numpy(nhanh.backend.get().compile_step(step)([], ops.convert_to_tensor(x)))
    expected = np.pad(np.repeat(np.transpose(x, (0, 2, 1)), 2, axis=1), ((0, 0), (1, 1), (0, 0)))
    np.testing.assert_allclose(out, expected[:, 1:-1], rtol=1e-6)
