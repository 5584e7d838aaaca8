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


def lstm(inputs, h, c, kernel, recurrent_kernel, bias=None, mask=None,
         go_backwards: bool = False, zero_output_for_mask: bool = False):
    """Keras's LSTM (tanh, sigmoid; gates i, f, c, o), inputs projected in one matmul."""
    projected = jnp.matmul(inputs, kernel)
    if bias is not None:
        projected = projected + bias

    def step(x, states):
        h_prev, c_prev = states
        z = x + jnp.matmul(h_prev, recurrent_kernel)
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c_new = jax.nn.sigmoid(f) * c_prev + jax.nn.sigmoid(i) * jnp.tanh(g)
        h_new = jax.nn.sigmoid(o) * jnp.tanh(c_new)
        return h_new, (h_new, c_new)

    _, outputs, (h, c) = rnn(step, projected, (h, c), mask, go_backwards, zero_output_for_mask)
    return outputs, h, c


def gru(inputs, h, kernel, recurrent_kernel, bias=None, mask=None,
        go_backwards: bool = False, zero_output_for_mask: bool = False):
    """Keras's GRU with reset_after=True (tanh, sigmoid; gates z, r, h; bias (2, 3*units))."""
    projected = jnp.matmul(inputs, kernel)
    if bias is not None:
        projected = projected + bias[0]

    def step(x, states):
        (h_prev,) = states
        inner = jnp.matmul(h_prev, recurrent_kernel)
        if bias is not None:
            inner = inner + bias[1]
        x_z, x_r, x_h = jnp.split(x, 3, axis=-1)
        r_z, r_r, r_h = jnp.split(inner, 3, axis=-1)
        z = jax.nn.sigmoid(x_z + r_z)
        r = jax.nn.sigmoid(x_r + r_r)
        h_new = z * h_prev + (1 - z) * jnp.tanh(x_h + r * r_h)
        return h_new, (h_new,)

    _, outputs, (h,) = rnn(step, projected, (h,), mask, go_backwards, zero_output_for_mask)
    return outputs, h
