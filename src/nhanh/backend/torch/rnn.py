"""Recurrences on PyTorch: this backend's RNN_OPS.

    scan(fn, init, xs, reverse=False) -> (carry, ys)
        fn(carry, x) -> (carry, y) applied along the leading axis of xs (an array, or a tuple /
        list / dict of arrays); ys are stacked on axis 0 in xs's order, also when reverse=True
        (jax.lax.scan's meaning). A Python loop here; one lax.scan on JAX.
    rnn(step_fn, inputs, initial_states, mask=None, go_backwards=False,
        zero_output_for_mask=False) -> (last_output, outputs, states)
        Keras's recurrence. inputs: batch-major (batch, time, ...) array or tuple of them;
        step_fn(x_t, states: tuple) -> (output_t, new_states). mask (batch, time) bool: at a
        masked step the states stay as they were and the output is the previous states[0]
        (zeros with zero_output_for_mask). outputs (batch, time, ...) are in processing order,
        so reversed in time with go_backwards; last_output is outputs[:, -1].
    lstm(inputs, h, c, kernel, recurrent_kernel, bias=None, mask=None, go_backwards=False,
         zero_output_for_mask=False) -> (outputs, h, c)
        rnn() with Keras's LSTM cell: tanh and sigmoid, gates i, f, c, o, Keras weight layout
        (kernel (features, 4u), recurrent_kernel (u, 4u), bias (4u,)).
    gru(inputs, h, kernel, recurrent_kernel, bias=None, mask=None, go_backwards=False,
        zero_output_for_mask=False) -> (outputs, h)
        rnn() with Keras's GRU cell, reset_after=True: gates z, r, h, bias (2, 3u) (input row,
        recurrent row).

lstm and gru run PyTorch's fused kernels (torch._VF.lstm / torch._VF.gru, cuDNN on a GPU)
when there is no mask, or when the mask is right-padded (every row True then False, at least
one True): the mask is read on the host once to check this and to pack the sequences. Any other
mask runs the step loop, and so does any mask while a step is being captured as a graph
(capture.py): a traced step cannot read the host, and the loop needs no read, so the step stays
one graph.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from nhanh.backend.torch.capture import tracing


# --- scan -----------------------------------------------------------------------------------
def _flatten(tree) -> tuple[list, Callable]:
    """Leaves of a tuple / list / dict tree of tensors, and the function that rebuilds it."""
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(t) for t in tree]
        sizes = [len(leaves) for leaves, _ in parts]

        def rebuild(leaves):
            out, start = [], 0
            for (_, fn), n in zip(parts, sizes):
                out.append(fn(leaves[start:start + n]))
                start += n
            return type(tree)(out)
        return [leaf for leaves, _ in parts for leaf in leaves], rebuild
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, rebuild_values = _flatten([tree[k] for k in keys])
        return leaves, lambda values: dict(zip(keys, rebuild_values(values)))
    if tree is None:
        return [], lambda leaves: None
    return [tree], lambda leaves: leaves[0]


def scan(fn: Callable, init, xs, reverse: bool = False):
    leaves, rebuild = _flatten(xs)
    length = leaves[0].shape[0]
    carry, ys = init, [None] * length
    for t in (reversed(range(length)) if reverse else range(length)):
        carry, ys[t] = fn(carry, rebuild([leaf[t] for leaf in leaves]))
    if length == 0 or ys[0] is None:
        return carry, None
    flat = [_flatten(y)[0] for y in ys]
    _, rebuild_y = _flatten(ys[0])
    return carry, rebuild_y([torch.stack(column) for column in zip(*flat)])


# --- Keras's masked recurrence ----------------------------------------------------------------
def _keep(mask_t, like):
    return mask_t.reshape(mask_t.shape[:1] + (1,) * (like.ndim - 1))


def rnn(step_fn: Callable, inputs, initial_states, mask=None, go_backwards: bool = False,
        zero_output_for_mask: bool = False):
    leaves, rebuild = _flatten(inputs)
    xs = rebuild([leaf.transpose(0, 1) for leaf in leaves])
    states = tuple(initial_states)

    if mask is None:
        def body(carry, x):
            out, new = step_fn(x, carry)
            return tuple(new), out
        final, outs = scan(body, states, xs, reverse=go_backwards)
    else:
        def body(carry, x_m):
            x, m = x_m
            out, new = step_fn(x, carry)
            new = tuple(torch.where(_keep(m, n), n, s) for n, s in zip(new, carry))
            held = torch.zeros_like(out) if zero_output_for_mask else carry[0]
            return new, torch.where(_keep(m, out), out, held)
        steps = torch.as_tensor(mask, device=leaves[0].device).to(torch.bool).transpose(0, 1)
        final, outs = scan(body, states, (xs, steps), reverse=go_backwards)
    if go_backwards:
        outs = torch.flip(outs, (0,))
    outputs = outs.transpose(0, 1)
    return outputs[:, -1], outputs, final


# --- fused LSTM / GRU -------------------------------------------------------------------------
def _right_padded_lengths(mask, steps: int):
    """Per-row lengths (a CPU tensor) if every row is True then False with at least one True,
    else None. Reads the mask on the host: packing needs the lengths there anyway."""
    m = torch.as_tensor(mask).detach().to("cpu", torch.bool)
    lengths = m.sum(1)
    if bool((lengths < 1).any()) or not bool(
            (m == (torch.arange(steps) < lengths[:, None])).all()):
        return None
    return lengths


def _fused(run: Callable, inputs, states: tuple, mask, go_backwards: bool,
           zero_output_for_mask: bool):
    """Run a fused kernel `run(x, states or packed) -> (outputs, final states)` with Keras's
    go_backwards and right-padded-mask semantics; None when the mask is not right-padded."""
    batch, steps = inputs.shape[0], inputs.shape[1]
    if mask is None:
        x = torch.flip(inputs, (1,)) if go_backwards else inputs
        return run(x, states, None)
    if tracing():  # no host read inside a captured step: the step loop handles any mask
        return None
    lengths = _right_padded_lengths(mask, steps)
    if lengths is None:
        return None
    device = inputs.device
    t = torch.arange(steps, device=device)[None, :]
    n = lengths.to(device)[:, None]
    if go_backwards:  # each row's valid part, reversed, then the padding it skipped
        inputs = torch.gather(inputs, 1, torch.where(t < n, n - 1 - t, t)[..., None].expand(
            -1, -1, inputs.shape[2]))
    outputs, final = run(inputs, states, lengths)
    if go_backwards:  # Keras meets the masked (padding) steps first: they hold the initial h
        outputs = torch.gather(outputs, 1, torch.clamp(t - (steps - n), min=0)[..., None].expand(
            -1, -1, outputs.shape[2]))
        valid, held = t >= steps - n, states[0]
    else:
        valid, held = t < n, final[0]
    held = torch.zeros_like(held) if zero_output_for_mask else held
    outputs = torch.where(valid[..., None], outputs, held[:, None, :].expand(batch, steps, -1))
    return outputs, final


def _kernel(vf_fn: Callable, params: list, has_bias: bool):
    """A `run(x, states, lengths)` over torch._VF.lstm / torch._VF.gru, batch-first."""
    def run(x, states, lengths):
        hx = tuple(s[None] for s in states)
        hx = hx if len(hx) > 1 else hx[0]
        train = torch.is_grad_enabled()
        if lengths is None:
            out = vf_fn(x, hx, params, has_bias, 1, 0.0, train, False, True)
            return out[0], tuple(s[0] for s in out[1:])
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        order = packed.sorted_indices
        hx = tuple(s.index_select(1, order) for s in hx) if len(states) > 1 \
            else hx.index_select(1, order)
        out = vf_fn(packed.data, packed.batch_sizes, hx, params, has_bias, 1, 0.0, train, False)
        data = PackedSequence(out[0], packed.batch_sizes, order, packed.unsorted_indices)
        outputs, _ = pad_packed_sequence(data, batch_first=True, total_length=x.shape[1])
        return outputs, tuple(s[0].index_select(0, packed.unsorted_indices) for s in out[1:])
    return run


def lstm(inputs, h, c, kernel, recurrent_kernel, bias=None, mask=None,
         go_backwards: bool = False, zero_output_for_mask: bool = False):
    # Keras's gate order i, f, c, o is torch's i, f, g, o: the weights only need transposing.
    params = [kernel.t().contiguous(), recurrent_kernel.t().contiguous()]
    if bias is not None:
        params += [bias, torch.zeros_like(bias)]
    result = None
    # torch.compile cannot compile the CPU's fused LSTM op (oneDNN's); it fuses the loop instead.
    if not (tracing() == "jit" and inputs.device.type == "cpu"):
        result = _fused(_kernel(torch._VF.lstm, params, bias is not None), inputs, (h, c), mask,
                        go_backwards, zero_output_for_mask)
    if result is not None:
        outputs, (h, c) = result
        return outputs, h, c

    projected = torch.matmul(inputs, kernel)
    if bias is not None:
        projected = projected + bias

    def step(x, states):
        h_prev, c_prev = states
        i, f, g, o = torch.chunk(x + torch.matmul(h_prev, recurrent_kernel), 4, dim=-1)
        c_new = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        return h_new, (h_new, c_new)

    _, outputs, (h, c) = rnn(step, projected, (h, c), mask, go_backwards, zero_output_for_mask)
    return outputs, h, c


def _gru_to_torch(w):
    """Keras's gate blocks z, r, h on the last axis -> torch's r, z, n on the first."""
    z, r, n = torch.chunk(w, 3, dim=-1)
    return torch.cat([r, z, n], dim=-1).t().contiguous() if w.ndim == 2 else torch.cat([r, z, n])


def gru(inputs, h, kernel, recurrent_kernel, bias=None, mask=None,
        go_backwards: bool = False, zero_output_for_mask: bool = False):
    params = [_gru_to_torch(kernel), _gru_to_torch(recurrent_kernel)]
    if bias is not None:
        params += [_gru_to_torch(bias[0]), _gru_to_torch(bias[1])]
    result = _fused(_kernel(torch._VF.gru, params, bias is not None), inputs, (h,), mask,
                    go_backwards, zero_output_for_mask)
    if result is not None:
        outputs, (h,) = result
        return outputs, h

    projected = torch.matmul(inputs, kernel)
    if bias is not None:
        projected = projected + bias[0]

    def step(x, states):
        (h_prev,) = states
        inner = torch.matmul(h_prev, recurrent_kernel)
        if bias is not None:
            inner = inner + bias[1]
        x_z, x_r, x_h = torch.chunk(x, 3, dim=-1)
        r_z, r_r, r_h = torch.chunk(inner, 3, dim=-1)
        z = torch.sigmoid(x_z + r_z)
        r = torch.sigmoid(x_r + r_r)
        h_new = z * h_prev + (1 - z) * torch.tanh(x_h + r * r_h)
        return h_new, (h_new,)

    _, outputs, (h,) = rnn(step, projected, (h,), mask, go_backwards, zero_output_for_mask)
    return outputs, h
