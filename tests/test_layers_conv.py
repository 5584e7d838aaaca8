"""Convolution layers (Conv, ConvTranspose, DepthwiseConv, SeparableConv) against
torch.nn.functional with the same weights, forward and gradients, on every backend.

Weights are set in Keras's layout with set_weights and transposed to torch's layout here.
'same' padding follows TensorFlow (odd pixel after); a transposed convolution is checked as
the adjoint (vector-Jacobian product) of the matching forward convolution, which is how
TensorFlow and Keras define it.
"""

import math

import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.layers import convolutional as conv_layers
from nhanh.layers.conv import Conv1D, Conv2D, Conv3D
from nhanh.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from nhanh.layers.depthwise_separable import (DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D,
                                              SeparableConv2D)
from nhanh.variables import StatelessScope
from conftest import to_numpy

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = dict(rtol=1e-4, atol=1e-4)
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


# --- references (torch) ---------------------------------------------------------------------
def _tf_pads(sizes, kernel, strides, dilation, padding):
    """TensorFlow's padding per spatial axis, as F.pad's flat list (last axis first)."""
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        total = 0 if padding == "valid" else max(
            (math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return [p for pair in reversed(pads) for p in pair]


def _tup(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


def _channels_first(x, data_format):
    return x.movedim(-1, 1) if data_format == "channels_last" else x


def _back(y, data_format):
    return y.movedim(1, -1) if data_format == "channels_last" else y


def torch_conv(x, kernel, strides=1, padding="valid", dilation_rate=1, data_format="channels_last",
               groups=1):
    """Keras conv semantics with F.convNd: kernel (*k, in/groups, out) -> (out, in/groups, *k)."""
    rank = x.ndim - 2
    strides, dilation = _tup(strides, rank), _tup(dilation_rate, rank)
    xc = _channels_first(x, data_format)
    if padding == "causal":
        xc = F.pad(xc, [dilation[0] * (kernel.shape[0] - 1), 0])
        padding = "valid"
    xc = F.pad(xc, _tf_pads(xc.shape[2:], kernel.shape[:-2], strides, dilation, padding))
    weight = kernel.permute(rank + 1, rank, *range(rank))
    y = _CONV[rank](xc, weight, stride=strides, dilation=dilation, groups=groups)
    return _back(y, data_format)


def torch_conv_transpose(y, kernel, out_shape, strides=1, padding="valid", dilation_rate=1,
                         data_format="channels_last"):
    """The adjoint of torch_conv w.r.t. its input, at cotangent y: kernel (*k, out, in) is the
    forward conv's (*k, in=out, out=in) kernel. Differentiable in y and kernel."""
    x0 = torch.zeros(out_shape, dtype=y.dtype, requires_grad=True)
    forward = torch_conv(x0, kernel, strides, padding, dilation_rate, data_format)
    assert forward.shape == y.shape, (forward.shape, y.shape)
    (grad,) = torch.autograd.grad(forward, x0, grad_outputs=y, create_graph=True)
    return grad


def torch_depthwise(x, kernel, data_format="channels_last", **kw):
    """(*k, C, M) -> grouped conv with C groups, output channel c*M + m."""
    channels, mult = kernel.shape[-2], kernel.shape[-1]
    grouped = kernel.reshape(*kernel.shape[:-2], 1, channels * mult)
    return torch_conv(x, grouped, data_format=data_format, groups=channels, **kw)


def _bias(y, bias, data_format):
    rank = y.ndim - 2
    return y + (bias if data_format == "channels_last" else bias.reshape(-1, *(1,) * rank))


# --- our side ------------------------------------------------------------------------------
def _grads(layer, x, r):
    """Outputs and d/d(x, weights) of sum(layer(x) * r), weights mapped by a StatelessScope as
    the training step maps them."""
    weights = layer.trainable_weights

    def loss(params):
        with StatelessScope(dict(zip(weights, params[1:]))):
            y = layer(params[0])
        return ops.sum(y * ops.convert_to_tensor(r)), y

    backend = nhanh.backend.get()
    fn = backend.value_and_grad(loss, has_aux=True)
    if backend.NAME == "jax":  # one compiled program instead of op-by-op dispatch: faster
        import jax
        fn = jax.jit(fn)
    (_, y), grads = fn([ops.convert_to_tensor(x), *[w.value for w in weights]])
    return to_numpy(y), [to_numpy(g) for g in grads]


def _torch_grads(fn, x, r, *params):
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, *params)]
    y = fn(*tensors)
    (y * torch.tensor(r)).sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in tensors]


