"""Control flow, segment and scatter ops on JAX (the backend contract's control group).

Every op here is one lax primitive (lax.cond, lax.switch, lax.while_loop, lax.map, jax.vmap,
lax.associative_scan, jax.custom_gradient, jax.ops.segment_*, `.at[]` updates), so it runs the
same eagerly and inside a jitted step: one compiled branch or loop, never a Python one.
A while_loop with an int `maximum_iterations` is a fixed-length loop (lax.scan underneath), so
reverse-mode gradients go through it; lax.while_loop, used without one, has none.
"""

from __future__ import annotations

import inspect
from typing import Callable

import jax
import jax.numpy as jnp

from nhanh.backend.rearrange_plan import plan


def _plain(x):
    """A Variable's value (custom_gradient's arguments must be arrays for jax)."""
    from nhanh.variables import Variable  # above the backend layer: imported when called

    return x.value if isinstance(x, Variable) else x


# --- branches and loops ------------------------------------------------------------------------
def cond(pred, true_fn: Callable, false_fn: Callable):
    return jax.lax.cond(pred, true_fn, false_fn)


def switch(index, branches, *operands):
    return jax.lax.switch(index, list(branches), *operands)  # lax clamps the index


def while_loop(cond: Callable, body: Callable, loop_vars, maximum_iterations=None):
    is_sequence = isinstance(loop_vars, (list, tuple))
    kind = type(loop_vars)

    def call(fn, values):
        return fn(*values) if is_sequence else fn(values)

    def restore(values):  # body may return a list for a tuple: keep the carry's structure
        return kind(values) if is_sequence else values

    if maximum_iterations is None:
        return jax.lax.while_loop(lambda v: call(cond, v), lambda v: restore(call(body, v)),
                                  loop_vars)
    _check_maximum(maximum_iterations)
    if isinstance(maximum_iterations, int):
        # A fixed trip count lowers to lax.scan, which reverse-mode autodiff can go through
        # (lax.while_loop cannot). Once `cond` is false the values stop changing, so it stays
        # false: the remaining trips only carry them.
        def trip(_, values):
            return jax.lax.cond(call(cond, values), lambda v: restore(call(body, v)),
                                lambda v: v, values)

        return jax.lax.fori_loop(0, maximum_iterations, trip, loop_vars)
    _, final = jax.lax.while_loop(
        lambda c: jnp.logical_and(c[0] < maximum_iterations, call(cond, c[1])),
        lambda c: (c[0] + 1, restore(call(body, c[1]))), (jnp.asarray(0), loop_vars))
    return final


def _check_maximum(maximum_iterations) -> None:
    if isinstance(maximum_iterations, int) and maximum_iterations < 0:
        raise ValueError(f"while_loop: `maximum_iterations` must be a non-negative int or None, "
                         f"got {maximum_iterations}.")


def map(f: Callable, xs):  # noqa: A001  (keras.ops' name)
    return jax.lax.map(f, xs)


def vectorized_map(function: Callable, elements):
    return jax.vmap(function)(elements)


def associative_scan(f: Callable, elems, reverse: bool = False, axis: int = 0):
    return jax.lax.associative_scan(f, elems, reverse=reverse, axis=axis)


def custom_gradient(f: Callable) -> Callable:
    def forward(*args, **kwargs):
        output, grad_fn = f(*args, **kwargs)
        return output, _adapt_grad(grad_fn, args)

    wrapped = jax.custom_gradient(forward)

    def call(*args, **kwargs):
        return wrapped(*[_plain(a) for a in args], **kwargs)

    return call


def _adapt_grad(grad_fn: Callable, args: tuple) -> Callable:
    """grad_fn called in whichever of Keras's conventions it was written for: `grad(upstream)`
    (JAX, TensorFlow), `grad(*args, upstream)` (PyTorch) or the portable
    `grad(*args, upstream=None)`; its result as one cotangent per argument."""
    try:
        params = inspect.signature(grad_fn).parameters
    except (TypeError, ValueError):
        params = {}
    keyword = "upstream" in params and params["upstream"].kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    takes_args = any(p.kind == inspect.Parameter.VAR_POSITIONAL or (
        p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        and name != "upstream") for name, p in params.items())

    def rule(upstream):
        if keyword:
            grads = grad_fn(*(args if takes_args else ()), upstream=upstream)
        else:
            grads = grad_fn(upstream)
        if isinstance(grads, list):
            grads = tuple(grads)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != len(args):
            raise ValueError(f"custom_gradient: the gradient function returned {len(grads)} "
                             f"gradients for {len(args)} arguments; return one per argument "
                             "of the decorated function, in order.")
        return grads

    return rule


