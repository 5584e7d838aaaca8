"""Activations against NumPy closed forms and torch.nn.functional, gradients against finite
differences, and name lookup."""

import math

import numpy as np
import pytest

import nhanh
from nhanh import activations, ops
from nhanh.variables import Variable

to_numpy = ops.convert_to_numpy

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
_erf = np.vectorize(math.erf)


def _softplus(x):
    return np.logaddexp(0.0, x)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _hard_sigmoid(x):
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


# name -> (nhanh function, NumPy closed form in float64)
CASES = {
    "linear": (activations.linear, lambda x: x),
    "relu": (activations.relu, lambda x: np.maximum(x, 0)),
    "relu6": (activations.relu6, lambda x: np.clip(x, 0, 6)),
    "leaky_relu": (activations.leaky_relu, lambda x: np.where(x >= 0, x, 0.2 * x)),
    "leaky_relu_0.3": (lambda x: activations.leaky_relu(x, negative_slope=0.3),
                       lambda x: np.where(x >= 0, x, 0.3 * x)),
    "sigmoid": (activations.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (activations.tanh, np.tanh),
    "softmax": (activations.softmax, _softmax),
    "softmax_axis0": (lambda x: activations.softmax(x, axis=0), lambda x: _softmax(x, 0)),
    "log_softmax": (activations.log_softmax, lambda x: np.log(_softmax(x))),
    "log_softmax_axis0": (lambda x: activations.log_softmax(x, axis=0),
                          lambda x: np.log(_softmax(x, 0))),
    "elu": (activations.elu, _elu),
    "elu_0.5": (lambda x: activations.elu(x, alpha=0.5), lambda x: _elu(x, 0.5)),
    "selu": (activations.selu, lambda x: SELU_SCALE * _elu(x, SELU_ALPHA)),
    "softplus": (activations.softplus, _softplus),
    "softsign": (activations.softsign, lambda x: x / (1 + np.abs(x))),
    "silu": (activations.silu, lambda x: x / (1 + np.exp(-x))),
    "swish": (activations.swish, lambda x: x / (1 + np.exp(-x))),
    "gelu": (activations.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    "gelu_tanh": (lambda x: activations.gelu(x, approximate=True),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                   * (x + 0.044715 * x ** 3)))),
    "hard_sigmoid": (activations.hard_sigmoid, _hard_sigmoid),
    "hard_silu": (activations.hard_silu, lambda x: x * _hard_sigmoid(x)),
    "hard_swish": (activations.hard_swish, lambda x: x * _hard_sigmoid(x)),
    "exponential": (activations.exponential, np.exp),
    "mish": (activations.mish, lambda x: x * np.tanh(_softplus(x))),
    "relu_general": (lambda x: activations.relu(x, negative_slope=0.1, max_value=5.0,
                                                threshold=0.5),
                     lambda x: np.where(x > 0.5, np.minimum(x, 5.0), 0.1 * (x - 0.5))),
    "relu_capped": (lambda x: activations.relu(x, max_value=2.5), lambda x: np.clip(x, 0, 2.5)),
}
ELEMENTWISE = [n for n in CASES if "softmax" not in n]

# Points away from every kink (0, ±3, 6, the thresholds 0.5 / 2.5 / 5 used above).
SMOOTH_POINTS = np.array([[-4.3, -2.1, -0.7, -0.25, 0.35],
                          [1.3, 2.1, 3.6, 4.1, 7.2]], dtype="float32")


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_closed_form(name):
    fn, ref = CASES[name]
    x = np.random.default_rng(0).uniform(-8, 8, size=(4, 6)).astype("float32")
    x[0, :3] = [0.0, 3.0, -3.0]
    out = fn(ops.convert_to_tensor(x))
    assert ops.is_tensor(out) and ops.shape(out) == x.shape
    np.testing.assert_allclose(to_numpy(out), ref(x.astype("float64")), rtol=2e-5, atol=2e-6)


def test_values_match_torch_functional():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    refs = {
        activations.relu: F.relu, activations.relu6: F.relu6, activations.sigmoid: torch.sigmoid,
        activations.tanh: torch.tanh, activations.elu: F.elu, activations.selu: F.selu,
        activations.softplus: F.softplus, activations.softsign: F.softsign,
        activations.silu: F.silu, activations.gelu: F.gelu, activations.mish: F.mish,
        activations.hard_sigmoid: F.hardsigmoid, activations.hard_silu: F.hardswish,
        activations.exponential: torch.exp,
        activations.leaky_relu: lambda t: F.leaky_relu(t, 0.2),
        activations.softmax: lambda t: F.softmax(t, dim=-1),
        activations.log_softmax: lambda t: F.log_softmax(t, dim=-1),
        (lambda x: activations.gelu(x, approximate=True)): lambda t: F.gelu(t, approximate="tanh"),
        (lambda x: activations.elu(x, 0.7)): lambda t: F.elu(t, 0.7),
    }
    x = np.random.default_rng(1).uniform(-6, 6, size=(3, 7))
    for fn, ref in refs.items():
        expected = ref(torch.tensor(x, dtype=torch.float64)).numpy()
        got = to_numpy(fn(ops.convert_to_tensor(x.astype("float32"))))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=repr(fn))