def _random_weights(layer, rng):
    weights = [rng.normal(size=w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(weights)
    return weights


def _check_against(layer, x, ref_fn, rng):
    """Forward, input and weight gradients against ref_fn(x, *weights); output shape against
    compute_output_shape. Returns our output."""
    layer.build(x.shape)
    weights = _random_weights(layer, rng)
    expected_shape = layer.compute_output_shape(x.shape)
    r = rng.normal(size=expected_shape).astype("float32")
    y, grads = _grads(layer, x, r)
    y_ref, grads_ref = _torch_grads(ref_fn, x, r, *weights)
    assert y.shape == tuple(expected_shape) == y_ref.shape
    np.testing.assert_allclose(y, y_ref, **TOL)
    assert len(grads) == len(grads_ref) == 1 + len(weights)
    for g, h in zip(grads, grads_ref):
        np.testing.assert_allclose(g, h, rtol=1e-3, atol=1e-3)
    return y


# --- Conv1D / 2D / 3D ------------------------------------------------------------------------
CONV_CASES = [
    (Conv1D, (2, 9, 3), dict(filters=4, kernel_size=3)),
    (Conv1D, (2, 9, 3), dict(filters=2, kernel_size=4, strides=2, padding="same")),
    (Conv1D, (2, 8, 3), dict(filters=2, kernel_size=3, dilation_rate=2, padding="same")),
    (Conv1D, (2, 8, 3), dict(filters=2, kernel_size=3, dilation_rate=2, padding="causal")),
    (Conv1D, (2, 3, 8), dict(filters=2, kernel_size=2, strides=3, padding="same",
                             data_format="channels_first")),
    (Conv2D, (2, 7, 6, 4), dict(filters=3, kernel_size=(3, 2), strides=(2, 1), padding="same")),
    (Conv2D, (2, 6, 6, 4), dict(filters=6, kernel_size=3, groups=2)),
    (Conv2D, (2, 4, 6, 5), dict(filters=4, kernel_size=(2, 3), groups=4, strides=2,
                                padding="same", data_format="channels_first")),
    (Conv2D, (1, 7, 8, 2), dict(filters=3, kernel_size=3, dilation_rate=(2, 1), padding="same",
                                activation="tanh")),
    (Conv2D, (2, 5, 5, 2), dict(filters=3, kernel_size=2, use_bias=False)),
    (Conv3D, (1, 4, 5, 3, 2), dict(filters=2, kernel_size=2, strides=2, padding="same")),
    (Conv3D, (1, 2, 4, 3, 5), dict(filters=3, kernel_size=(2, 2, 3), data_format="channels_first")),
]


@pytest.mark.parametrize("cls,shape,kw", CONV_CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CONV_CASES)])
def test_conv_matches_torch_forward_and_gradients(cls, shape, kw, np_rng):
    layer = cls(**kw)
    fmt = layer.data_format
    act = torch.tanh if kw.get("activation") == "tanh" else (lambda t: t)
    conv_kw = dict(strides=kw.get("strides", 1), padding=kw.get("padding", "valid"),
                   dilation_rate=kw.get("dilation_rate", 1), data_format=fmt,
                   groups=kw.get("groups", 1))

    def ref(x, kernel, bias=None):
        y = torch_conv(x, kernel, **conv_kw)
        return act(y if bias is None else _bias(y, bias, fmt))

    x = np_rng.normal(size=shape).astype("float32")
    _check_against(layer, x, ref, np_rng)


