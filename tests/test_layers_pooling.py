"""Pooling layers against plain NumPy loops (forward and input gradients) and torch's pooling,
on every backend. 'same' pooling follows TensorFlow: the odd padded pixel goes after, max
pooling ignores the padding, average pooling divides by the number of real elements."""

import itertools
import math

import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.layers import pooling
from nhanh.layers.pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D,
                                  GlobalAveragePooling1D, GlobalAveragePooling2D,
                                  GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                                  GlobalMaxPooling3D, MaxPooling1D, MaxPooling2D, MaxPooling3D)
from conftest import to_numpy

torch = pytest.importorskip("torch")
F = torch.nn.functional


# --- NumPy reference -------------------------------------------------------------------------
def numpy_pool(x, pool, strides, padding, mode, r=None):
    """Pooling of a channels_last array by explicit loops over output positions, and, given a
    cotangent r, the gradient of sum(pool(x) * r) w.r.t. x."""
    spatial = x.shape[1:-1]
    ranges, starts = [], []
    for n, k, s in zip(spatial, pool, strides):
        if padding == "valid":
            out, before = (n - k) // s + 1, 0
        else:
            out = math.ceil(n / s)
            before = max((out - 1) * s + k - n, 0) // 2
        ranges.append(range(out))
        starts.append((s, before))
    y = np.zeros((x.shape[0], *[len(r_) for r_ in ranges], x.shape[-1]), x.dtype)
    grad = np.zeros_like(x)
    for idx in itertools.product(*ranges):
        window = tuple(slice(max(i * s - b, 0), min(i * s - b + k, n))
                       for i, (s, b), k, n in zip(idx, starts, pool, spatial))
        patch = x[(slice(None), *window, slice(None))]
        flat = patch.reshape(x.shape[0], -1, x.shape[-1])
        out_index = (slice(None), *idx, slice(None))
        if mode == "max":
            y[out_index] = flat.max(axis=1)
            if r is not None:
                arg = flat.argmax(axis=1)
                for b, c in itertools.product(range(x.shape[0]), range(x.shape[-1])):
                    pos = np.unravel_index(arg[b, c], patch.shape[1:-1])
                    grad[(b, *(w.start + p for w, p in zip(window, pos)), c)] += r[(b, *idx, c)]
        else:
            y[out_index] = flat.mean(axis=1)
            if r is not None:
                grad[(slice(None), *window, slice(None))] += (
                    r[out_index] / flat.shape[1]).reshape(x.shape[0], *(1,) * len(pool), -1)
    return y, grad


def _input_grad(layer, x, r):
    def loss(params):
        y = layer(params[0])
        return ops.sum(y * ops.convert_to_tensor(r)), y

    (_, y), (grad,) = nhanh.backend.get().value_and_grad(loss, has_aux=True)(
        [ops.convert_to_tensor(x)])
    return to_numpy(y), to_numpy(grad)


POOL_CASES = [
    (MaxPooling1D, (2, 7, 3), dict(pool_size=2)),
    (MaxPooling1D, (2, 8, 2), dict(pool_size=3, strides=2, padding="same")),
    (AveragePooling1D, (2, 7, 3), dict(pool_size=3, strides=1)),
    (AveragePooling1D, (2, 7, 3), dict(pool_size=2, padding="same")),
    (MaxPooling2D, (2, 5, 6, 2), dict(pool_size=(2, 3), strides=(1, 2))),
    (MaxPooling2D, (2, 5, 6, 2), dict(pool_size=3, strides=2, padding="same")),
    (MaxPooling2D, (1, 2, 6, 5), dict(pool_size=2, padding="same", data_format="channels_first")),
    (AveragePooling2D, (2, 5, 6, 2), dict(pool_size=2)),
    (AveragePooling2D, (2, 5, 6, 2), dict(pool_size=3, strides=2, padding="same")),
    (AveragePooling2D, (1, 4, 4, 1), dict(pool_size=(3, 2), strides=1, padding="same")),
    (AveragePooling2D, (1, 3, 5, 6), dict(pool_size=2, strides=(2, 3), padding="same",
                                          data_format="channels_first")),
    (MaxPooling3D, (1, 4, 5, 4, 2), dict(pool_size=2, padding="same")),
    (AveragePooling3D, (1, 3, 5, 4, 2), dict(pool_size=(2, 3, 2), strides=(1, 2, 2),
                                             padding="same")),
    (AveragePooling3D, (1, 2, 4, 4, 3), dict(data_format="channels_first")),
]


