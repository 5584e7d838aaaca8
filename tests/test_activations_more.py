"""Keras 3's remaining activations (celu, glu, hard_shrink, ..., threshold) and their keras.ops
names: values against real Keras 3 (on JAX, in this process) and NumPy closed forms,
gradients against finite differences and across the two engines, lookup by name."""

from __future__ import annotations

import os

import numpy as np
import pytest

import nhanh
from nhanh import activations, config, ops

os.environ.setdefault("KERAS_BACKEND", "jax")
to_numpy = ops.convert_to_numpy

# name -> keyword arguments tried (each also goes to Keras's function of the same name)
CASES = {
    "celu": [{}, {"alpha": 0.5}, {"alpha": 2.0}],
    "glu": [{}, {"axis": 0}],
    "hard_shrink": [{}, {"threshold": 1.2}],
    "hard_tanh": [{}],
    "log_sigmoid": [{}],
    "soft_shrink": [{}, {"threshold": 1.2}],
    "sparse_plus": [{}],
    "sparse_sigmoid": [{}],
    "sparsemax": [{}, {"axis": 0}],
    "squareplus": [{}, {"b": 1.5}],
    "tanh_shrink": [{}],
    "threshold": [{"threshold": 0.3, "default_value": -2.0}, {"threshold": -1, "default_value": 0}],
}
PARAMS = [(name, i) for name, kws in CASES.items() for i in range(len(kws))]


def _inputs() -> np.ndarray:
    x = np.random.default_rng(0).uniform(-4, 4, size=(4, 6)).astype("float32")
    x[0, :6] = [0.0, 1.0, -1.0, 0.5, -0.5, 60.0]  # the kinks, and an input whose exp overflows
    x[1, :2] = [-60.0, 1.2]
    return x


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


# Keras 3.15's sparsemax is wrong when more than one score stays in the support
# (keras-team/keras#23425: its output then does not sum to 1); nhanh's is checked against the
# definition below instead.
@pytest.mark.parametrize("name,i", [p for p in PARAMS if p[0] != "sparsemax"])
def test_values_match_keras(keras, name, i):
    kwargs = CASES[name][i]
    x = _inputs()
    expected = np.asarray(getattr(keras.activations, name)(x, **kwargs))
    got = getattr(activations, name)(ops.convert_to_tensor(x), **kwargs)
    assert ops.is_tensor(got) and ops.dtype(got) == "float32"
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-5, atol=1e-6)
    # keras.ops spells the same function the same way
    np.testing.assert_allclose(to_numpy(getattr(ops, name)(x, **kwargs)), expected,
                               rtol=1e-5, atol=1e-6)


def _sparsemax_reference(z: np.ndarray) -> np.ndarray:
    """Projection of each row onto the simplex by bisection on tau (sum max(z - tau, 0) = 1)."""
    out = np.empty_like(z, dtype="float64")
    for r, row in enumerate(z.astype("float64")):
        lo, hi = row.max() - 1.0, row.max()
        for _ in range(200):
            tau = (lo + hi) / 2
            lo, hi = (tau, hi) if np.maximum(row - tau, 0).sum() > 1 else (lo, tau)
        out[r] = np.maximum(row - (lo + hi) / 2, 0)
    return out


def test_values_match_closed_forms():
    x = _inputs()
    xd = x.astype("float64")
    sig = 1 / (1 + np.exp(-xd))
    refs = {
        "celu": np.where(xd >= 0, xd, 0.5 * np.expm1(np.minimum(xd, 0) / 0.5)),
        "hard_tanh": np.clip(xd, -1, 1),
        "log_sigmoid": -np.logaddexp(0, -xd),
        "soft_shrink": np.sign(xd) * np.maximum(np.abs(xd) - 0.5, 0),
        "hard_shrink": np.where(np.abs(xd) > 0.5, xd, 0),
        "sparse_plus": np.where(xd <= -1, 0, np.where(xd >= 1, xd, (xd + 1) ** 2 / 4)),
        "sparse_sigmoid": np.clip((xd + 1) / 2, 0, 1),
        "squareplus": (xd + np.sqrt(xd ** 2 + 4)) / 2,
        "tanh_shrink": xd - np.tanh(xd),
        "glu": xd[:, :3] * sig[:, 3:],
        "sparsemax": _sparsemax_reference(x),
        "hard_swish": xd * np.clip(xd + 3, 0, 6) / 6,
    }
    for name, ref in refs.items():
        fn = getattr(ops, name)
        got = to_numpy(fn(x, alpha=0.5) if name == "celu" else fn(x))
        np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-6, err_msg=name)
    np.testing.assert_allclose(to_numpy(ops.sparsemax(x)).sum(-1), 1.0, rtol=1e-5)
    assert ops.hard_swish is ops.hard_silu


# Points away from every kink (0, +-0.5, +-1, +-1.2, 0.3), so central differences are exact.
SMOOTH = np.array([[-3.1, -1.7, -0.8, -0.35, 0.15, 0.42],
                   [0.7, 0.9, 1.4, 2.3, -2.6, 3.3]], dtype="float32")


def _loss_fn(name: str, kwargs: dict, w):
    fn = getattr(activations, name)
    return lambda params: ops.sum(ops.multiply(fn(params[0], **kwargs), w))