def test_same_padding_puts_the_odd_pixel_after_as_tensorflow():
    # n=4, k=4, stride 1: total padding 3 -> 1 before, 2 after: [0 1 2 3] [1 2 3 4] [2 3 4 0] ...
    layer = Conv1D(1, 4, padding="same", use_bias=False, kernel_initializer="ones")
    y = to_numpy(layer(np.arange(1, 5, dtype="float32").reshape(1, 4, 1)))
    np.testing.assert_allclose(y.ravel(), [6, 10, 9, 7])
    # n=5, k=2, stride 2: 3 outputs, total padding 1, all after: [1 2] [3 4] [5 0]
    layer = Conv1D(1, 2, strides=2, padding="same", use_bias=False, kernel_initializer="ones")
    y = to_numpy(layer(np.arange(1, 6, dtype="float32").reshape(1, 5, 1)))
    np.testing.assert_allclose(y.ravel(), [3, 7, 5])


def test_causal_conv1d_never_sees_the_future():
    layer = Conv1D(1, 3, padding="causal", use_bias=False, kernel_initializer="ones")
    x = np.zeros((1, 6, 1), "float32")
    x[0, 3] = 1.0
    y = to_numpy(layer(x)).ravel()
    np.testing.assert_allclose(y, [0, 0, 0, 1, 1, 1])


def test_conv_weights_follow_keras_names_shapes_and_order():
    layer = Conv2D(5, (3, 2), groups=1)
    layer.build((None, 8, 8, 4))
    assert [w.name.split("/")[-1] for w in layer.weights] == ["kernel", "bias"]
    assert [w.shape for w in layer.weights] == [(3, 2, 4, 5), (5,)]
    grouped = Conv1D(6, 3, groups=3, data_format="channels_first")
    grouped.build((None, 6, 10))
    assert grouped.kernel.shape == (3, 2, 6)
    assert grouped.count_params() == 3 * 2 * 6 + 6


# --- transposed convolutions -----------------------------------------------------------------
TRANSPOSE_CASES = [
    # (layer class, input shape, kwargs, expected spatial output)
    (Conv1DTranspose, (2, 4, 3), dict(filters=2, kernel_size=3, strides=2), (9,)),
    (Conv1DTranspose, (2, 4, 3), dict(filters=2, kernel_size=1, strides=3), (12,)),
    (Conv1DTranspose, (2, 5, 3), dict(filters=2, kernel_size=4, strides=2, padding="same"), (10,)),
    (Conv1DTranspose, (2, 4, 2), dict(filters=3, kernel_size=3, strides=3, padding="same",
                                      output_padding=2), (12,)),
    (Conv1DTranspose, (2, 5, 2), dict(filters=3, kernel_size=3, dilation_rate=2), (9,)),
    (Conv1DTranspose, (1, 4, 2), dict(filters=2, kernel_size=2, strides=2, padding="valid",
                                      output_padding=1), (9,)),
    (Conv2DTranspose, (2, 3, 4, 2), dict(filters=3, kernel_size=3, strides=2, padding="same",
                                         output_padding=1), (6, 8)),
    (Conv2DTranspose, (2, 3, 3, 2), dict(filters=2, kernel_size=(2, 3), strides=(2, 1),
                                         output_padding=(1, 0)), (7, 5)),
    (Conv2DTranspose, (2, 2, 3, 4), dict(filters=3, kernel_size=3, strides=2, padding="same",
                                         data_format="channels_first"), (6, 8)),
    (Conv2DTranspose, (1, 3, 3, 2), dict(filters=2, kernel_size=3, dilation_rate=2,
                                         padding="same", activation="relu"), (3, 3)),
    (Conv3DTranspose, (1, 2, 3, 2, 2), dict(filters=2, kernel_size=2, strides=2,
                                            padding="same"), (4, 6, 4)),
]


