"""Control flow, segment and scatter ops on PyTorch (the backend contract's control group).

Eagerly, branches and loops are Python: the predicate is read on the host, which costs one
synchronisation and nothing else (torch.cond run eagerly compiles its branches through
torch._dynamo, a second or more per call). While a step is being captured as a graph
(capture.py), `cond` and `switch` use torch.cond instead: the graph keeps both branches and
picks one at replay, and gradients flow through it. torch.cond reads its branches through
torch._dynamo, which cannot follow a closure over an nhanh Variable (or a layer that holds
one): branches should close over tensors (`scale = ops.convert_to_tensor(self.scale)` before
the cond), else the step runs eagerly, correct, with capture's warning. (Calling the cond
operator without dynamo drops the gradients of closed-over tensors, so it is no way out.)
`while_loop` stays a Python loop there too:
PyTorch's while_loop operator gives wrong gradients in the versions tested (2.13: the gradient
of only the last iteration), so reading the predicate makes that step run eagerly, correct and
with capture's one warning. `map` is a Python loop (unrolled in a captured graph),
`vectorized_map` is torch.vmap, `custom_gradient` a torch.autograd.Function.
"""

from __future__ import annotations

import inspect
from typing import Callable

import torch

from nhanh.backend.rearrange_plan import plan
from nhanh.backend.torch import recording
from nhanh.backend.torch.capture import tracing
from nhanh.backend.torch.core import convert_to_tensor
from nhanh.backend.torch.rnn import _flatten


def _plain(x):
    from nhanh.variables import Variable  # above the backend layer: imported when called

    return x.value if isinstance(x, Variable) else x


# --- branches and loops ------------------------------------------------------------------------
def cond(pred, true_fn: Callable, false_fn: Callable):
    if isinstance(pred, torch.Tensor) and tracing() is not None:
        if recording.active():  # a real run would take one branch: make_fx records both
            raise recording.Refused("ops.cond on a tensor")
        return torch.cond(pred.reshape(()).to(torch.bool), lambda: true_fn(),
                          lambda: false_fn(), ())
    return true_fn() if bool(pred) else false_fn()


def switch(index, branches, *operands):
    branches = list(branches)
    if isinstance(index, torch.Tensor) and tracing() is not None:
        if recording.active():
            raise recording.Refused("ops.switch on a tensor")
        index = index.reshape(())

        def pick(first: int):
            if first == len(branches) - 1:
                return branches[first](*operands)
            return torch.cond(index <= first, lambda: branches[first](*operands),
                              lambda: pick(first + 1), ())
        return pick(0)
    chosen = min(max(int(index), 0), len(branches) - 1)  # Keras clamps the index
    return branches[chosen](*operands)


def while_loop(cond: Callable, body: Callable, loop_vars, maximum_iterations=None):
    if maximum_iterations is not None and maximum_iterations < 0:
        raise ValueError(f"while_loop: `maximum_iterations` must be a non-negative int or None, "
                         f"got {maximum_iterations}.")
    is_sequence = isinstance(loop_vars, (list, tuple))
    kind = type(loop_vars)
    values, steps = loop_vars, 0
    while maximum_iterations is None or steps < maximum_iterations:
        if not bool(cond(*values) if is_sequence else cond(values)):
            break
        values = body(*values) if is_sequence else body(values)
        if is_sequence:
            values = kind(values)
        steps += 1
    return values


def map(f: Callable, xs):  # noqa: A001  (keras.ops' name)
    leaves, rebuild = _flatten(xs)
    outs = [f(rebuild([leaf[i] for leaf in leaves])) for i in range(leaves[0].shape[0])]
    flat = [_flatten(out)[0] for out in outs]
    return _flatten(outs[0])[1]([torch.stack(column) for column in zip(*flat)])


def vectorized_map(function: Callable, elements):
    return torch.vmap(function)(elements)


def associative_scan(f: Callable, elems, reverse: bool = False, axis: int = 0):
    leaves, rebuild = _flatten(elems)
    leaves = [convert_to_tensor(leaf) for leaf in leaves]
    axis = axis % leaves[0].ndim
    if reverse:
        leaves = [torch.flip(leaf, (axis,)) for leaf in leaves]

    def combine(a: list, b: list) -> list:  # reversed, the later element goes left (as JAX)
        return _flatten(f(rebuild(a), rebuild(b)))[0]

    out = _prefix(combine, leaves, axis)
    if reverse:
        out = [torch.flip(leaf, (axis,)) for leaf in out]
    return rebuild(out)


