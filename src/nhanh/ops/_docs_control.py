"""Documentation stubs of the control ops (see _docs.py: never called)."""

# The stub named `map` shadows the builtin on purpose: it carries keras.ops' name.

from __future__ import annotations


def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()`, as one branch op inside compiled steps.

    On JAX this is `lax.cond`; on PyTorch, a Python `if` eagerly and `torch.cond` while a
    step is captured as a graph, so neither engine leaves its compiled path.

    Args:
        pred: A boolean scalar (tensor or Python bool).
        true_fn: Callable without arguments, run when `pred` is true.
        false_fn: Callable without arguments, run otherwise; it must return the same
            structure, shapes and dtypes as `true_fn`.

    Returns:
        The output of the branch taken.
    """


def switch(index, branches, *operands):
    """`branches[index](*operands)`, with `index` clamped to the valid range.

    Args:
        index: An integer scalar (tensor or Python int).
        branches: A sequence of callables returning the same structure, shapes and dtypes.
        *operands: The arguments passed to the chosen branch.

    Returns:
        The chosen branch's output.
    """


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """`loop_vars = body(loop_vars)` while `cond(loop_vars)`; one compiled loop on JAX.

    On PyTorch the predicate is read on the host each iteration, so a captured step that
    contains a while_loop runs eagerly (capture warns once). On JAX, gradients through the
    loop need an int `maximum_iterations` (it then runs as that many cheap trips).

    Args:
        cond: Callable returning a boolean scalar; a tuple or list of `loop_vars` is passed
            as separate positional arguments.
        body: Callable returning the new `loop_vars`, same structure, shapes and dtypes;
            called like `cond`.
        loop_vars: A tensor or a nested structure of tensors, the loop's state.
        maximum_iterations: Optional int: stop after this many iterations even if `cond`
            still holds (on JAX it also makes the loop differentiable in reverse mode).

    Returns:
        The final `loop_vars`, in the structure given.
    """


def map(f, xs):
    """`stack([f(x) for x in xs])`: `f` applied in turn along the leading axis of `xs`.

    Sequential (less memory than `vectorized_map`); `lax.map` on JAX.

    Args:
        f: Callable taking one slice of `xs` (same nesting) and returning a tensor or a
            nested structure of tensors.
        xs: A tensor or a nested structure of tensors sharing their leading axis.

    Returns:
        `f`'s outputs stacked along a new leading axis, in `f`'s output structure.
    """


def vectorized_map(function, elements):
    """`function` applied to every slice of `elements` along axis 0, in parallel
    (`jax.vmap`, `torch.vmap`).

    Args:
        function: Callable taking one slice; when `elements` is a list or tuple it takes
            one list / tuple of slices.
        elements: A tensor or a nested structure of tensors sharing their leading axis.

    Returns:
        `function`'s outputs stacked along a new leading axis.
    """


def associative_scan(f, elems, reverse=False, axis=0):
    """The inclusive scan `[e0, f(e0, e1), f(f(e0, e1), e2), ...]` along `axis` in
    O(log n) parallel rounds; `f` must be associative.

    Args:
        f: Associative callable `f(a, b)` on slices of `elems` (same nesting) that keep
            the `axis` dimension; applied elementwise along it.
        elems: A tensor or a nested structure of tensors of the same size along `axis`.
        reverse: If True, scan from the end: element k combines elements k..n-1.
        axis: Int, the axis scanned.

    Returns:
        The scan, in the structure and shapes of `elems`.
    """


def custom_gradient(f):
    """Decorator: a function whose gradient is the one `f` gives, not autodiff's.

    `f(*args)` returns `(output, grad_fn)`. `grad_fn` may be written in any of Keras's
    conventions: `grad_fn(upstream)` (JAX style), `grad_fn(*args, upstream)` (PyTorch style)
    or the portable `grad_fn(*args, upstream=None)`; it returns one gradient per argument.
    `jax.custom_gradient` on JAX, a `torch.autograd.Function` on PyTorch.

    Args:
        f: Callable `f(*args) -> (output, grad_fn)`; `args` are the tensors the gradient
            is taken with respect to.

    Returns:
        A function with `f`'s arguments returning `output`.
    """


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sums of the rows of `data` that share a segment id; 0 for an empty segment.

    Args:
        data: Input tensor.
        segment_ids: Int tensor labelling the leading `segment_ids.ndim` axes of `data`;
            ids outside `[0, num_segments)` are dropped.
        num_segments: Int, the number of segments (the output's first axis). `None` reads
            `max(segment_ids) + 1` on the host, which a compiled step cannot do: pass it
            there.
        sorted: Whether `segment_ids` is sorted (a hint for JAX; the result is the same).

    Returns:
        A tensor of shape `(num_segments, *data.shape[segment_ids.ndim:])`.
    """


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """Maxima of the rows of `data` that share a segment id; -inf (or the dtype's minimum)
    for an empty segment.

    Args:
        data: Input tensor.
        segment_ids: Int tensor labelling the leading `segment_ids.ndim` axes of `data`;
            ids outside `[0, num_segments)` are dropped.
        num_segments: Int, the number of segments; `None` means `max(segment_ids) + 1`
            (not inside compiled steps).
        sorted: Whether `segment_ids` is sorted (a hint for JAX).

    Returns:
        A tensor of shape `(num_segments, *data.shape[segment_ids.ndim:])`.
    """


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """Minima of the rows of `data` that share a segment id; inf (or the dtype's maximum)
    for an empty segment.

    Args:
        data: Input tensor.
        segment_ids: Int tensor labelling the leading `segment_ids.ndim` axes of `data`;
            ids outside `[0, num_segments)` are dropped.
        num_segments: Int, the number of segments; `None` means `max(segment_ids) + 1`
            (not inside compiled steps).
        sorted: Whether `segment_ids` is sorted (a hint for JAX).

    Returns:
        A tensor of shape `(num_segments, *data.shape[segment_ids.ndim:])`.
    """


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """Products of the rows of `data` that share a segment id; 1 for an empty segment.

    Args:
        data: Input tensor.
        segment_ids: Int tensor labelling the leading `segment_ids.ndim` axes of `data`;
            ids outside `[0, num_segments)` are dropped.
        num_segments: Int, the number of segments; `None` means `max(segment_ids) + 1`
            (not inside compiled steps).
        sorted: Whether `segment_ids` is sorted (a hint for JAX).

    Returns:
        A tensor of shape `(num_segments, *data.shape[segment_ids.ndim:])`.
    """


def scatter(indices, values, shape):
    """A zero tensor of `shape` with `values` added at `indices` (repeated indices add up).

    Args:
        indices: Int tensor of shape `(..., k)`, each row an index into the first `k`
            axes of the output.
        values: Tensor of shape `indices.shape[:-1] + shape[k:]`.
        shape: Tuple of ints, the output's shape.

    Returns:
        A tensor of `shape` with `values`' dtype.
    """


def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with `inputs[index] = update` for each row of `indices` (a new tensor).

    Args:
        inputs: The tensor to update.
        indices: Int tensor of shape `(..., k)`, each row an index into the first `k`
            axes of `inputs`.
        updates: Tensor of shape `indices.shape[:-1] + inputs.shape[k:]`.
        reduction: `None` (replace; the last of repeated indices wins), `"add"`, `"max"`,
            `"min"` or `"mul"` (combine with the value already there).

    Returns:
        A tensor of `inputs`' shape and dtype.
    """


def in_top_k(targets, predictions, k):
    """Whether each target's score is among the `k` largest of its row (ties count for
    the target; a NaN score never does).

    Args:
        targets: Int tensor of class indices, shape `(batch,)`.
        predictions: Float tensor of scores, shape `(batch, classes)`.
        k: Int, how many of the largest scores count.

    Returns:
        A bool tensor of shape `(batch,)`.
    """


def extract_sequences(x, sequence_length, sequence_stride):
    """Overlapping frames of the last axis of `x` (as for an STFT).

    Args:
        x: Tensor of shape `(..., length)`.
        sequence_length: Int, the length of each frame.
        sequence_stride: Int, the step between frame starts.

    Returns:
        A tensor of shape `(..., (length - sequence_length) // sequence_stride + 1,
        sequence_length)`.
    """


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    """The unique values of `x`, in ascending order on both engines.

    Args:
        x: Input tensor.
        sorted: Accepted for Keras; the result is sorted either way (a valid order for
            `sorted=False` too).
        return_index: Also return the index of each unique value's first occurrence.
        return_inverse: Also return, for each element (or slice along `axis`) of `x`, the
            index of its unique value, so that `values[inverse]` rebuilds `x`.
        return_counts: Also return how often each unique value occurs.
        axis: `None` flattens `x` first; an int finds the unique slices along that axis.
        size: Optional int: the output has exactly this many entries, truncated or padded
            with `fill_value` (index and count 0). Required inside compiled steps on JAX,
            where the output's shape cannot depend on the data.
        fill_value: The padding value with `size`; `None` means 0.

    Returns:
        The unique values, or a tuple of them and the arrays asked for, in the order
        values, index, inverse, counts (index, inverse and counts are int32).
    """


def rearrange(tensor, pattern, **axes_lengths):
    """Axes reordered, split and merged as an einops pattern says, e.g.
    `"b (h w) c -> b h w c"` (a reshape, a transpose and a reshape).

    Args:
        tensor: Input tensor.
        pattern: `"<input axes> -> <output axes>"`: names separated by spaces, a group in
            parentheses being one axis made of several; each name once on each side.
        **axes_lengths: The lengths of split axes (all but one name of each input group).

    Returns:
        The rearranged tensor.
    """