def _weights(name: str, kwargs: dict, x: np.ndarray, seed: int) -> np.ndarray:
    """Random weights of the output's shape (glu halves an axis), so the loss mixes outputs."""
    out_shape = list(x.shape)
    if name == "glu":
        out_shape[kwargs.get("axis", -1)] //= 2
    return np.random.default_rng(seed).uniform(-1.5, 1.5, size=out_shape).astype("float32")


def _grad(name: str, kwargs: dict, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    value_and_grad = nhanh.backend.get().value_and_grad(
        _loss_fn(name, kwargs, ops.convert_to_tensor(w)))
    _, grads = value_and_grad([ops.convert_to_tensor(x)])
    return to_numpy(grads[0]).astype("float64")


def _numeric_grad(name: str, kwargs: dict, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Central differences of sum(w * f(x)), one coordinate at a time (glu and sparsemax mix
    coordinates), in float64 on the host through the nhanh function itself."""
    fn = getattr(activations, name)
    loss = lambda v: float(np.sum(w * to_numpy(fn(ops.convert_to_tensor(v), **kwargs))))  # noqa
    if name not in ("glu", "sparsemax"):  # element-wise: every coordinate perturbed at once
        plus, minus = x + np.float32(1e-2), x - np.float32(1e-2)
        value = lambda v: to_numpy(fn(ops.convert_to_tensor(v), **kwargs)).astype("float64")  # noqa
        return w * (value(plus) - value(minus)) / (plus.astype("float64") - minus)
    out = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += np.float32(1e-2)
        minus[i] -= np.float32(1e-2)
        out[i] = (loss(plus) - loss(minus)) / (float(plus[i]) - float(minus[i]))
    return out


@pytest.mark.parametrize("name,i", PARAMS)
def test_gradients_match_finite_differences(name, i):
    kwargs = CASES[name][i]
    x = SMOOTH if name != "sparsemax" else SMOOTH * 0.4  # a support of several entries
    w = _weights(name, kwargs, x, seed=1)
    if name == "sparsemax":
        assert (to_numpy(activations.sparsemax(x, **kwargs)) > 0).sum() > x.shape[0]
    np.testing.assert_allclose(_grad(name, kwargs, x, w), _numeric_grad(name, kwargs, x, w),
                               rtol=2e-3, atol=2e-3)


@pytest.mark.engine_independent
def test_gradients_agree_across_engines():
    x = _inputs()  # kinks included: both engines must pick the same one-sided derivative
    by_engine = {}
    for engine in ("jax", "torch"):
        config.set_backend(engine)
        weights = [ops.convert_to_tensor(_weights(n, CASES[n][i], x, 2)) for n, i in PARAMS]

        def loss(params):  # one differentiation for every case: one compilation on JAX
            terms = [_loss_fn(n, CASES[n][i], w)([p])
                     for (n, i), w, p in zip(PARAMS, weights, params)]
            return ops.sum(ops.stack(terms))

        step = nhanh.backend.get().value_and_grad(loss)
        if engine == "jax":  # compiled: one XLA program instead of one per primitive
            step = nhanh.backend.get().compile_step(step)
        _, grads = step([ops.convert_to_tensor(x) for _ in PARAMS])
        by_engine[engine] = [to_numpy(g).astype("float64") for g in grads]
    for key, g, g_torch in zip(PARAMS, by_engine["jax"], by_engine["torch"]):
        assert np.all(np.isfinite(g)), key  # celu's exp(60) must not leak inf * 0 = nan
        np.testing.assert_allclose(g_torch, g, rtol=1e-5, atol=1e-6, err_msg=str(key))


def test_lookup_by_name_and_serialization():
    for name in CASES:
        fn = getattr(activations, name)
        assert activations.get(name) is fn
        assert activations.get(name.upper()) is fn
        assert activations.serialize(fn) == name
        assert activations.deserialize(activations.serialize(fn)) is fn
    layer = nhanh.layers.Dense(2, activation="log_sigmoid")
    assert nhanh.layers.Dense.from_config(layer.get_config()).activation is \
        activations.log_sigmoid
    out = nhanh.layers.Activation("tanh_shrink")(np.array([[2.0]], "float32"))
    np.testing.assert_allclose(to_numpy(out), [[2.0 - np.tanh(2.0)]], rtol=1e-6)


def test_argument_errors_say_what_came():
    with pytest.raises(ValueError, match=r"even.*\(3, 5\)"):
        ops.glu(np.ones((3, 5), "float32"))
    np.testing.assert_allclose(ops.shape(ops.glu(np.ones((4, 5), "float32"), axis=0)), (2, 5))
    with pytest.raises(ValueError, match="axis"):
        ops.sparsemax(np.ones((2, 3), "float32"), axis=2)
    with pytest.raises(TypeError):
        activations.threshold(np.ones(3, "float32"))  # Keras requires both values


def test_accepts_variables_and_numpy():
    v = nhanh.Variable(np.array([-2.0, 0.25, 2.0], "float32"), shape=(3,))
    np.testing.assert_allclose(to_numpy(activations.hard_tanh(v)), [-1.0, 0.25, 1.0])
    np.testing.assert_allclose(to_numpy(ops.soft_shrink(np.array([-2.0, 0.25, 2.0]))),
                               [-1.5, 0.0, 1.5])