def _prefix(combine: Callable, leaves: list, axis: int) -> list:
    """Inclusive prefix combination of `leaves` along `axis` in O(log n) sequential rounds:
    combine neighbouring pairs, recurse on the pairs (giving the odd positions), then fill in
    the even positions from them."""
    n = leaves[0].shape[axis]
    if n < 2:
        return leaves

    def part(x, start, stop=None, step=1):
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, stop, step)
        return x[tuple(index)]

    odd = _prefix(combine, combine([part(x, 0, -1, 2) for x in leaves],
                                   [part(x, 1, None, 2) for x in leaves]), axis)
    tail = [part(x, 2, None, 2) for x in leaves]
    if tail[0].shape[axis]:
        heads = [part(o, 0, tail[0].shape[axis]) for o in odd]
        even = [torch.cat([part(x, 0, 1), e], axis)
                for x, e in zip(leaves, combine(heads, tail))]
    else:
        even = [part(x, 0, 1) for x in leaves]
    out = []
    for e, o in zip(even, odd):  # interleave: e0 o0 e1 o1 ...
        pairs = torch.stack([part(e, 0, o.shape[axis]), o], axis + 1)
        merged = pairs.flatten(axis, axis + 1)
        out.append(torch.cat([merged, part(e, o.shape[axis])], axis)
                   if e.shape[axis] > o.shape[axis] else merged)
    return out


def custom_gradient(f: Callable) -> Callable:
    def call(*args, **kwargs):
        args = [convert_to_tensor(_plain(a)) for a in args]
        box: list = []  # the output's structure, which apply() flattens to a tuple
        result = _CustomGradient.apply(f, kwargs, box, *args)
        return box[0](list(result)) if isinstance(result, tuple) else result

    return call


class _CustomGradient(torch.autograd.Function):
    """f(*args) -> (output, grad_fn) with grad_fn as the backward pass."""

    @staticmethod
    def forward(ctx, f, kwargs, box, *args):
        output, grad_fn = f(*args, **kwargs)
        ctx.grad_fn = grad_fn
        ctx.save_for_backward(*args)
        if isinstance(output, torch.Tensor):
            ctx.rebuild = None
            return output
        leaves, ctx.rebuild = _flatten(output)
        box.append(ctx.rebuild)
        return tuple(leaves)

    @staticmethod
    def backward(ctx, *upstream):
        up = upstream[0] if ctx.rebuild is None else ctx.rebuild(list(upstream))
        grads = _call_grad(ctx.grad_fn, ctx.saved_tensors, up)
        return (None, None, None) + grads


def _call_grad(grad_fn: Callable, args: tuple, upstream) -> tuple:
    """grad_fn in whichever of Keras's conventions it was written for (see jax/control.py):
    `grad(upstream)`, `grad(*args, upstream)` or `grad(*args, upstream=None)`."""
    try:
        params = inspect.signature(grad_fn).parameters
    except (TypeError, ValueError):
        params = {}
    if "upstream" in params and params["upstream"].kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
        takes_args = any(p.kind == inspect.Parameter.VAR_POSITIONAL or (
            p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                       inspect.Parameter.POSITIONAL_OR_KEYWORD) and name != "upstream")
            for name, p in params.items())
        grads = grad_fn(*(args if takes_args else ()), upstream=upstream)
    else:
        grads = grad_fn(upstream)
    grads = tuple(grads) if isinstance(grads, (list, tuple)) else (grads,)
    if len(grads) != len(args):
        raise ValueError(f"custom_gradient: the gradient function returned {len(grads)} "
                         f"gradients for {len(args)} arguments; return one per argument of "
                         "the decorated function, in order.")
    return grads


# --- segment reductions ------------------------------------------------------------------------
def _segment(data, segment_ids, num_segments, reduce: str, name: str):
    data = convert_to_tensor(data)
    ids = convert_to_tensor(segment_ids).to(torch.int64)
    if ids.ndim > 1:  # N-D ids label the leading ids.ndim axes of data together
        data = data.reshape((-1,) + tuple(data.shape[ids.ndim:]))
        ids = ids.reshape(-1)
    if ids.shape[0] != data.shape[0]:
        raise ValueError(f"{name}: `segment_ids` labels {ids.shape[0]} rows but data has "
                         f"{data.shape[0]}; give one id per row of data.")
    if num_segments is None:  # reads the ids on the host: a captured step runs eagerly
        num_segments = int(ids.max()) + 1 if ids.numel() else 0
    num_segments = int(num_segments)
    # out-of-range ids (negative ones too) go to an extra row that is dropped at the end
    ids = torch.where((ids >= 0) & (ids < num_segments), ids, num_segments)
    rest = tuple(data.shape[1:])
    out = torch.full((num_segments + 1,) + rest, _identity(reduce, data.dtype),
                     dtype=data.dtype, device=data.device)
    index = ids.reshape((-1,) + (1,) * len(rest)).expand(data.shape)
    return out.scatter_reduce(0, index, data, reduce, include_self=True)[:num_segments]


def _identity(reduce: str, dtype: torch.dtype):
    if reduce == "sum":
        return 0
    if reduce == "prod":
        return 1
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    if dtype.is_floating_point:  # empty segments: -inf / inf, as jax.ops.segment_max / min
        return -float("inf") if reduce == "amax" else float("inf")
    return info.min if reduce == "amax" else info.max


def segment_sum(data, segment_ids, num_segments=None, sorted: bool = False):
    return _segment(data, segment_ids, num_segments, "sum", "segment_sum")