@pytest.mark.parametrize("cls,shape,kw,spatial", TRANSPOSE_CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, *_) in enumerate(TRANSPOSE_CASES)])
def test_conv_transpose_is_the_adjoint_of_conv(cls, shape, kw, spatial, np_rng):
    layer = cls(**kw)
    fmt = layer.data_format
    expected = (shape[0], *spatial, kw["filters"]) if fmt == "channels_last" else (
        shape[0], kw["filters"], *spatial)
    assert layer.compute_output_shape(shape) == expected
    act = torch.relu if kw.get("activation") == "relu" else (lambda t: t)

    def ref(x, kernel, bias):
        y = torch_conv_transpose(x, kernel, expected, strides=kw.get("strides", 1),
                                 padding=kw.get("padding", "valid"),
                                 dilation_rate=kw.get("dilation_rate", 1), data_format=fmt)
        return act(_bias(y, bias, fmt))

    x = np_rng.normal(size=shape).astype("float32")
    _check_against(layer, x, ref, np_rng)
    assert layer.kernel.shape == (*layer.kernel_size, kw["filters"], shape[-1 if fmt ==
                                                                           "channels_last" else 1])


def test_conv_transpose_valid_matches_torch_conv_transpose_directly(np_rng):
    # padding='valid' maps onto torch's own arguments: padding=0, output_padding=p.
    layer = Conv2DTranspose(3, (3, 2), strides=(2, 3), output_padding=(1, 2), use_bias=False)
    x = np_rng.normal(size=(2, 3, 4, 2)).astype("float32")
    layer.build(x.shape)
    (kernel,) = _random_weights(layer, np_rng)
    y = to_numpy(layer(x))
    ref = F.conv_transpose2d(torch.tensor(x).permute(0, 3, 1, 2),
                             torch.tensor(kernel).permute(3, 2, 0, 1), stride=(2, 3),
                             output_padding=(1, 2)).permute(0, 2, 3, 1).numpy()
    assert y.shape == ref.shape == (2, 8, 13, 3)
    np.testing.assert_allclose(y, ref, **TOL)


# --- depthwise and separable -----------------------------------------------------------------
DEPTHWISE_CASES = [
    (DepthwiseConv2D, (2, 6, 5, 3), dict(kernel_size=3, depth_multiplier=2, strides=2,
                                         padding="same")),
    (DepthwiseConv2D, (2, 3, 7, 6), dict(kernel_size=(3, 2), dilation_rate=2,
                                         data_format="channels_first")),
    (DepthwiseConv1D, (2, 8, 3), dict(kernel_size=4, depth_multiplier=3, padding="same")),
]


@pytest.mark.parametrize("cls,shape,kw", DEPTHWISE_CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(DEPTHWISE_CASES)])
def test_depthwise_conv_matches_torch_grouped_conv(cls, shape, kw, np_rng):
    layer = cls(**kw)
    fmt = layer.data_format
    conv_kw = dict(strides=kw.get("strides", 1), padding=kw.get("padding", "valid"),
                   dilation_rate=kw.get("dilation_rate", 1))

    def ref(x, kernel, bias):
        return _bias(torch_depthwise(x, kernel, data_format=fmt, **conv_kw), bias, fmt)

    x = np_rng.normal(size=shape).astype("float32")
    _check_against(layer, x, ref, np_rng)
    channels = shape[-1] if fmt == "channels_last" else shape[1]
    mult = kw.get("depth_multiplier", 1)
    assert [w.shape for w in layer.weights] == [(*layer.kernel_size, channels, mult),
                                                (channels * mult,)]
    assert layer.depthwise_kernel is layer.kernel


SEPARABLE_CASES = [
    (SeparableConv2D, (2, 6, 5, 3), dict(filters=4, kernel_size=3, depth_multiplier=2,
                                         padding="same")),
    (SeparableConv2D, (2, 7, 6, 2), dict(filters=3, kernel_size=(2, 3), strides=2)),
    (SeparableConv1D, (2, 3, 9), dict(filters=2, kernel_size=3, dilation_rate=2, padding="same",
                                      data_format="channels_first")),
]


