"""The fused kernels behind the real-architecture workloads (issue 13), checked against
independent references on every engine: training-mode batch normalization against Keras 3 and
NumPy, layer normalization against NumPy and Keras 3's formula, dropout against its closed
forms and against itself inside compiled steps (a pure function of the seed state)."""

import functools
import math
import os

import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.ops.fused_normalization import batch_norm_training
from nhanh.variables import StatelessScope
from conftest import to_numpy

os.environ.setdefault("KERAS_BACKEND", "jax")


def _needs(dtype):
    if ops.dtype(ops.convert_to_tensor(np.zeros(1, dtype))) != dtype:
        pytest.skip(f"{dtype} is off on this engine (JAX without x64)")


# --- batch normalization --------------------------------------------------------------------
def _channels(rng, shape, axis):
    """Inputs whose features have very different spreads, one of them far below epsilon (the
    variance recovered from an inverse standard deviation is least exact there)."""
    x = rng.normal(size=shape)
    spread = np.array([3.0, 1e-3, 0.5, 20.0][: shape[axis]])
    offset = np.array([1.0, -2.0, 0.0, 5.0][: shape[axis]])
    along = [1] * len(shape)
    along[axis] = shape[axis]
    return x * spread.reshape(along) + offset.reshape(along)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axis", [((64, 3), -1), ((6, 5, 5, 4), -1), ((6, 3, 5, 5), 1),
                                        ((4, 7, 3), -1), ((4, 3, 2, 5), 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_op_matches_numpy(shape, axis, affine, dtype, np_rng):
    _needs(dtype)
    x = _channels(np_rng, shape, axis)
    features = shape[axis]
    gamma = np_rng.normal(size=features) if affine else None
    beta = np_rng.normal(size=features) if affine else None
    cast = (lambda v: None if v is None else ops.convert_to_tensor(v.astype(dtype)))
    y, mean, var = batch_norm_training(cast(x), axis, cast(gamma), cast(beta), 1e-3)
    axes = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    along = [1] * len(shape)
    along[axis] = features
    want_mean, want_var = x.mean(axes), x.var(axes)
    want = (x - want_mean.reshape(along)) / np.sqrt(want_var.reshape(along) + 1e-3)
    if affine:
        want = want * gamma.reshape(along) + beta.reshape(along)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    assert ops.dtype(y) == dtype and tuple(ops.shape(y)) == shape
    # (the formula written out folds into x * inv + shift: float32 cancellation of about
    # |mean| / std * 2**-24 = 1e-5 on the tiny feature)
    np.testing.assert_allclose(to_numpy(y), want, rtol=tol["rtol"], atol=tol["atol"] * 5)
    np.testing.assert_allclose(to_numpy(mean), want_mean, **tol)
    # the tiny feature's variance (1e-6) to float32 rounding of variance + epsilon
    np.testing.assert_allclose(to_numpy(var), want_var, rtol=tol["rtol"],
                               atol=1e-9 if dtype == "float32" else 1e-12)


def _bn_model(L, axis, center, scale, shape):
    rng = np.random.default_rng(3)
    x = _channels(rng, (32, *shape), axis).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    inp = L.Input(shape)
    bn = L.layers.BatchNormalization(axis=axis, momentum=0.8, epsilon=1e-3, center=center,
                                     scale=scale)
    mixed = L.layers.Dense(shape[-1])(inp)  # (so that the inputs' gradient matters too)
    model = L.Model(inp, L.layers.Dense(1)(L.layers.Flatten()(bn(mixed))))
    start = {"moving_mean": np.zeros, "moving_variance": np.ones}
    model.set_weights([start.get(w.name.split("/")[-1], lambda s: rng.normal(size=s) * 0.5)(
        tuple(w.shape)).astype("float32") for w in model.weights])
    model.compile(optimizer=L.optimizers.SGD(learning_rate=0.01), loss="mse")
    return model, x, y


BN_CASES = [(-1, True, True, (4, 4, 3)), (1, True, True, (3, 4, 4)), (-1, False, True, (5, 3)),
            (-1, True, False, (5, 3)), (-1, False, False, (2, 2, 4))]


@functools.lru_cache(maxsize=None)
def _keras_bn(case):
    keras = pytest.importorskip("keras")
    model, x, y = _bn_model(keras, *case)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return [np.asarray(w) for w in model.get_weights()], np.asarray(model.predict(x, verbose=0))


@pytest.mark.parametrize("case", BN_CASES)
def test_batch_norm_fit_matches_keras(case):
    """Training steps (captured on PyTorch): gradients of the fused kernel move gamma, beta and
    the next layer as Keras's do, and the moving statistics follow Keras's recurrence."""
    want_weights, want_pred = _keras_bn(case)
    model, x, y = _bn_model(nhanh, *case)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    got = model.get_weights()
    assert len(got) == len(want_weights) and all(np.isfinite(w).all() for w in want_weights)
    for a, b in zip(got, want_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), want_pred, rtol=1e-4, atol=1e-4)