def segment_max(data, segment_ids, num_segments=None, sorted: bool = False):
    return _segment(data, segment_ids, num_segments, "amax", "segment_max")


def segment_min(data, segment_ids, num_segments=None, sorted: bool = False):
    return _segment(data, segment_ids, num_segments, "amin", "segment_min")


def segment_prod(data, segment_ids, num_segments=None, sorted: bool = False):
    return _segment(data, segment_ids, num_segments, "prod", "segment_prod")


# --- scatter -----------------------------------------------------------------------------------
def _index(indices):
    return tuple(convert_to_tensor(indices).to(torch.int64).unbind(-1))


def scatter(indices, values, shape):
    values = convert_to_tensor(values)
    zeros = torch.zeros(tuple(shape), dtype=values.dtype, device=values.device)
    return zeros.index_put(_index(indices), values, accumulate=True)


_REDUCTIONS = {None: None, "add": "add", "max": "amax", "min": "amin", "mul": "prod"}


def scatter_update(inputs, indices, updates, reduction=None):
    key = reduction.lower() if isinstance(reduction, str) else reduction
    if key not in _REDUCTIONS:
        raise ValueError(f"scatter_update: `reduction` must be None, 'add', 'max', 'min' or "
                         f"'mul', got {reduction!r}.")
    inputs = convert_to_tensor(inputs)
    updates = convert_to_tensor(updates).to(inputs.dtype)
    index = _index(indices)
    if key in (None, "add"):
        return inputs.index_put(index, updates, accumulate=key == "add")
    # max / min / mul: flatten the indexed axes into one, then scatter_reduce along it
    k = len(index)
    lead, rest = tuple(inputs.shape[:k]), tuple(inputs.shape[k:])
    flat = torch.zeros_like(index[0])
    for i, size in zip(index, lead):
        flat = flat * size + i % size  # negative indices count from the end, as in NumPy
    updates = updates.reshape((-1,) + rest)
    target = flat.reshape((-1,) + (1,) * len(rest)).expand(updates.shape)
    out = inputs.reshape((-1,) + rest).scatter_reduce(0, target, updates, _REDUCTIONS[key])
    return out.reshape(inputs.shape)


# --- the rest of the group ---------------------------------------------------------------------
def in_top_k(targets, predictions, k: int):
    predictions = convert_to_tensor(predictions)
    targets = convert_to_tensor(targets).to(torch.int64)
    at_target = torch.take_along_dim(predictions, targets[..., None], dim=-1)
    at_target = torch.where(torch.isnan(at_target), -torch.inf, at_target)  # NaN is never top
    rank = torch.sum(predictions > at_target, dim=-1)  # ties count in the target's favour
    return rank < k


def extract_sequences(x, sequence_length: int, sequence_stride: int):
    x = convert_to_tensor(x)
    if x.shape[-1] < sequence_length:
        raise ValueError(f"extract_sequences: the last axis of x ({x.shape[-1]}) is shorter "
                         f"than sequence_length={sequence_length}; pad x or use shorter "
                         "sequences.")
    return x.unfold(-1, sequence_length, sequence_stride).contiguous()


def unique(x, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis=None, size=None, fill_value=None):
    """Always sorted (a valid order for sorted=False too), as on JAX. Reads the number of
    unique values on the host, so a captured step that calls it runs eagerly."""
    x = convert_to_tensor(x)
    flat = x.reshape(-1) if axis is None else x
    dim = 0 if axis is None else axis % x.ndim
    values, inverse, counts = torch.unique(flat, sorted=True, return_inverse=True,
                                           return_counts=True, dim=None if axis is None else dim)
    found, length = values.shape[dim], flat.shape[dim]
    positions = torch.arange(length, device=x.device)
    index = torch.full((found,), length, dtype=torch.int64, device=x.device).scatter_reduce(
        0, inverse, positions, "amin")  # the first occurrence of each unique value
    if axis is None:
        inverse = inverse.reshape(x.shape)
    if size is not None:
        if found >= size:
            values, index, counts = values.narrow(dim, 0, size), index[:size], counts[:size]
        else:
            pad = list(values.shape)
            pad[dim] = size - found
            filler = torch.full(pad, fill_value or 0, dtype=values.dtype, device=x.device)
            values = torch.cat([values, filler], dim)
            zeros = torch.zeros(size - found, dtype=torch.int64, device=x.device)
            index, counts = torch.cat([index, zeros]), torch.cat([counts, zeros])
    wanted = [values] + [a.to(torch.int32) for a, keep in (
        (index, return_index), (inverse, return_inverse), (counts, return_counts)) if keep]
    return wanted[0] if len(wanted) == 1 else tuple(wanted)


def rearrange(tensor, pattern: str, **axes_lengths):
    tensor = convert_to_tensor(tensor)
    elementary, order, final = plan(pattern, tuple(tensor.shape), axes_lengths)
    return tensor.reshape(elementary).permute(order).reshape(final)