@pytest.mark.parametrize("cls,shape,kw", SEPARABLE_CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(SEPARABLE_CASES)])
def test_separable_conv_is_depthwise_then_pointwise(cls, shape, kw, np_rng):
    layer = cls(**kw)
    fmt = layer.data_format
    conv_kw = dict(strides=kw.get("strides", 1), padding=kw.get("padding", "valid"),
                   dilation_rate=kw.get("dilation_rate", 1))

    def ref(x, depthwise, pointwise, bias):
        mid = torch_depthwise(x, depthwise, data_format=fmt, **conv_kw)
        return _bias(torch_conv(mid, pointwise, data_format=fmt), bias, fmt)

    x = np_rng.normal(size=shape).astype("float32")
    _check_against(layer, x, ref, np_rng)
    channels = shape[-1] if fmt == "channels_last" else shape[1]
    mult = kw.get("depth_multiplier", 1)
    rank = len(shape) - 2
    assert [w.name.split("/")[-1] for w in layer.weights] == ["depthwise_kernel",
                                                              "pointwise_kernel", "bias"]
    assert [w.shape for w in layer.weights] == [(*layer.kernel_size, channels, mult),
                                                (*(1,) * rank, channels * mult, kw["filters"]),
                                                (kw["filters"],)]


# --- shapes, configs, errors -----------------------------------------------------------------
ALL_LAYERS = ([(c, s, k) for c, s, k in CONV_CASES] + [(c, s, k) for c, s, k, _ in
                                                       TRANSPOSE_CASES]
              + DEPTHWISE_CASES + SEPARABLE_CASES)


@pytest.mark.parametrize("cls,shape,kw", ALL_LAYERS[::2],
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(ALL_LAYERS[::2])])
def test_compute_output_shape_with_unknown_batch_and_spatial_axes(cls, shape, kw):
    layer = cls(**kw)
    channels_last = layer.data_format == "channels_last"
    unknown = (None, *(None,) * (len(shape) - 2), shape[-1]) if channels_last else (
        None, shape[1], *(None,) * (len(shape) - 2))
    out = layer.compute_output_shape(unknown)
    real = layer.compute_output_shape(shape)
    assert len(out) == len(shape) and out[0] is None
    spatial = out[1:-1] if channels_last else out[2:]
    assert all(d is None for d in spatial)
    assert (out[-1] if channels_last else out[1]) == (real[-1] if channels_last else real[1])
    partly = (3, *shape[1:])
    assert layer.compute_output_shape(partly) == (3, *real[1:])


@pytest.mark.parametrize("cls,shape,kw", ALL_LAYERS[1::2],
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(ALL_LAYERS[1::2])])
def test_config_round_trip_gives_the_same_layer(cls, shape, kw, np_rng):
    layer = cls(**kw, name="original")
    config = layer.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    x = np_rng.normal(size=shape).astype("float32")
    y = to_numpy(layer(x))
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(clone(x)), y, rtol=1e-6, atol=1e-6)


def test_config_values_are_normalized_like_keras():
    layer = Conv2D(8, 3, padding="SAME", kernel_regularizer="l2")
    config = layer.get_config()
    assert config["kernel_size"] == (3, 3) and config["strides"] == (1, 1)
    assert config["dilation_rate"] == (1, 1) and config["padding"] == "same"
    assert config["data_format"] == "channels_last" and config["groups"] == 1
    assert config["kernel_regularizer"] is not None and config["bias_regularizer"] is None
    assert Conv2DTranspose(2, 3).get_config()["output_padding"] is None


def test_data_format_none_follows_the_configured_image_data_format():
    nhanh.config.set_image_data_format("channels_first")
    try:
        layer = Conv2D(4, 3)
        assert layer.data_format == "channels_first"
        y = layer(np.zeros((1, 2, 5, 6), "float32"))
        assert tuple(y.shape) == (1, 4, 3, 4)
    finally:
        nhanh.config.set_image_data_format("channels_last")
    assert Conv2D(4, 3).data_format == "channels_last"