# --- layer normalization --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axes", [((4, 6, 8), (-1,)), ((3, 4, 5), (1, 2)),
                                        ((3, 4, 5), (1,)), ((2, 8), (-1,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_normalization_matches_numpy_and_its_gradient_finite_differences(
        shape, axes, affine, dtype, np_rng, monkeypatch):
    _needs(dtype)
    kernel = getattr(nhanh.backend.get().nn, "layer_norm", None)
    used = []
    if kernel is not None:  # (PyTorch) the fused kernel runs where the axes are the last ones
        def spy(*args):
            out = kernel(*args)
            used.append(out is not None)
            return out
        monkeypatch.setattr(nhanh.backend.get().nn, "layer_norm", spy)
    x = np_rng.normal(size=shape) * 3 + 1
    rank = len(shape)
    axes_ = tuple(sorted(a % rank for a in axes))
    normalized = tuple(shape[a] for a in axes_)
    gamma = np_rng.normal(size=normalized) if affine else None
    beta = np_rng.normal(size=normalized) if affine else None
    along = [shape[i] if i in axes_ else 1 for i in range(rank)]
    mean, var = x.mean(axes_, keepdims=True), x.var(axes_, keepdims=True)
    want = (x - mean) / np.sqrt(var + 1e-5)
    if affine:
        want = want * gamma.reshape(along) + beta.reshape(along)
    cast = (lambda v: None if v is None else ops.convert_to_tensor(v.astype(dtype)))
    y = ops.layer_normalization(cast(x), cast(gamma), cast(beta), axis=axes, epsilon=1e-5)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    assert ops.dtype(y) == dtype
    np.testing.assert_allclose(to_numpy(y), want, **tol)
    if kernel is not None:
        assert used == [axes_ == tuple(range(rank - len(axes_), rank))]
    if dtype == "float64":  # d(sum(y * r))/dx against central differences
        r = np_rng.normal(size=shape)
        backend = nhanh.backend.get()

        def loss(params, g, b):
            y = ops.layer_normalization(params[0], g, b, axis=axes, epsilon=1e-5)
            return ops.sum(y * ops.convert_to_tensor(r))

        _, (grad,) = backend.value_and_grad(loss)([cast(x)], cast(gamma), cast(beta))
        grad = to_numpy(grad)
        for index in [(0,) * rank, tuple(s - 1 for s in shape), tuple(s // 2 for s in shape)]:
            step = np.zeros(shape)
            step[index] = 1e-6
            numeric = (to_numpy(loss([cast(x + step)], cast(gamma), cast(beta)))
                       - to_numpy(loss([cast(x - step)], cast(gamma), cast(beta)))) / 2e-6
            np.testing.assert_allclose(grad[index], numeric, rtol=1e-5, atol=1e-6)


# --- dropout --------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_dropout_rate_and_scale_follow_the_closed_form(rate):
    x = np.full((400, 250), 2.0, "float32")
    y = to_numpy(nhanh.random.dropout(x, rate, seed=nhanh.random.SeedGenerator(4)))
    dropped = y == 0
    n = x.size
    assert abs(dropped.mean() - rate) < 5 * math.sqrt(rate * (1 - rate) / n)
    np.testing.assert_array_equal(y[~dropped], np.float32(2.0 / (1 - rate)))


def test_dropout_mask_is_a_pure_function_of_the_seed_state_compiled_or_not():
    layer = nhanh.layers.Dropout(0.3, seed=11)
    x = np.ones((8, 300), "float32")
    layer.build(x.shape)
    seed_var = layer.seed_generator.state

    def step(state, batch):
        with StatelessScope({seed_var: state}) as scope:
            y = layer(batch, training=True)
        return scope.get(seed_var), y

    compiled = nhanh.backend.get().compile_step(step)
    state0 = seed_var.value
    xs = ops.convert_to_tensor(x)
    state1, eager = step(state0, xs)
    masks = []
    state = state0
    for _ in range(3):  # the first call may trace or record; the later ones replay
        state_next, y = compiled(state, xs)
        masks.append(to_numpy(y))
        state = state_next
    np.testing.assert_array_equal(masks[0], to_numpy(eager))
    np.testing.assert_array_equal(to_numpy(compiled(state0, xs)[1]), to_numpy(eager))
    assert not np.array_equal(masks[0], masks[1])  # the state moved on: a new mask
    np.testing.assert_array_equal(to_numpy(compiled(state1, xs)[1]), masks[1])
    assert abs((masks[1] == 0).mean() - 0.3) < 5 * math.sqrt(0.3 * 0.7 / x.size)