@pytest.mark.parametrize("cls,shape,kw", POOL_CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(POOL_CASES)])
def test_pooling_matches_numpy_loops_forward_and_input_gradient(cls, shape, kw, np_rng):
    layer = cls(**kw)
    channels_first = layer.data_format == "channels_first"
    x = np_rng.normal(size=shape).astype("float32")
    out_shape = layer.compute_output_shape(shape)
    r = np_rng.normal(size=out_shape).astype("float32")
    y, grad = _input_grad(layer, x, r)
    assert y.shape == tuple(out_shape)
    move = (lambda a: np.moveaxis(a, 1, -1)) if channels_first else (lambda a: a)
    back = (lambda a: np.moveaxis(a, -1, 1)) if channels_first else (lambda a: a)
    y_ref, grad_ref = numpy_pool(move(x), layer.pool_size, layer.strides, layer.padding,
                                 "max" if "Max" in cls.__name__ else "average", move(r))
    np.testing.assert_allclose(y, back(y_ref), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, back(grad_ref), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("mode", ["max", "average"])
def test_valid_pooling_matches_torch(rank, mode, np_rng):
    cls = {("max", 1): MaxPooling1D, ("max", 2): MaxPooling2D, ("max", 3): MaxPooling3D,
           ("average", 1): AveragePooling1D, ("average", 2): AveragePooling2D,
           ("average", 3): AveragePooling3D}[mode, rank]
    fn = getattr(F, f"{'max' if mode == 'max' else 'avg'}_pool{rank}d")
    x = np_rng.normal(size=(2, *(5, 6, 4)[:rank], 3)).astype("float32")
    y = to_numpy(cls(pool_size=2, strides=1 if rank < 3 else 2)(x))
    ref = fn(torch.tensor(x).movedim(-1, 1), 2, 1 if rank < 3 else 2).movedim(1, -1).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_same_average_pooling_leaves_padding_out_of_the_mean():
    # n=5, pool 2, stride 2 -> windows [1 2] [3 4] [5 pad]: the last mean is 5, not 2.5.
    x = np.arange(1, 6, dtype="float32").reshape(1, 5, 1)
    y = to_numpy(AveragePooling1D(2, padding="same")(x)).ravel()
    np.testing.assert_allclose(y, [1.5, 3.5, 5.0])
    # 'same' max pooling never picks the padding, even for all-negative inputs.
    y = to_numpy(MaxPooling1D(2, padding="same")(-x)).ravel()
    np.testing.assert_allclose(y, [-1, -3, -5])


def test_default_strides_equal_pool_size_and_defaults_match_keras():
    layer = MaxPooling2D()
    assert layer.pool_size == (2, 2) and layer.strides == (2, 2) and layer.padding == "valid"
    assert AveragePooling3D((1, 2, 3)).strides == (1, 2, 3)
    assert MaxPooling1D(3, strides=1).strides == (1,)


# --- global pooling --------------------------------------------------------------------------
GLOBAL_CASES = [
    (GlobalMaxPooling1D, (2, 5, 3), {}),
    (GlobalAveragePooling1D, (2, 3, 5), dict(data_format="channels_first")),
    (GlobalMaxPooling2D, (2, 4, 5, 3), dict(keepdims=True)),
    (GlobalAveragePooling2D, (2, 4, 5, 3), {}),
    (GlobalAveragePooling2D, (2, 3, 4, 5), dict(data_format="channels_first", keepdims=True)),
    (GlobalMaxPooling3D, (1, 3, 4, 2, 3), dict(data_format="channels_first")),
    (GlobalAveragePooling3D, (1, 3, 4, 2, 3), dict(keepdims=True)),
]


@pytest.mark.parametrize("cls,shape,kw", GLOBAL_CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(GLOBAL_CASES)])
def test_global_pooling_matches_numpy(cls, shape, kw, np_rng):
    layer = cls(**kw)
    x = np_rng.normal(size=shape).astype("float32")
    y = to_numpy(layer(x))
    rank = len(shape) - 2
    axes = tuple(range(1, rank + 1)) if layer.data_format == "channels_last" else tuple(
        range(2, rank + 2))
    reduce = np.max if "Max" in cls.__name__ else np.mean
    ref = reduce(x, axis=axes, keepdims=layer.keepdims)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape(shape) == ref.shape
    unknown = (None, *(None,) * rank, shape[-1]) if layer.data_format == "channels_last" else (
        None, shape[1], *(None,) * rank)
    out = layer.compute_output_shape(unknown)
    assert out[0] is None and len(out) == ref.ndim