def test_wrong_rank_fails_at_build_naming_layer_expected_and_received():
    layer = Conv2D(2, 3, name="my_conv")
    with pytest.raises(ValueError, match=r"my_conv.*rank 4.*\(3, 4\)"):
        layer(np.zeros((3, 4), "float32"))
    assert not layer.built and not layer.weights
    with pytest.raises(ValueError, match=r"conv1d_t.*rank 3.*\(1, 2, 3, 4\)"):
        Conv1DTranspose(2, 3, name="conv1d_t")(np.zeros((1, 2, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"sep.*rank 4"):
        SeparableConv2D(2, 3, name="sep").compute_output_shape((None, 5, 3))


def test_changed_channel_count_fails_after_build():
    layer = Conv2D(2, 3, name="c2")
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"c2.*size 3 on axis -1.*\(1, 5, 5, 4\)"):
        layer(np.zeros((1, 5, 5, 4), "float32"))
    depthwise = DepthwiseConv2D(3, data_format="channels_first", name="dw")
    depthwise(np.zeros((1, 2, 5, 5), "float32"))
    with pytest.raises(ValueError, match=r"dw.*size 2 on axis 1.*\(1, 3, 5, 5\)"):
        depthwise(np.zeros((1, 3, 5, 5), "float32"))


def test_too_small_input_for_valid_padding_fails_before_weights_exist():
    layer = Conv2D(2, 5, name="big_kernel")
    with pytest.raises(ValueError, match=r"big_kernel.*\(1, 4, 4, 1\).*too small"):
        layer(np.zeros((1, 4, 4, 1), "float32"))
    assert not layer.weights


@pytest.mark.parametrize("make,match", [
    (lambda: Conv2D(0, 3), "filters"),
    (lambda: Conv2D(4, (3, 3, 3)), "kernel_size"),
    (lambda: Conv2D(4, 3, strides=0), "strides"),
    (lambda: Conv2D(5, 3, groups=2), "groups"),
    (lambda: Conv2D(4, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: Conv2D(4, 3, padding="causal"), "padding"),
    (lambda: Conv1D(4, 3, padding="full"), "padding"),
    (lambda: Conv2D(4, 3, data_format="NHWC"), "data_format"),
    (lambda: Conv2DTranspose(4, 3, strides=2, output_padding=2), "output_padding"),
    (lambda: DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
])
def test_bad_arguments_raise_at_construction_naming_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_groups_must_divide_input_channels():
    with pytest.raises(ValueError, match=r"5 channels.*groups=2"):
        Conv2D(4, 3, groups=2)(np.zeros((1, 6, 6, 5), "float32"))


def test_regularizer_losses_and_keras_aliases():
    layer = Conv2D(2, 2, kernel_initializer="ones", kernel_regularizer=nhanh.regularizers.L2(0.5))
    layer(np.zeros((1, 3, 3, 1), "float32"))
    (penalty,) = layer.losses
    np.testing.assert_allclose(float(to_numpy(penalty)), 0.5 * 8, rtol=1e-6)
    assert conv_layers.Convolution2D is Conv2D and conv_layers.Convolution3D is Conv3D
    assert conv_layers.Convolution2DTranspose is Conv2DTranspose
    assert conv_layers.SeparableConvolution2D is SeparableConv2D


def test_conv_layer_trains_in_a_model():
    """A user's view: a small conv net fits with the compiled training step on each backend."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 6, 1)).astype("float32")
    y = x[:, 1:-1, 1:-1, 0].mean(axis=(1, 2))[:, None].astype("float32")
    model = nhanh.Sequential([Conv2D(2, 3, input_shape=(6, 6, 1)),
                              nhanh.layers.Flatten(), nhanh.layers.Dense(1)])
    model.compile(loss="mse", optimizer=nhanh.optimizers.Adam(learning_rate=0.05))
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=10, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.1 * first
