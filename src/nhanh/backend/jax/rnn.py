"""Recurrences compiled as one loop on JAX: this backend's RNN_OPS.

Every loop over time is a single `jax.lax.scan`, so a recurrent layer compiles to one XLA
while-loop however long the sequence is, and jit sees no Python branching on values.

    scan(fn, init, xs, reverse=False) -> (carry, ys)
    rnn(step_fn, inputs, initial_states, mask=None, go_backwards=False,
        zero_output_for_mask=False) -> (last_output, outputs, states)
    lstm(inputs, h, c, kernel, recurrent_kernel, bias=None, mask=None, go_backwards=False,
         zero_output_for_mask=False) -> (outputs, h, c)
    gru(inputs, h, kernel, recurrent_kernel, bias=None, mask=None, go_backwards=False,
        zero_output_for_mask=False) -> (outputs, h)

The meaning of each is documented once, on the PyTorch backend's functions of the same names.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def scan(fn: Callable, init, xs, reverse: bool = False):
    """lax.scan: fn(carry, x) -> (carry, y) over the leading axis of xs; ys in xs's order."""
    return jax.lax.scan(fn, init, xs, reverse=reverse)


def _keep(mask_t, like):
    """A (batch,) step mask shaped to broadcast against `like` (batch, ...)."""
    return jnp.reshape(mask_t, mask_t.shape[:1] + (1,) * (like.ndim - 1))


def rnn(step_fn: Callable, inputs, initial_states, mask=None, go_backwards: bool = False,
        zero_output_for_mask: bool = False):
    """Keras's recurrence over batch-major `inputs`, masked steps keeping the previous state."""
    xs = jax.tree_util.tree_map(lambda x: jnp.swapaxes(x, 0, 1), inputs)
    states = tuple(initial_states)

    if mask is None:
        def body(carry, x):
            out, new = step_fn(x, carry)
            return tuple(new), out
        final, outs = jax.lax.scan(body, states, xs, reverse=go_backwards)
    else:
        def body(carry, x_m):
            x, m = x_m
            out, new = step_fn(x, carry)
            new = tuple(jnp.where(_keep(m, n), n, s) for n, s in zip(new, carry))
            held = jnp.zeros_like(out) if zero_output_for_mask else carry[0]
            return new, jnp.where(_keep(m, out), out, held)
        steps = jnp.swapaxes(jnp.asarray(mask).astype(bool), 0, 1)
        final, outs = jax.lax.scan(body, states, (xs, steps), reverse=go_backwards)
    if go_backwards:
        outs = jnp.flip(outs, 0)
    outputs = jnp.swapaxes(outs, 0, 1)
    return outputs[:, -1], outputs, final


def _project_in_loop() -> bool:
    """Whether a recurrence multiplies each step's inputs by the kernel inside the loop (on a
    CPU) rather than the whole sequence before it (on accelerators, where one large matmul
    is the fast way). On a 2-core CPU (LSTM(128), 100 steps, batch 64) the projection before
    the loop measured ~30% slower per training step: the (time, batch, 4 * units) product and
    its gradient are written, transposed and read back from memory, where the per-step product
    stays in cache. A hand-written VJP saving fewer residuals was no faster: the step is bound
    by its matmuls."""
    return jax.default_backend() == "cpu"


def lstm(inputs, h, c, kernel, recurrent_kernel, bias=None, mask=None,
         go_backwards: bool = False, zero_output_for_mask: bool = False):
    """Keras's LSTM (tanh, sigmoid; gates i, f, c, o), all four gates in one matmul per step:
    of [x_t, h] by the stacked [kernel; recurrent_kernel] on a CPU, of h by the recurrent
    kernel after one projection of the whole sequence elsewhere (see _project_in_loop)."""
    in_loop = _project_in_loop()
    if in_loop:
        weights, xs = jnp.concatenate([kernel, recurrent_kernel], axis=0), inputs
    else:
        weights, xs = recurrent_kernel, _projected(inputs, kernel, bias)

    def step(x, states):
        h_prev, c_prev = states
        if in_loop:
            z = jnp.matmul(jnp.concatenate([x, h_prev], axis=-1), weights)
            z = z if bias is None else z + bias
        else:
            z = x + jnp.matmul(h_prev, weights)
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c_new = jax.nn.sigmoid(f) * c_prev + jax.nn.sigmoid(i) * jnp.tanh(g)
        h_new = jax.nn.sigmoid(o) * jnp.tanh(c_new)
        return h_new, (h_new, c_new)

    _, outputs, (h, c) = rnn(step, xs, (h, c), mask, go_backwards, zero_output_for_mask)
    return outputs, h, c


def _projected(inputs, kernel, bias):
    out = jnp.matmul(inputs, kernel)
    return out if bias is None else out + bias


def gru(inputs, h, kernel, recurrent_kernel, bias=None, mask=None,
        go_backwards: bool = False, zero_output_for_mask: bool = False):
    """Keras's GRU with reset_after=True (tanh, sigmoid; gates z, r, h; bias (2, 3*units)); the
    inputs projected inside the loop on a CPU (measured ~25% faster per training step there),
    before it elsewhere (see _project_in_loop)."""
    in_loop = _project_in_loop()
    input_bias = None if bias is None else bias[0]
    xs = inputs if in_loop else _projected(inputs, kernel, input_bias)

    def step(x, states):
        (h_prev,) = states
        projected = _projected(x, kernel, input_bias) if in_loop else x
        inner = jnp.matmul(h_prev, recurrent_kernel)
        if bias is not None:
            inner = inner + bias[1]
        x_z, x_r, x_h = jnp.split(projected, 3, axis=-1)
        r_z, r_r, r_h = jnp.split(inner, 3, axis=-1)
        z = jax.nn.sigmoid(x_z + r_z)
        r = jax.nn.sigmoid(x_r + r_r)
        h_new = z * h_prev + (1 - z) * jnp.tanh(x_h + r * r_h)
        return h_new, (h_new,)

    _, outputs, (h,) = rnn(step, xs, (h,), mask, go_backwards, zero_output_for_mask)
    return outputs, h