def test_global_average_pooling_1d_leaves_masked_steps_out():
    x = np.arange(12, dtype="float32").reshape(2, 3, 2)
    x[0, 2] = np.nan  # a masked step may hold anything
    mask = np.array([[True, True, False], [True, False, False]])
    layer = GlobalAveragePooling1D()
    y = to_numpy(layer(x, mask=ops.convert_to_tensor(mask)))
    np.testing.assert_allclose(y, [[1.0, 2.0], [6.0, 7.0]])
    assert layer.compute_mask(x, mask) is None


# --- shapes, configs, errors -----------------------------------------------------------------
@pytest.mark.parametrize("cls,shape,kw", POOL_CASES[::2],
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(POOL_CASES[::2])])
def test_pooling_output_shape_with_unknown_axes_and_config_round_trip(cls, shape, kw, np_rng):
    layer = cls(**kw)
    rank = len(shape) - 2
    last = layer.data_format == "channels_last"
    unknown = (None, *(None,) * rank, shape[-1]) if last else (None, shape[1], *(None,) * rank)
    assert layer.compute_output_shape(unknown) == (
        (None, *(None,) * rank, shape[-1]) if last else (None, shape[1], *(None,) * rank))
    config = layer.get_config()
    clone = cls.from_config(config)
    assert clone.get_config() == config
    x = np_rng.normal(size=shape).astype("float32")
    np.testing.assert_array_equal(to_numpy(clone(x)), to_numpy(layer(x)))


def test_global_pooling_config_round_trip():
    layer = GlobalAveragePooling2D(data_format="channels_first", keepdims=True, name="gap")
    config = layer.get_config()
    assert config["data_format"] == "channels_first" and config["keepdims"] is True
    assert GlobalAveragePooling2D.from_config(config).get_config() == config


def test_wrong_rank_fails_naming_layer_expected_and_received():
    with pytest.raises(ValueError, match=r"pool2.*rank 4.*\(2, 5, 3\)"):
        MaxPooling2D(name="pool2")(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"gap.*rank 3.*\(2, 5\)"):
        GlobalAveragePooling1D(name="gap")(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match=r"rank 5"):
        AveragePooling3D(2).compute_output_shape((None, 4, 4, 3))


def test_bad_arguments_and_too_small_inputs():
    with pytest.raises(ValueError, match="pool_size"):
        MaxPooling2D(pool_size=(2, 2, 2))
    with pytest.raises(ValueError, match="padding"):
        AveragePooling1D(2, padding="causal")
    with pytest.raises(ValueError, match="data_format"):
        MaxPooling1D(data_format="NWC")
    with pytest.raises(ValueError, match=r"small.*pool_size=\(3, 3\)"):
        MaxPooling2D(3)(np.zeros((1, 2, 5, 1), "float32"))


def test_keras_aliases():
    assert pooling.MaxPool2D is MaxPooling2D and pooling.AvgPool1D is AveragePooling1D
    assert pooling.GlobalAvgPool2D is GlobalAveragePooling2D
    assert pooling.GlobalMaxPool3D is GlobalMaxPooling3D and pooling.MaxPool3D is MaxPooling3D


def test_pooling_trains_inside_a_compiled_step():
    """Gradients through max and average pooling inside fit's compiled step (a regression
    test: an array-valued reduce_window init once made JAX unable to differentiate it)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4, 4, 1)).astype("float32")
    y = x.max(axis=(1, 2, 3))
    model = nhanh.Sequential([nhanh.layers.Input((4, 4, 1)), MaxPooling2D(2),
                              AveragePooling2D(2, padding="same"), nhanh.layers.Flatten(),
                              nhanh.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    before = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert not np.allclose(before[0], model.get_weights()[0])