# --- segment reductions ------------------------------------------------------------------------
def _segments(data, segment_ids, num_segments, name: str):
    data, ids = jnp.asarray(data), jnp.asarray(segment_ids)
    if num_segments is None and isinstance(ids, jax.core.Tracer):
        raise ValueError(f"{name}: inside a compiled function `num_segments` must be given "
                         "(it sets the output's shape, which cannot depend on the values of "
                         "`segment_ids`). Pass num_segments=<number of segments>.")
    if ids.ndim > 1:  # N-D ids label the leading ids.ndim axes of data together
        data = data.reshape((-1,) + data.shape[ids.ndim:])
        ids = ids.reshape(-1)
    return data, ids


def segment_sum(data, segment_ids, num_segments=None, sorted: bool = False):
    data, ids = _segments(data, segment_ids, num_segments, "segment_sum")
    return jax.ops.segment_sum(data, ids, num_segments, indices_are_sorted=sorted)


def segment_max(data, segment_ids, num_segments=None, sorted: bool = False):
    data, ids = _segments(data, segment_ids, num_segments, "segment_max")
    return jax.ops.segment_max(data, ids, num_segments, indices_are_sorted=sorted)


def segment_min(data, segment_ids, num_segments=None, sorted: bool = False):
    data, ids = _segments(data, segment_ids, num_segments, "segment_min")
    return jax.ops.segment_min(data, ids, num_segments, indices_are_sorted=sorted)


def segment_prod(data, segment_ids, num_segments=None, sorted: bool = False):
    data, ids = _segments(data, segment_ids, num_segments, "segment_prod")
    return jax.ops.segment_prod(data, ids, num_segments, indices_are_sorted=sorted)


# --- scatter -----------------------------------------------------------------------------------
def _index(indices):
    indices = jnp.asarray(indices)
    return tuple(jnp.moveaxis(indices, -1, 0))


def scatter(indices, values, shape):
    values = jnp.asarray(values)
    return jnp.zeros(tuple(shape), values.dtype).at[_index(indices)].add(values)


_REDUCTIONS = {None: "set", "add": "add", "max": "max", "min": "min", "mul": "multiply"}


def scatter_update(inputs, indices, updates, reduction=None):
    method = _reduction(reduction)
    inputs = jnp.asarray(inputs)
    updates = jnp.asarray(updates, inputs.dtype)
    return getattr(inputs.at[_index(indices)], method)(updates)


def _reduction(reduction) -> str:
    key = reduction.lower() if isinstance(reduction, str) else reduction
    if key not in _REDUCTIONS:
        raise ValueError(f"scatter_update: `reduction` must be None, 'add', 'max', 'min' or "
                         f"'mul', got {reduction!r}.")
    return _REDUCTIONS[key]


# --- the rest of the group ---------------------------------------------------------------------
def in_top_k(targets, predictions, k: int):
    predictions = jnp.asarray(predictions)
    targets = jnp.asarray(targets).astype("int32")
    at_target = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_target = jnp.where(jnp.isnan(at_target), -jnp.inf, at_target)  # NaN is never top
    rank = jnp.sum(predictions > at_target, axis=-1)  # ties count in the target's favour
    return rank < k


def extract_sequences(x, sequence_length: int, sequence_stride: int):
    x = jnp.asarray(x)
    frames = (x.shape[-1] - sequence_length) // sequence_stride + 1
    if frames < 1:
        raise ValueError(f"extract_sequences: the last axis of x ({x.shape[-1]}) is shorter "
                         f"than sequence_length={sequence_length}; pad x or use shorter "
                         "sequences.")
    starts = jnp.arange(frames)[:, None] * sequence_stride
    return x[..., starts + jnp.arange(sequence_length)[None, :]]


def unique(x, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis=None, size=None, fill_value=None):
    x = jnp.asarray(x)
    if size is None and isinstance(x, jax.core.Tracer):
        raise ValueError("unique: inside a compiled function `size` must be given (the number "
                         "of unique values sets the output's shape). Pass size=<upper bound> "
                         "and, if you like, fill_value=<padding>.")
    values, index, inverse, counts = jnp.unique(
        x, return_index=True, return_inverse=True, return_counts=True, axis=axis,
        equal_nan=False, size=size, fill_value=None if size is None else (fill_value or 0))
    if size is not None:  # padding entries: index 0 and count 0 on both engines
        index = jnp.where(counts > 0, index, 0)
    wanted = [values] + [a for a, keep in ((index, return_index), (inverse, return_inverse),
                                           (counts, return_counts)) if keep]
    return wanted[0] if len(wanted) == 1 else tuple(wanted)


def rearrange(tensor, pattern: str, **axes_lengths):
    tensor = jnp.asarray(tensor)
    elementary, order, final = plan(pattern, tensor.shape, axes_lengths)
    return jnp.transpose(tensor.reshape(elementary), order).reshape(final)