def test_relu_keras3_semantics():
    x = ops.convert_to_tensor(np.linspace(-3, 3, 7).astype("float32"))
    # Values Keras 3 returns for the same calls.
    np.testing.assert_allclose(
        to_numpy(activations.relu(x, negative_slope=0.1, max_value=2, threshold=0.5)),
        [-0.35, -0.25, -0.15, -0.05, 1, 2, 2], atol=1e-6)
    np.testing.assert_allclose(to_numpy(activations.relu(x, max_value=6, threshold=-1.5)),
                               [0, 0, 0, 0, 1, 2, 3], atol=1e-6)
    np.testing.assert_allclose(to_numpy(activations.relu(x, negative_slope=0.3, max_value=1)),
                               [-0.9, -0.6, -0.3, 0, 1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(to_numpy(activations.relu(x, threshold=1.0)),
                               [0, 0, 0, 0, 0, 2, 3], atol=1e-6)


def _grad(fn, x, w):
    w = ops.convert_to_tensor(w)
    value_and_grad = nhanh.backend.get().value_and_grad(
        lambda params: ops.sum(ops.multiply(fn(params[0]), w)))
    _, grads = value_and_grad([ops.convert_to_tensor(x)])
    return to_numpy(grads[0]).astype("float64")


def _f64(fn, x):
    return to_numpy(fn(ops.convert_to_tensor(x))).astype("float64")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_gradient_matches_finite_differences(name):
    fn = CASES[name][0]
    x = SMOOTH_POINTS
    w = np.random.default_rng(2).uniform(0.5, 1.5, size=x.shape).astype("float32")
    eps = np.float32(1e-3)
    x_plus, x_minus = x + eps, x - eps  # each output depends on its own input only
    step = x_plus.astype("float64") - x_minus.astype("float64")  # the float32 step actually taken
    expected = w * (_f64(fn, x_plus) - _f64(fn, x_minus)) / step
    np.testing.assert_allclose(_grad(fn, x, w), expected, rtol=3e-3, atol=3e-3)


@pytest.mark.parametrize("name", ["softmax", "softmax_axis0", "log_softmax", "log_softmax_axis0"])
def test_softmax_gradient_matches_finite_differences(name):
    fn = CASES[name][0]
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, size=(3, 4)).astype("float32")
    w = rng.uniform(-1, 1, size=x.shape).astype("float32")  # sum(softmax) alone has zero grad
    expected = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x_plus, x_minus = x.copy(), x.copy()
        x_plus[i] += np.float32(1e-3)
        x_minus[i] -= np.float32(1e-3)
        loss = [float(np.sum(w * _f64(fn, v))) for v in (x_plus, x_minus)]
        expected[i] = (loss[0] - loss[1]) / (float(x_plus[i]) - float(x_minus[i]))
    np.testing.assert_allclose(_grad(fn, x, w), expected, rtol=1e-2, atol=2e-3)


def test_accepts_variables():
    v = Variable(np.array([-1.0, 2.0], dtype="float32"), shape=(2,))
    np.testing.assert_allclose(to_numpy(activations.relu(v)), [0.0, 2.0])
    np.testing.assert_allclose(to_numpy(activations.linear(v)), [-1.0, 2.0])


NAMES = ["linear", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax",
         "elu", "selu", "softplus", "softsign", "silu", "swish", "gelu", "hard_sigmoid",
         "hard_silu", "hard_swish", "exponential", "mish"]


@pytest.mark.parametrize("name", NAMES)
def test_get_by_name_and_round_trip(name):
    fn = activations.get(name)
    assert fn is getattr(activations, name)
    assert activations.get(name.upper()) is fn
    assert activations.deserialize(activations.serialize(fn)) is fn
    assert activations.get(activations.serialize(fn)) is fn


def test_get_none_callable_and_aliases():
    assert activations.get(None) is activations.linear
    assert activations.get(activations.relu) is activations.relu
    custom = lambda x: x * 2  # noqa: E731
    assert activations.get(custom) is custom
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    assert activations.serialize(activations.relu) == "relu"
    assert activations.serialize(activations.swish) in ("silu", "swish")
    keras_form = {"module": "keras.activations", "class_name": "function", "config": "gelu"}
    assert activations.get(keras_form) is activations.gelu


def test_unknown_names_raise_with_close_matches():
    with pytest.raises(ValueError, match="'relu'"):
        activations.get("rleu")
    with pytest.raises(ValueError, match="'softmax'"):
        activations.get("sofmax")
    with pytest.raises(ValueError, match="activation"):
        activations.get(42)
