"""ops.lstm and ops.gru, the whole-sequence recurrences, against independent references: a plain
NumPy loop of Keras's equations (Keras's masked-step rule; with go_backwards the outputs come in
the order the steps ran, as in Keras) for the values, and central
finite differences for the gradients. Masks, go_backwards and initial states all at once, the
cases the layer tests reach only one at a time.
"""
import numpy as np
import pytest

import nhanh
from nhanh import ops
from conftest import to_numpy

B, T, F, U = 3, 5, 4, 6


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_lstm(x, h, c, kernel, recurrent, bias, mask, go_backwards, zero_output):
    steps, outs = range(T)[::-1] if go_backwards else range(T), []
    for t in steps:
        i, f, g, o = np.split(x[:, t] @ kernel + h @ recurrent + bias, 4, axis=-1)
        c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h_new = sigmoid(o) * np.tanh(c_new)
        keep = mask[:, t:t + 1]
        outs.append(np.where(keep, h_new, 0.0 if zero_output else h))
        h, c = np.where(keep, h_new, h), np.where(keep, c_new, c)
    return np.stack(outs, 1), h, c


def numpy_gru(x, h, kernel, recurrent, bias, mask, go_backwards, zero_output):
    steps, outs = range(T)[::-1] if go_backwards else range(T), []
    for t in steps:
        x_z, x_r, x_h = np.split(x[:, t] @ kernel + bias[0], 3, axis=-1)
        r_z, r_r, r_h = np.split(h @ recurrent + bias[1], 3, axis=-1)
        z, r = sigmoid(x_z + r_z), sigmoid(x_r + r_r)
        h_new = z * h + (1 - z) * np.tanh(x_h + r * r_h)
        keep = mask[:, t:t + 1]
        outs.append(np.where(keep, h_new, 0.0 if zero_output else h))
        h = np.where(keep, h_new, h)
    return np.stack(outs, 1), h


def arguments(kind, rng):
    """(inputs, states, kernel, recurrent_kernel, bias, mask); each row has masked steps."""
    gates = 4 if kind == "lstm" else 3
    x = rng.normal(size=(B, T, F))
    states = [rng.normal(scale=0.5, size=(B, U)) for _ in range(2 if kind == "lstm" else 1)]
    weights = [rng.normal(scale=0.4, size=s) for s in
               [(F, gates * U), (U, gates * U), (gates * U,) if kind == "lstm" else (2, gates * U)]]
    mask = rng.random((B, T)) < 0.7
    mask[:, 0] = mask[0, 1] = False
    return x, states, weights, mask


@pytest.fixture(params=["here", "accelerator"])
def jax_formulation(request, backend, monkeypatch):
    """On JAX, both ways of projecting the inputs (inside the loop on a CPU, before it on
    accelerators), each checked here on the CPU."""
    if request.param == "accelerator":
        if backend != "jax":
            pytest.skip("one formulation on PyTorch")
        from nhanh.backend.jax import rnn as jax_rnn

        monkeypatch.setattr(jax_rnn, "_project_in_loop", lambda: False)
    return request.param


def run(kind, x, states, weights, mask, go_backwards, zero_output):
    fn = ops.lstm if kind == "lstm" else ops.gru
    return fn(x, *states, *weights, mask=ops.convert_to_tensor(mask),
              go_backwards=go_backwards, zero_output_for_mask=zero_output)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("go_backwards,zero_output", [(False, False), (True, True)])
def test_values_match_a_numpy_loop(kind, go_backwards, zero_output, np_rng, jax_formulation):
    x, states, weights, mask = arguments(kind, np_rng)
    as_tensors = [ops.convert_to_tensor(a.astype("float32")) for a in [x, *states, *weights]]
    got = run(kind, as_tensors[0], as_tensors[1:1 + len(states)], as_tensors[1 + len(states):],
              mask, go_backwards, zero_output)
    reference = numpy_lstm if kind == "lstm" else numpy_gru
    want = reference(x, *states, *weights, mask, go_backwards, zero_output)
    for g, w in zip(got, want):
        np.testing.assert_allclose(to_numpy(g), w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_gradients_match_finite_differences(kind, go_backwards, np_rng, jax_formulation):
    """d<outputs and final states, random cotangents>/d(inputs, states, weights), along one
    random direction per argument, against a central difference of the NumPy loop (float64)."""
    x, states, weights, mask = arguments(kind, np_rng)
    args = [x, *states, *weights]
    n_states = len(states)
    shapes = [(B, T, U)] + [(B, U)] * n_states
    cotangents = [np_rng.normal(size=s) for s in shapes]

    def loss_numpy(values):
        reference = numpy_lstm if kind == "lstm" else numpy_gru
        outs = reference(*values, mask, go_backwards, False)
        return sum(float(np.sum(o * c)) for o, c in zip(outs, cotangents))

    def loss(params):
        outs = run(kind, params[0], params[1:1 + n_states], params[1 + n_states:], mask,
                   go_backwards, False)
        return sum(ops.sum(o * ops.convert_to_tensor(c.astype("float32")))
                   for o, c in zip(outs, cotangents))

    params = [ops.convert_to_tensor(a.astype("float32")) for a in args]
    _, grads = nhanh.backend.get().value_and_grad(loss)(params)
    eps = 1e-5
    for k, (a, g) in enumerate(zip(args, grads)):
        direction = np_rng.normal(size=a.shape)
        plus = [v + eps * direction if j == k else v for j, v in enumerate(args)]
        minus = [v - eps * direction if j == k else v for j, v in enumerate(args)]
        numeric = (loss_numpy(plus) - loss_numpy(minus)) / (2 * eps)
        np.testing.assert_allclose(float(np.sum(to_numpy(g) * direction)), numeric, rtol=2e-3,
                                   atol=1e-3, err_msg=f"argument {k}")
