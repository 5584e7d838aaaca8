"""Signatures and docstrings of the ops that nhanh.ops forwards to the current backend.

These functions are never called: `nhanh.ops` builds each forwarded op at import time and
copies the stub's docstring and signature onto it, so `help(nhanh.ops.sum)` shows the
arguments instead of `*args, **kwargs`. The signatures are the PyTorch backend's (nhanh's own
code on that engine); the JAX backend serves most names with jax.numpy itself, which accepts
more arguments, sometimes in a different positional order. The portable spelling is the one
the docstrings give: where the order differs, they say to pass the argument by keyword.
"""

# The stubs shadow builtins (sum, max, abs, ...) on purpose: they carry the ops' names.

from __future__ import annotations

# --- elementwise arithmetic -----------------------------------------------------------------


def add(x1, x2):
    """Elementwise `x1 + x2`, with numpy broadcasting.

    A Python scalar operand takes the other operand's dtype, as in numpy.

    Args:
        x1: First input tensor (or Python number).
        x2: Second input tensor (or Python number), broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape.
    """


def subtract(x1, x2):
    """Elementwise `x1 - x2`, with numpy broadcasting.

    Args:
        x1: Tensor to subtract from.
        x2: Tensor to subtract, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape.
    """


def multiply(x1, x2):
    """Elementwise `x1 * x2`, with numpy broadcasting.

    Args:
        x1: First input tensor (or Python number).
        x2: Second input tensor (or Python number), broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape.
    """


def divide(x1, x2):
    """Elementwise true division `x1 / x2`: integer inputs give a float result.

    Args:
        x1: Dividend tensor.
        x2: Divisor tensor, broadcast against `x1`.

    Returns:
        A floating-point tensor of the broadcast shape.
    """


def true_divide(x1, x2):
    """Another name for `divide`: elementwise `x1 / x2` with a float result.

    Args:
        x1: Dividend tensor.
        x2: Divisor tensor, broadcast against `x1`.

    Returns:
        A floating-point tensor of the broadcast shape.
    """


def floor_divide(x1, x2):
    """Elementwise `x1 // x2`, rounded towards minus infinity as in numpy.

    Args:
        x1: Dividend tensor.
        x2: Divisor tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape.
    """


def mod(x1, x2):
    """Elementwise remainder of `x1 / x2`, with the sign of the divisor (numpy's `mod`).

    Args:
        x1: Dividend tensor.
        x2: Divisor tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape.
    """


def power(x1, x2):
    """Elementwise `x1 ** x2`.

    Args:
        x1: Base tensor.
        x2: Exponent tensor (or Python number), broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape.
    """


def maximum(x1, x2):
    """Elementwise larger of two tensors (a NaN in either gives NaN).

    Args:
        x1: First input tensor.
        x2: Second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape.
    """


def minimum(x1, x2):
    """Elementwise smaller of two tensors (a NaN in either gives NaN).

    Args:
        x1: First input tensor.
        x2: Second input tensor, broadcast against `x1`.

    Returns:
        A tensor of the broadcast shape.
    """


# --- elementwise functions of one tensor ----------------------------------------------------


def negative(x):
    """Elementwise `-x`.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape and dtype.
    """


def abs(x):
    """Elementwise absolute value.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape and dtype.
    """


def absolute(x):
    """Another name for `abs`: elementwise absolute value.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape and dtype.
    """


def sign(x):
    """Elementwise sign: -1, 0 or 1.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape and dtype.
    """


def square(x):
    """Elementwise `x * x`.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape and dtype.
    """


def sqrt(x):
    """Elementwise square root (NaN for negative entries).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def rsqrt(x):
    """Elementwise `1 / sqrt(x)`, in one op (not in numpy; used by normalization layers).

    Args:
        x: Input tensor, floating point.

    Returns:
        A tensor of `x`'s shape and dtype.
    """


def exp(x):
    """Elementwise natural exponential.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def expm1(x):
    """Elementwise `exp(x) - 1`, accurate for `x` near 0.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def log(x):
    """Elementwise natural logarithm (`-inf` at 0, NaN below).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def log1p(x):
    """Elementwise `log(1 + x)`, accurate for `x` near 0.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def log2(x):
    """Elementwise base-2 logarithm.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def log10(x):
    """Elementwise base-10 logarithm.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def sin(x):
    """Elementwise sine, `x` in radians.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def cos(x):
    """Elementwise cosine, `x` in radians.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def tan(x):
    """Elementwise tangent, `x` in radians.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def tanh(x):
    """Elementwise hyperbolic tangent.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape, values in (-1, 1).
    """


def arctan(x):
    """Elementwise inverse tangent.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape, values in radians within (-pi/2, pi/2).
    """


def erf(x):
    """Elementwise Gauss error function (scipy's `erf`; numpy has none).

    Args:
        x: Input tensor, floating point.

    Returns:
        A tensor of `x`'s shape, values in [-1, 1].
    """


def floor(x):
    """Elementwise largest integer not above `x`.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape and dtype.
    """


def ceil(x):
    """Elementwise smallest integer not below `x`.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape and dtype.
    """


def round(x, decimals=0):
    """Elementwise rounding to `decimals` places, halves to even (as numpy).

    Args:
        x: Input tensor.
        decimals: Number of decimal places to keep; negative values round to tens,
            hundreds, ...

    Returns:
        A tensor of `x`'s shape and dtype.
    """


def clip(x, x_min=None, x_max=None):
    """Elementwise `x` limited to the range [`x_min`, `x_max`].

    Args:
        x: Input tensor.
        x_min: Lower bound (number or tensor); `None` means no lower bound.
        x_max: Upper bound (number or tensor); `None` means no upper bound.

    Returns:
        A tensor of `x`'s shape and dtype.
    """


def where(condition, x1=None, x2=None):
    """`x1` where `condition` is true, else `x2`, elementwise with broadcasting.

    With only `condition`, the indices of its true entries, as numpy's one-argument `where`
    (a data-dependent shape: avoid it inside compiled steps). Pass `x1` and `x2` by
    position: the JAX backend names them `x` and `y`.

    Args:
        condition: Boolean tensor (other dtypes are compared with 0).
        x1: Values taken where `condition` is true.
        x2: Values taken where `condition` is false.

    Returns:
        A tensor of the broadcast shape; with only `condition`, a tuple of index tensors,
        one per axis.
    """


# --- products -------------------------------------------------------------------------------


def matmul(x1, x2):
    """Matrix product with numpy's `matmul` rules (batched over leading axes).

    Args:
        x1: Tensor of shape (..., n, k), or (k,) for a vector.
        x2: Tensor of shape (..., k, m), or (k,) for a vector.

    Returns:
        A tensor of shape (..., n, m), with the vector axes dropped.
    """


def dot(x1, x2):
    """numpy's `dot`: a product over the last axis of `x1` and the second-to-last of `x2`.

    Scalars multiply elementwise; a 1-D `x2` contracts with `x1`'s last axis.

    Args:
        x1: First input tensor.
        x2: Second input tensor.

    Returns:
        A tensor with the contracted axes removed.
    """


def tensordot(x1, x2, axes=2):
    """Sum of products over the given axes of two tensors.

    Args:
        x1: First input tensor.
        x2: Second input tensor.
        axes: An int `n` contracts the last `n` axes of `x1` with the first `n` of `x2`;
            a pair of axis lists contracts those axes pairwise.

    Returns:
        A tensor of `x1`'s remaining axes followed by `x2`'s.
    """


def einsum(subscripts, *operands):
    """Einstein summation, as numpy's `einsum` (explicit `->` output recommended).

    Args:
        subscripts: Equation such as `"bij,bjk->bik"`.
        *operands: The input tensors, one per comma-separated term.

    Returns:
        A tensor shaped by the equation's output term.
    """


def outer(x1, x2):
    """Outer product of two vectors.

    Args:
        x1: Vector of length n.
        x2: Vector of length m.

    Returns:
        A tensor of shape (n, m).
    """


# --- reductions ---------------------------------------------------------------------------


def sum(x, axis=None, keepdims=False, dtype=None):
    """Sum of entries along `axis`.

    Args:
        x: Input tensor.
        axis: Axis or tuple of axes to sum over; `None` means all axes.
        keepdims: Keep the reduced axes with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `dtype`.
        dtype: Dtype of the accumulator and result; `None` means the engine's default
            (PyTorch sums integers in int64, JAX in their own width).

    Returns:
        The reduced tensor.
    """


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean along `axis`; integer inputs give a float result.

    Args:
        x: Input tensor.
        axis: Axis or tuple of axes to average over; `None` means all axes.
        keepdims: Keep the reduced axes with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `dtype`.

    Returns:
        The reduced tensor.
    """


def max(x, axis=None, keepdims=False):
    """Largest entry along `axis` (an empty reduction raises).

    Args:
        x: Input tensor.
        axis: Axis or tuple of axes to reduce; `None` means all axes.
        keepdims: Keep the reduced axes with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `out`.

    Returns:
        The reduced tensor, of `x`'s dtype.
    """


def min(x, axis=None, keepdims=False):
    """Smallest entry along `axis` (an empty reduction raises).

    Args:
        x: Input tensor.
        axis: Axis or tuple of axes to reduce; `None` means all axes.
        keepdims: Keep the reduced axes with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `out`.

    Returns:
        The reduced tensor, of `x`'s dtype.
    """


def prod(x, axis=None, keepdims=False):
    """Product of entries along `axis`.

    Args:
        x: Input tensor.
        axis: Axis or tuple of axes to reduce; `None` means all axes.
        keepdims: Keep the reduced axes with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `dtype`.

    Returns:
        The reduced tensor.
    """


def std(x, axis=None, keepdims=False):
    """Population standard deviation along `axis` (divides by N, numpy's `ddof=0`).

    Args:
        x: Input tensor, floating point.
        axis: Axis or tuple of axes to reduce; `None` means all axes.
        keepdims: Keep the reduced axes with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `dtype`.

    Returns:
        The reduced tensor.
    """


def var(x, axis=None, keepdims=False):
    """Population variance along `axis` (divides by N, numpy's `ddof=0`).

    Args:
        x: Input tensor, floating point.
        axis: Axis or tuple of axes to reduce; `None` means all axes.
        keepdims: Keep the reduced axes with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `dtype`.

    Returns:
        The reduced tensor.
    """


def argmax(x, axis=None, keepdims=False):
    """Index of the largest entry along `axis` (the first one on ties).

    Args:
        x: Input tensor.
        axis: A single axis; `None` means the index into the flattened tensor.
        keepdims: Keep the reduced axis with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `out`.

    Returns:
        An integer tensor of indices.
    """


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest entry along `axis` (the first one on ties).

    Args:
        x: Input tensor.
        axis: A single axis; `None` means the index into the flattened tensor.
        keepdims: Keep the reduced axis with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `out`.

    Returns:
        An integer tensor of indices.
    """


def cumsum(x, axis=None, dtype=None):
    """Running sum along `axis`.

    Args:
        x: Input tensor.
        axis: A single axis; `None` means over the flattened tensor.
        dtype: Dtype of the accumulator and result; `None` means the engine's default
            (PyTorch sums integers in int64, JAX in their own width).

    Returns:
        A tensor of `x`'s shape (flat when `axis` is `None`).
    """


def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))` along `axis`, computed without overflow (scipy's `logsumexp`).

    Args:
        x: Input tensor, floating point.
        axis: Axis or tuple of axes to reduce; `None` means all axes.
        keepdims: Keep the reduced axes with length 1.

    Returns:
        The reduced tensor.
    """


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, as numpy's `linalg.norm`.

    Args:
        x: Input tensor, floating point.
        ord: Order of the norm (`2`, `1`, `inf`, `"fro"`, ...); `None` means the 2-norm of
            vectors and the Frobenius norm of matrices.
        axis: One axis for vector norms, a pair of axes for matrix norms; `None` (with
            `ord=None`) means the 2-norm of all entries.
        keepdims: Keep the reduced axes with length 1.

    Returns:
        The reduced tensor.
    """


def all(x, axis=None, keepdims=False):
    """Whether every entry along `axis` is true (nonzero).

    Args:
        x: Input tensor of any dtype.
        axis: Axis or tuple of axes to reduce; `None` means all axes.
        keepdims: Keep the reduced axes with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `out`.

    Returns:
        A boolean tensor.
    """


def any(x, axis=None, keepdims=False):
    """Whether some entry along `axis` is true (nonzero).

    Args:
        x: Input tensor of any dtype.
        axis: Axis or tuple of axes to reduce; `None` means all axes.
        keepdims: Keep the reduced axes with length 1. Pass it by keyword: on the JAX
            backend the third positional argument is `out`.

    Returns:
        A boolean tensor.
    """


def count_nonzero(x, axis=None):
    """Number of nonzero entries along `axis`.

    Args:
        x: Input tensor.
        axis: Axis or tuple of axes to count over; `None` means all axes.

    Returns:
        An integer tensor (int32 on JAX, int64 on PyTorch).
    """


# --- comparisons and predicates -------------------------------------------------------------


def equal(x1, x2):
    """Elementwise `x1 == x2`, with broadcasting.

    Args:
        x1: First input tensor (or Python number).
        x2: Second input tensor (or Python number).

    Returns:
        A boolean tensor of the broadcast shape.
    """


def not_equal(x1, x2):
    """Elementwise `x1 != x2`, with broadcasting.

    Args:
        x1: First input tensor (or Python number).
        x2: Second input tensor (or Python number).

    Returns:
        A boolean tensor of the broadcast shape.
    """


def greater(x1, x2):
    """Elementwise `x1 > x2`, with broadcasting.

    Args:
        x1: First input tensor (or Python number).
        x2: Second input tensor (or Python number).

    Returns:
        A boolean tensor of the broadcast shape.
    """


def greater_equal(x1, x2):
    """Elementwise `x1 >= x2`, with broadcasting.

    Args:
        x1: First input tensor (or Python number).
        x2: Second input tensor (or Python number).

    Returns:
        A boolean tensor of the broadcast shape.
    """


def less(x1, x2):
    """Elementwise `x1 < x2`, with broadcasting.

    Args:
        x1: First input tensor (or Python number).
        x2: Second input tensor (or Python number).

    Returns:
        A boolean tensor of the broadcast shape.
    """


def less_equal(x1, x2):
    """Elementwise `x1 <= x2`, with broadcasting.

    Args:
        x1: First input tensor (or Python number).
        x2: Second input tensor (or Python number).

    Returns:
        A boolean tensor of the broadcast shape.
    """


def logical_and(x1, x2):
    """Elementwise logical AND (nonzero counts as true).

    Args:
        x1: First input tensor.
        x2: Second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.
    """


def logical_or(x1, x2):
    """Elementwise logical OR (nonzero counts as true).

    Args:
        x1: First input tensor.
        x2: Second input tensor, broadcast against `x1`.

    Returns:
        A boolean tensor of the broadcast shape.
    """


def logical_not(x):
    """Elementwise logical NOT (nonzero counts as true).

    Args:
        x: Input tensor.

    Returns:
        A boolean tensor of `x`'s shape.
    """


def isnan(x):
    """Elementwise test for NaN.

    Args:
        x: Input tensor.

    Returns:
        A boolean tensor of `x`'s shape.
    """


def isinf(x):
    """Elementwise test for positive or negative infinity.

    Args:
        x: Input tensor.

    Returns:
        A boolean tensor of `x`'s shape.
    """


def isfinite(x):
    """Elementwise test for a value that is neither infinite nor NaN.

    Args:
        x: Input tensor.

    Returns:
        A boolean tensor of `x`'s shape.
    """


# --- shape manipulation ---------------------------------------------------------------------


def reshape(x, newshape):
    """The entries of `x` in row-major order, given a new shape.

    Args:
        x: Input tensor.
        newshape: An int or tuple of ints; one entry may be -1 to be inferred. Pass it by
            position: the JAX backend names it `shape`.

    Returns:
        A tensor of the new shape with `x`'s entries.
    """


def transpose(x, axes=None):
    """`x` with its axes permuted.

    Args:
        x: Input tensor.
        axes: The new order of the axes, a permutation of `range(ndim)`; `None` reverses
            them.

    Returns:
        The permuted tensor.
    """


def expand_dims(x, axis):
    """`x` with new axes of length 1 inserted.

    Args:
        x: Input tensor.
        axis: Position (or tuple of positions) of the new axes in the result; negative
            values count from the end.

    Returns:
        A tensor with `len(axis)` more dimensions.
    """


def squeeze(x, axis=None):
    """`x` without axes of length 1.

    Args:
        x: Input tensor.
        axis: Axis or tuple of axes to remove (each must have length 1); `None` removes
            every axis of length 1.

    Returns:
        A tensor with fewer dimensions and the same entries.
    """


def concatenate(xs, axis=0):
    """Tensors joined along an existing axis.

    Args:
        xs: Sequence of tensors whose shapes agree except along `axis`. Pass it by
            position: the JAX backend names it `arrays`.
        axis: The axis to join along.

    Returns:
        The joined tensor.
    """


def stack(xs, axis=0):
    """Tensors of one shape stacked along a new axis.

    Args:
        xs: Sequence of tensors of identical shape. Pass it by position: the JAX backend
            names it `arrays`.
        axis: Position of the new axis in the result.

    Returns:
        A tensor with one more dimension than each input.
    """


def split(x, indices_or_sections, axis=0):
    """`x` cut into pieces along `axis`.

    Args:
        x: Input tensor.
        indices_or_sections: An int `n` cuts into `n` equal pieces (the length along
            `axis` must be divisible by `n`); a sequence of ints gives the cut positions.
        axis: The axis to cut along.

    Returns:
        A list of tensors.
    """


def tile(x, repeats):
    """`x` repeated as whole blocks along each axis.

    Args:
        x: Input tensor.
        repeats: An int or tuple of ints: copies along each axis (leading axes are added
            when it is longer than `x`'s rank).

    Returns:
        The tiled tensor.
    """


def repeat(x, repeats, axis=None):
    """Each entry of `x` repeated in place along `axis`.

    Args:
        x: Input tensor.
        repeats: Copies of each entry: an int, or an int tensor with one count per entry
            along `axis`.
        axis: The axis to repeat along; `None` flattens `x` first.

    Returns:
        The repeated tensor.
    """


def take(x, indices, axis=None):
    """Entries of `x` at integer `indices` along `axis`.

    Indices must lie in [0, n) for an axis of length n: out-of-range indices raise on
    PyTorch but are filled (NaN for floats) on JAX.

    Args:
        x: Input tensor.
        indices: Integer tensor of positions.
        axis: The axis to index along; `None` indexes the flattened tensor.

    Returns:
        A tensor whose `axis` is replaced by `indices`' shape.
    """


def take_along_axis(x, indices, axis):
    """Entries of `x` picked along `axis` by an index tensor of matching rank.

    Args:
        x: Input tensor.
        indices: Integer tensor of `x`'s rank, broadcastable against `x` except along
            `axis` (as produced by `argsort` or `argmax(..., keepdims=True)`).
        axis: The axis to pick along. Always give it: the JAX backend defaults to -1,
            the PyTorch one requires it.

    Returns:
        A tensor of `indices`' shape (after broadcasting).
    """


def broadcast_to(x, shape):
    """`x` broadcast to a larger shape by numpy's rules.

    Args:
        x: Input tensor.
        shape: The target shape, a tuple of ints.

    Returns:
        A tensor of `shape`.
    """


def flip(x, axis=None):
    """`x` with the order of entries reversed along `axis`.

    Args:
        x: Input tensor.
        axis: Axis or tuple of axes to reverse; `None` reverses every axis.

    Returns:
        A tensor of `x`'s shape.
    """


def swapaxes(x, axis1, axis2):
    """`x` with two axes exchanged.

    Args:
        x: Input tensor.
        axis1: First axis.
        axis2: Second axis.

    Returns:
        The transposed tensor.
    """


def moveaxis(x, source, destination):
    """`x` with axes moved to new positions, the others keeping their order.

    Args:
        x: Input tensor.
        source: Axis or tuple of axes to move.
        destination: Their positions in the result (same length as `source`).

    Returns:
        The transposed tensor.
    """


def slice(x, start_indices, shape):
    """A block of `x` of a given shape starting at given indices (not in numpy).

    The start indices may be traced values (a batch taken inside a compiled loop). Keep the
    block inside `x`: JAX shifts an overhanging start back in range, PyTorch raises.

    Args:
        x: Input tensor.
        start_indices: One start index per axis of `x`.
        shape: The block's length along each axis (static ints).

    Returns:
        A tensor of `shape`.
    """


def slice_update(x, start_indices, updates):
    """A copy of `x` with the block starting at `start_indices` replaced by `updates`.

    Args:
        x: Input tensor (left unchanged).
        start_indices: One start index per axis of `x`.
        updates: Tensor of `x`'s rank whose shape gives the block's size.

    Returns:
        A new tensor of `x`'s shape.
    """


# --- creation -----------------------------------------------------------------------------


def zeros(shape, dtype="float32"):
    """A tensor filled with 0.

    Args:
        shape: An int or tuple of ints.
        dtype: Dtype of the result.

    Returns:
        A tensor of `shape` on the current backend's default device.
    """


def ones(shape, dtype="float32"):
    """A tensor filled with 1.

    Args:
        shape: An int or tuple of ints.
        dtype: Dtype of the result.

    Returns:
        A tensor of `shape` on the current backend's default device.
    """


def full(shape, fill_value, dtype=None):
    """A tensor filled with one value.

    Args:
        shape: An int or tuple of ints.
        fill_value: The value (a Python number).
        dtype: Dtype of the result; `None` means float32 for a float value and the
            engine's default integer type for an int value (int32 on JAX, int64 on
            PyTorch), so give it for integer fills.

    Returns:
        A tensor of `shape`.
    """


def zeros_like(x, dtype=None):
    """A tensor of 0s with `x`'s shape.

    Args:
        x: Tensor whose shape (and, by default, dtype) to copy.
        dtype: Dtype of the result; `None` means `x`'s dtype.

    Returns:
        A tensor of `x`'s shape.
    """


def ones_like(x, dtype=None):
    """A tensor of 1s with `x`'s shape.

    Args:
        x: Tensor whose shape (and, by default, dtype) to copy.
        dtype: Dtype of the result; `None` means `x`'s dtype.

    Returns:
        A tensor of `x`'s shape.
    """


def full_like(x, fill_value, dtype=None):
    """A tensor with `x`'s shape filled with one value.

    Args:
        x: Tensor whose shape (and, by default, dtype) to copy.
        fill_value: The value (a Python number).
        dtype: Dtype of the result; `None` means `x`'s dtype.

    Returns:
        A tensor of `x`'s shape.
    """


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in the half-open interval [`start`, `stop`).

    Args:
        start: First value; with `stop` omitted, it is the end and the start is 0.
        stop: End of the interval (excluded).
        step: Spacing between values.
        dtype: Dtype of the result; `None` means int32 when every bound is an int, else
            float32.

    Returns:
        A 1-D tensor.
    """


def eye(N, M=None, dtype="float32"):
    """A 2-D tensor with ones on the diagonal and zeros elsewhere.

    Args:
        N: Number of rows.
        M: Number of columns; `None` means `N`.
        dtype: Dtype of the result. Pass it by keyword: on the JAX backend the third
            positional argument is the diagonal offset `k`.

    Returns:
        A tensor of shape (N, M).
    """


def linspace(start, stop, num=50, dtype="float32"):
    """`num` evenly spaced values from `start` to `stop`, both included.

    Args:
        start: First value.
        stop: Last value.
        num: Number of values.
        dtype: Dtype of the result. Pass it by keyword: on the JAX backend the fourth
            positional argument is `endpoint`.

    Returns:
        A 1-D tensor of length `num`.
    """


def diag(x, k=0):
    """The `k`-th diagonal of a matrix, or a matrix with a vector on that diagonal.

    Args:
        x: A 2-D tensor (diagonal extracted) or a 1-D tensor (matrix built).
        k: Diagonal offset: positive above the main diagonal, negative below.

    Returns:
        A 1-D tensor for a 2-D `x`, a 2-D tensor for a 1-D `x`.
    """


def triu(x, k=0):
    """`x` with entries below the `k`-th diagonal set to 0 (the upper triangle).

    Args:
        x: Tensor of rank 2 or more; the last two axes are the matrix.
        k: Diagonal offset: positive above the main diagonal, negative below.

    Returns:
        A tensor of `x`'s shape.
    """


def tril(x, k=0):
    """`x` with entries above the `k`-th diagonal set to 0 (the lower triangle).

    Args:
        x: Tensor of rank 2 or more; the last two axes are the matrix.
        k: Diagonal offset: positive above the main diagonal, negative below.

    Returns:
        A tensor of `x`'s shape.
    """


def pad(x, pad_width, mode="constant", constant_values=0):
    """`x` padded along each axis.

    Args:
        x: Input tensor.
        pad_width: One (before, after) pair per axis of `x`.
        mode: `"constant"` is the portable mode; others follow each engine's own names
            (numpy's on JAX, `torch.nn.functional.pad`'s on PyTorch).
        constant_values: The fill value of `"constant"` padding.

    Returns:
        The padded tensor.
    """


# --- sorting ------------------------------------------------------------------------------


def sort(x, axis=-1):
    """`x` sorted in ascending order along `axis`.

    Args:
        x: Input tensor.
        axis: The axis to sort along.

    Returns:
        A tensor of `x`'s shape.
    """


def argsort(x, axis=-1):
    """Indices that sort `x` in ascending order along `axis` (stable: ties keep order).

    Args:
        x: Input tensor.
        axis: The axis to sort along.

    Returns:
        An integer tensor of `x`'s shape.
    """


def top_k(x, k, sorted=True):
    """The `k` largest entries along the last axis and their indices (not in numpy).

    Args:
        x: Input tensor.
        k: Number of entries to keep.
        sorted: On PyTorch, `False` allows the `k` values in any order; the JAX backend
            ignores it and always returns them largest first.

    Returns:
        A tuple `(values, indices)`, each of shape `x.shape[:-1] + (k,)`.
    """


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """`x` with NaN and infinities replaced by finite numbers.

    Args:
        x: Input tensor.
        nan: Value for NaN entries. Pass it (and the others) by keyword: on the JAX
            backend the second positional argument is `copy`.
        posinf: Value for `+inf`; `None` means the dtype's largest finite value.
        neginf: Value for `-inf`; `None` means the dtype's smallest finite value.

    Returns:
        A tensor of `x`'s shape and dtype.
    """


# --- neural-network ops -------------------------------------------------------------------


def relu(x):
    """Rectified linear unit: `max(x, 0)` elementwise.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)` elementwise.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def leaky_relu(x, negative_slope=0.2):
    """`x` for positive entries, `negative_slope * x` otherwise.

    Args:
        x: Input tensor.
        negative_slope: Slope for negative inputs.

    Returns:
        A tensor of `x`'s shape.
    """


def elu(x, alpha=1.0):
    """Exponential linear unit: `x` for positive entries, `alpha * (exp(x) - 1)` otherwise.

    Args:
        x: Input tensor.
        alpha: Scale of the negative part.

    Returns:
        A tensor of `x`'s shape.
    """


def selu(x):
    """Scaled ELU with the fixed self-normalizing constants (alpha ~1.6733, scale ~1.0507).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def gelu(x, approximate=True):
    """Gaussian error linear unit: `x` weighted by the standard normal CDF of `x`.

    Args:
        x: Input tensor.
        approximate: Use the tanh approximation (faster); `False` computes it exactly
            with `erf`.

    Returns:
        A tensor of `x`'s shape.
    """


def sigmoid(x):
    """Logistic sigmoid `1 / (1 + exp(-x))` elementwise.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape, values in (0, 1).
    """


def hard_sigmoid(x):
    """Piecewise-linear sigmoid: `relu6(x + 3) / 6`.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape, values in [0, 1].
    """


def hard_silu(x):
    """`x * hard_sigmoid(x)` (also called hard swish).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def silu(x):
    """`x * sigmoid(x)` (also called swish).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def softplus(x):
    """`log(1 + exp(x))`, a smooth ReLU, computed without overflow.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape, values positive.
    """


def softsign(x):
    """`x / (1 + |x|)` elementwise.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape, values in (-1, 1).
    """


def mish(x):
    """`x * tanh(softplus(x))` elementwise.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """


def softmax(x, axis=-1):
    """Exponentials of `x` normalised to sum to 1 along `axis`.

    Args:
        x: Input tensor of logits.
        axis: The axis (or tuple of axes on JAX) to normalise over.

    Returns:
        A tensor of `x`'s shape, entries in [0, 1].
    """


def log_softmax(x, axis=-1):
    """Logarithm of `softmax`, computed stably as `x - logsumexp(x)`.

    Args:
        x: Input tensor of logits.
        axis: The axis to normalise over.

    Returns:
        A tensor of `x`'s shape.
    """


def one_hot(x, num_classes, dtype="float32"):
    """Integer class labels turned into one-hot vectors on a new last axis.

    Args:
        x: Integer tensor of class indices in [0, `num_classes`). Out-of-range labels give
            all-zero rows on JAX and raise on PyTorch.
        num_classes: Length of the new axis.
        dtype: Dtype of the result.

    Returns:
        A tensor of shape `x.shape + (num_classes,)`.
    """


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Connectionist Temporal Classification loss: -log p(target | output) per sample.

    Sums over every alignment of the label sequence to the time steps (blanks between and
    around labels, repeats merged), as speech and handwriting recognisers need.

    Args:
        target: Integer labels, shape `(batch, max_label_length)`, padded after
            `target_length`.
        output: Logits (a log-softmax is applied here), shape `(batch, steps, classes)`.
        target_length: Int tensor `(batch,)`: how many labels of each row count.
        output_length: Int tensor `(batch,)`: how many time steps of each row count.
        mask_index: The class index of the blank.

    Returns:
        A float tensor `(batch,)` of negative log-likelihoods. An impossible alignment
        (more labels than steps allow) gives a large loss: about 1e5 on JAX, inf on PyTorch.
    """


# --- convolution and pooling ----------------------------------------------------------------


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (1-D, 2-D or 3-D) with Keras's layout and padding rules.

    Computed as cross-correlation (the kernel is not flipped), like every deep-learning
    convolution. Grouped when the kernel has fewer input channels than `inputs`.

    Args:
        inputs: Tensor of shape (batch, *spatial, channels) for `"channels_last"`, or
            (batch, channels, *spatial) for `"channels_first"`.
        kernel: Tensor of shape (*kernel_size, in_channels / groups, out_channels);
            `in_channels` must be a multiple of its second-to-last axis.
        strides: An int or one int per spatial axis.
        padding: `"valid"` (no padding) or `"same"` (output length `ceil(n / stride)`;
            the odd pixel of padding goes after, as in TensorFlow).
        data_format: `"channels_last"` or `"channels_first"`; `None` means
            `nhanh.config.image_data_format()`.
        dilation_rate: An int or one int per spatial axis: spacing of the kernel taps.

    Returns:
        A tensor of the same layout, with `out_channels` channels.
    """


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution (the gradient of `conv` with respect to its input).

    Args:
        inputs: Tensor of shape (batch, *spatial, channels) or channels-first.
        kernel: Tensor of shape (*kernel_size, out_channels, in_channels): note the order,
            the reverse of `conv`'s.
        strides: An int or one int per spatial axis.
        padding: `"valid"` or `"same"`; with `"same"` each output length is
            `n * stride`.
        output_padding: An int or one int per spatial axis: extra length added at the
            end of each output axis; `None` infers it from `padding`.
        data_format: `"channels_last"` or `"channels_first"`; `None` means
            `nhanh.config.image_data_format()`.
        dilation_rate: An int or one int per spatial axis.

    Returns:
        A tensor of the same layout, with `out_channels` channels.
    """


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Largest value in each pooling window.

    Args:
        inputs: Tensor of rank 3, 4 or 5 (1-D, 2-D or 3-D pooling) in `data_format` layout.
        pool_size: An int or one int per spatial axis.
        strides: An int or one int per spatial axis; `None` means `pool_size`.
        padding: `"valid"` or `"same"` (padded positions never win).
        data_format: `"channels_last"` or `"channels_first"`; `None` means
            `nhanh.config.image_data_format()`.

    Returns:
        The pooled tensor, same layout and channels.
    """


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Mean of each pooling window.

    With `"same"` padding a border window is averaged over its real (unpadded) entries only,
    as in Keras and TensorFlow.

    Args:
        inputs: Tensor of rank 3, 4 or 5 (1-D, 2-D or 3-D pooling) in `data_format` layout.
        pool_size: An int or one int per spatial axis.
        strides: An int or one int per spatial axis; `None` means `pool_size`.
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` or `"channels_first"`; `None` means
            `nhanh.config.image_data_format()`.

    Returns:
        The pooled tensor, same layout and channels.
    """


# --- loops and recurrences ------------------------------------------------------------------


def scan(fn, init, xs, reverse=False):
    """A loop carrying state over the leading axis of `xs`, as `jax.lax.scan`.

    One compiled loop on JAX whatever the length; a Python loop on PyTorch.

    Args:
        fn: `fn(carry, x) -> (carry, y)`, called once per step.
        init: The initial carry (a tensor or a tuple / list / dict of tensors).
        xs: Tensor, or tuple / list / dict of tensors, sliced along axis 0.
        reverse: Walk the steps from last to first; `ys` still come in `xs`'s order.

    Returns:
        A tuple `(carry, ys)`: the final carry and the per-step `y`s stacked on axis 0.
    """


def rnn(step_fn, inputs, initial_states, mask=None, go_backwards=False,
        zero_output_for_mask=False):
    """Keras's masked recurrence over the time axis of batch-major inputs.

    Args:
        step_fn: `step_fn(x_t, states) -> (output_t, new_states)`, `states` a tuple.
        inputs: Tensor (or tuple of tensors) of shape (batch, time, ...).
        initial_states: Sequence of state tensors, each (batch, ...).
        mask: Optional boolean tensor (batch, time); at a masked step the states are
            kept and the output repeats the previous `states[0]`.
        go_backwards: Process the time steps last to first; `outputs` are then in
            processing order (reversed in time).
        zero_output_for_mask: Output zeros instead of the previous state at masked steps.

    Returns:
        A tuple `(last_output, outputs, states)`: `outputs` (batch, time, ...),
        `last_output` its last step, and the final states.
    """


def lstm(inputs, h, c, kernel, recurrent_kernel, bias=None, mask=None, go_backwards=False,
         zero_output_for_mask=False):
    """A whole LSTM layer's recurrence (tanh and sigmoid, Keras's gate order i, f, c, o).

    Runs a fused kernel on PyTorch when there is no mask or it is right-padded.

    Args:
        inputs: Tensor of shape (batch, time, features).
        h: Initial hidden state, (batch, units).
        c: Initial cell state, (batch, units).
        kernel: Input weights, (features, 4 * units).
        recurrent_kernel: Recurrent weights, (units, 4 * units).
        bias: Optional bias, (4 * units,).
        mask: Optional boolean tensor (batch, time), as in `rnn`.
        go_backwards: Process the time steps last to first.
        zero_output_for_mask: Output zeros at masked steps.

    Returns:
        A tuple `(outputs, h, c)`: outputs (batch, time, units) and the final states.
    """


def gru(inputs, h, kernel, recurrent_kernel, bias=None, mask=None, go_backwards=False,
        zero_output_for_mask=False):
    """A whole GRU layer's recurrence, Keras's `reset_after=True` variant (gates z, r, h).

    Runs a fused kernel on PyTorch when there is no mask or it is right-padded.

    Args:
        inputs: Tensor of shape (batch, time, features).
        h: Initial hidden state, (batch, units).
        kernel: Input weights, (features, 3 * units).
        recurrent_kernel: Recurrent weights, (units, 3 * units).
        bias: Optional bias, (2, 3 * units): the input row, then the recurrent row.
        mask: Optional boolean tensor (batch, time), as in `rnn`.
        go_backwards: Process the time steps last to first.
        zero_output_for_mask: Output zeros at masked steps.

    Returns:
        A tuple `(outputs, h)`: outputs (batch, time, units) and the final state.
    """


# --- the rest of keras.ops' numpy names -------------------------------------------------------
# Families that share a signature get their stub from one factory; each entry is one line
# saying what the op computes. Integer and bool inputs of float-valued ops give float32.


def _stub(signature: str, summary: str, args: dict[str, str], returns: str):
    """A documentation-only function `name(params)` with an Args section (never called)."""
    name, params = signature.split("(", 1)
    namespace: dict = {}
    exec(f"def {name}({params}:\n    pass", namespace)  # noqa: S102  (a fixed signature)
    stub = namespace[name]
    lines = "\n".join(f"        {k}: {v}" for k, v in args.items())
    stub.__doc__ = f"{summary}\n\n    Args:\n{lines}\n\n    Returns:\n        {returns}\n    "
    return stub


_X = {"x": "Input tensor."}
_PAIR = {"x1": "First input tensor (or Python number).",
         "x2": "Second input tensor (or Python number), broadcast against `x1`."}
_SHIFT = {"x": "Integer tensor.", "y": "Integer tensor of shift amounts, broadcast against `x`."}
_REDUCE = {"x": "Input tensor.",
           "axis": "An int or tuple of ints to reduce over; `None` reduces over all axes.",
           "keepdims": "Keep the reduced axes, with size 1."}
_QUANTILE = {"x": "Input tensor.", "q": "A quantile in [0, 1] (percentile: in [0, 100]), or a "
             "1-D tensor of them; its axis comes first in the result.",
             "axis": _REDUCE["axis"],
             "method": "`'linear'`, `'lower'`, `'higher'`, `'midpoint'` or `'nearest'`: how "
             "to pick between the two nearest values.",
             "keepdims": _REDUCE["keepdims"]}
_CUMULATIVE = {"x": "Input tensor.", "axis": "The axis to run along; `None` flattens `x`.",
               "dtype": "Dtype of the result; `None` keeps x's (bools give int32)."}
_SPLIT = {"x": "Input tensor.", "indices_or_sections": "An int n (n equal sections) or a list "
          "of split points along the axis."}
_STACK = {"xs": "A list of tensors."}
_WINDOW = {"x": "The window length M (an int)."}
_ELEMENTWISE = "A tensor of x's shape."
_BROADCAST = "A tensor of the broadcast shape."
_FLOAT = "A float tensor of x's shape (float32 for integer input)."

for _name, _summary in {
    "arccos": "Elementwise inverse cosine, in radians within [0, pi].",
    "arccosh": "Elementwise inverse hyperbolic cosine (x >= 1).",
    "arcsin": "Elementwise inverse sine, in radians within [-pi/2, pi/2].",
    "arcsinh": "Elementwise inverse hyperbolic sine.",
    "arctanh": "Elementwise inverse hyperbolic tangent (-1 < x < 1).",
    "cosh": "Elementwise hyperbolic cosine.",
    "sinh": "Elementwise hyperbolic sine.",
    "exp2": "Elementwise `2 ** x`.",
    "sinc": "Elementwise normalised sinc, `sin(pi x) / (pi x)`, 1 at 0.",
    "i0": "Elementwise modified Bessel function of the first kind, order 0.",
    "erfc": "Elementwise complementary error function, `1 - erf(x)`, accurate for large x.",
    "erfinv": "Elementwise inverse error function (-1 < x < 1).",
    "cbrt": "Elementwise real cube root (negative for negative x).",
    "deg2rad": "Degrees converted to radians.",
    "rad2deg": "Radians converted to degrees.",
    "fabs": "Elementwise absolute value as a float.",
    "reciprocal": "Elementwise `1 / x`.",
    "angle": "Elementwise argument of complex numbers (0 or pi for real ones).",
}.items():
    globals()[_name] = _stub(f"{_name}(x)", _summary, _X, _FLOAT)

for _name, _summary, _returns in (
    ("trunc", "Elementwise rounding towards zero; integers are returned as they are.",
     _ELEMENTWISE),
    ("signbit", "Whether the sign bit is set (true for -0.0 and negative numbers).",
     "A bool tensor of x's shape."),
    ("isneginf", "Whether each element is minus infinity.", "A bool tensor of x's shape."),
    ("isposinf", "Whether each element is plus infinity.", "A bool tensor of x's shape."),
    ("isreal", "Whether each element has a zero imaginary part.", "A bool tensor of x's shape."),
    ("conj", "Elementwise complex conjugate (real tensors are returned as they are).",
     _ELEMENTWISE),
    ("conjugate", "Another name for `conj`.", _ELEMENTWISE),
    ("real", "The real part of each element.", _ELEMENTWISE),
    ("imag", "The imaginary part of each element (zeros for a real tensor).", _ELEMENTWISE),
    ("bitwise_not", "Elementwise bit inversion (`~x`; logical not for bools).", _ELEMENTWISE),
    ("bitwise_invert", "Another name for `bitwise_not`.", _ELEMENTWISE),
    ("ravel", "x flattened to one axis, in row-major order.", "A 1-D tensor."),
    ("copy", "A new tensor with x's values that shares no memory with x.", _ELEMENTWISE),
    ("size", "The number of elements of x.", "A Python int."),
    ("fliplr", "x with its second axis reversed.", _ELEMENTWISE),
    ("flipud", "x with its first axis reversed.", _ELEMENTWISE),
    ("corrcoef", "Pearson correlation coefficients of the rows of x (variables in rows).",
     "A (rows, rows) float tensor."),
    ("nonzero", "The indices of the non-zero elements, one int32 tensor per axis.",
     "A tuple of 1-D int32 tensors."),
):
    globals()[_name] = _stub(f"{_name}(x)", _summary, _X, _returns)

for _name, _summary, _returns in (
    ("arctan2", "Elementwise angle of the point (x2, x1), in radians within [-pi, pi].",
     _BROADCAST),
    ("hypot", "Elementwise `sqrt(x1**2 + x2**2)`, without overflow.", _BROADCAST),
    ("logaddexp", "Elementwise `log(exp(x1) + exp(x2))`, computed stably.", _BROADCAST),
    ("logaddexp2", "Elementwise `log2(2**x1 + 2**x2)`, computed stably.", _BROADCAST),
    ("fmax", "Elementwise maximum that ignores NaN (NaN only where both are).", _BROADCAST),
    ("fmin", "Elementwise minimum that ignores NaN (NaN only where both are).", _BROADCAST),
    ("fmod", "Elementwise remainder of truncated division (sign of `x1`, as C's fmod).",
     _BROADCAST),
    ("heaviside", "Step function: 0 where x1 < 0, 1 where x1 > 0, x2 where x1 == 0.",
     _BROADCAST),
    ("nextafter", "The next representable float after x1 in the direction of x2.",
     _BROADCAST),
    ("ldexp", "Elementwise `x1 * 2**x2` for integer exponents x2.", _BROADCAST),
    ("divide_no_nan", "x1 / x2, with 0 where x2 is 0 (and a finite gradient there).",
     _BROADCAST),
    ("gcd", "Elementwise greatest common divisor of integers (non-negative).", _BROADCAST),
    ("lcm", "Elementwise least common multiple of integers (non-negative).", _BROADCAST),
    ("logical_xor", "Elementwise exclusive or of the truth values.", "A bool tensor."),
    ("append", "x2 appended to x1: both flattened without `axis`.", "A tensor."),
    ("inner", "Inner product over the last axis of both tensors.", "A tensor."),
    ("vdot", "Dot product of the two tensors flattened (the first conjugated).",
     "A scalar tensor."),
    ("kron", "Kronecker product: blocks x1[i, j] * x2.", "A tensor."),
):
    _params = "x1, x2, axis=None" if _name == "append" else "x1, x2"
    _args = dict(_PAIR, axis="The axis to join along.") if _name == "append" else _PAIR
    globals()[_name] = _stub(f"{_name}({_params})", _summary, _args, _returns)

for _name, _summary in (
    ("bitwise_and", "Elementwise bitwise and (logical and for bools)."),
    ("bitwise_or", "Elementwise bitwise or (logical or for bools)."),
    ("bitwise_xor", "Elementwise bitwise exclusive or."),
):
    globals()[_name] = _stub(f"{_name}(x, y)", _summary, {
        "x": "Integer or bool tensor.", "y": "Integer or bool tensor, broadcast against `x`."},
        _BROADCAST)

for _name, _summary in (
    ("bitwise_left_shift", "Elementwise `x << y`."), ("left_shift", "Elementwise `x << y`."),
    ("bitwise_right_shift", "Elementwise `x >> y` (arithmetic for signed integers)."),
    ("right_shift", "Elementwise `x >> y` (arithmetic for signed integers)."),
):
    globals()[_name] = _stub(f"{_name}(x, y)", _summary, _SHIFT, _BROADCAST)

for _name, _summary in (("isclose", "Elementwise `|x1 - x2| <= atol + rtol * |x2|`."),
                        ("allclose", "Whether `isclose` holds for every element.")):
    globals()[_name] = _stub(
        f"{_name}(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False)", _summary,
        dict(_PAIR, rtol="Relative tolerance.", atol="Absolute tolerance.",
             equal_nan="Count two NaNs as equal."),
        "A bool tensor (a scalar one for `allclose`).")

for _name, _summary in (("bartlett", "The Bartlett (triangular) window."),
                        ("blackman", "The Blackman window."),
                        ("hamming", "The Hamming window."),
                        ("hanning", "The Hann window.")):
    globals()[_name] = _stub(f"{_name}(x)", _summary + " (symmetric, as numpy's)", _WINDOW,
                             "A 1-D float32 tensor of length M.")
kaiser = _stub("kaiser(x, beta)", "The Kaiser window (symmetric, as numpy's).",
               dict(_WINDOW, beta="Shape parameter: 0 is rectangular, larger is narrower."),
               "A 1-D float32 tensor of length M.")

for _name, _summary in (
    ("amax", "The largest element (another name for `max`)."),
    ("amin", "The smallest element (another name for `min`)."),
    ("ptp", "Peak to peak: `max - min`."),
    ("median", "The median (the mean of the two middle values for even counts)."),
    ("nanmedian", "The median of the non-NaN elements."),
    ("nansum", "The sum of the non-NaN elements (ints and bools give int32)."),
    ("nanprod", "The product of the non-NaN elements (ints and bools give int32)."),
    ("nanmean", "The mean of the non-NaN elements (NaN where there are none)."),
    ("nanvar", "The variance of the non-NaN elements (divided by their count)."),
    ("nanstd", "The standard deviation of the non-NaN elements."),
    ("nanmax", "The largest non-NaN element (NaN where all are NaN)."),
    ("nanmin", "The smallest non-NaN element (NaN where all are NaN)."),
    ("nanargmax", "The int32 index of the largest non-NaN element (over the flattened tensor"
     " without `axis`)."),
    ("nanargmin", "The int32 index of the smallest non-NaN element (over the flattened tensor"
     " without `axis`)."),
):
    globals()[_name] = _stub(f"{_name}(x, axis=None, keepdims=False)", _summary, _REDUCE,
                             "A tensor with the reduced axes removed (or kept with size 1).")

for _name, _summary in (
    ("quantile", "The q-th quantiles along `axis`, numpy's methods."),
    ("nanquantile", "The q-th quantiles of the non-NaN elements."),
    ("percentile", "The q-th percentiles (q in [0, 100]) along `axis`."),
    ("nanpercentile", "The q-th percentiles of the non-NaN elements."),
):
    globals()[_name] = _stub(f"{_name}(x, q, axis=None, method='linear', keepdims=False)",
                             _summary, _QUANTILE, "A float tensor (float32 for integer x).")

for _name, _summary in (
    ("cumprod", "Running product along `axis`."),
    ("nancumsum", "Running sum along `axis`, NaNs counted as 0."),
    ("nancumprod", "Running product along `axis`, NaNs counted as 1."),
):
    globals()[_name] = _stub(f"{_name}(x, axis=None, dtype=None)", _summary, _CUMULATIVE,
                             "A tensor of x's shape (1-D without `axis`).")

for _name, _summary, _axis in (
    ("array_split", "x split into sections along `axis`; n sections need not divide it (the "
     "first ones get one more).", True),
    ("hsplit", "x split along its second axis (the first for 1-D x) into equal sections.",
     False),
    ("vsplit", "x split along its first axis into equal sections.", False),
    ("dsplit", "x split along its third axis into equal sections.", False),
):
    globals()[_name] = _stub(
        f"{_name}(x, indices_or_sections{', axis=0' if _axis else ''})", _summary,
        dict(_SPLIT, axis="The axis to split.") if _axis else _SPLIT, "A list of tensors.")

for _name, _summary in (
    ("hstack", "Tensors joined along the second axis (the first for 1-D ones)."),
    ("vstack", "Tensors joined along the first axis (1-D ones become rows)."),
    ("dstack", "Tensors joined along the third axis (lower ranks are expanded first)."),
):
    globals()[_name] = _stub(f"{_name}(xs)", _summary, _STACK, "A tensor.")

array = _stub("array(x, dtype=None)", "A tensor from numbers, lists or arrays (as "
              "`convert_to_tensor`).", {"x": "Array-like.", "dtype": "Dtype of the result; "
                                        "`None` infers it (64-bit data becomes 32-bit)."},
              "A tensor.")
empty = _stub("empty(shape, dtype='float32')", "An uninitialised tensor: its values are "
              "arbitrary.", {"shape": "An int or tuple of ints.", "dtype": "Its dtype."},
              "A tensor.")
empty_like = _stub("empty_like(x, dtype=None)", "An uninitialised tensor of x's shape.",
                   {"x": "Tensor whose shape to take.", "dtype": "Dtype; `None` keeps x's."},
                   "A tensor.")
identity = _stub("identity(n, dtype='float32')", "The n x n identity matrix.",
                 {"n": "Number of rows and columns.", "dtype": "Its dtype."},
                 "A (n, n) tensor.")
tri = _stub("tri(N, M=None, k=0, dtype='float32')", "Ones at and below the k-th diagonal, "
            "zeros above.", {"N": "Number of rows.", "M": "Number of columns (`None`: N).",
                             "k": "The diagonal: 0 main, positive above, negative below.",
                             "dtype": "Its dtype."}, "A (N, M) tensor.")
unstack = _stub("unstack(x, num=None, axis=0)", "The slices of x along `axis`, as a list.",
                {"x": "Input tensor.", "num": "Expected number of slices (unused: the "
                 "axis's size decides).", "axis": "The axis to unstack along."},
                "A list of tensors, each without that axis.")
roll = _stub("roll(x, shift, axis=None)", "Elements shifted along axes, those leaving at one "
             "end coming back at the other.", {"x": "Input tensor.", "shift": "An int or "
             "tuple of ints (one per axis).", "axis": "An int or tuple of ints; `None` rolls "
             "the flattened tensor."}, _ELEMENTWISE)
rot90 = _stub("rot90(array, k=1, axes=(0, 1))", "The tensor rotated by 90 degrees k times, "
              "from the first axis towards the second.", {"array": "Input tensor (2-D or "
              "more).", "k": "Number of quarter turns.", "axes": "The plane of rotation."},
              "A tensor.")
diff = _stub("diff(a, n=1, axis=-1)", "n-th discrete difference, `a[i + 1] - a[i]` "
             "along `axis`.", {"a": "Input tensor.", "n": "How many times to difference.",
                               "axis": "The axis."}, "A tensor n shorter along `axis`.")
diagonal = _stub("diagonal(x, offset=0, axis1=0, axis2=1)", "The diagonal of the (axis1, "
                 "axis2) planes; its axis comes last.", {"x": "Tensor of rank 2 or more.",
                 "offset": "The diagonal: positive above the main one, negative below.",
                 "axis1": "Row axis.", "axis2": "Column axis."}, "A tensor.")
trace = _stub("trace(x, offset=0, axis1=0, axis2=1)", "Sum along a diagonal (ints and bools "
              "give int32).", {"x": "Tensor of rank 2 or more.", "offset": "The diagonal, "
              "as in `diagonal`.", "axis1": "Row axis.", "axis2": "Column axis."},
              "A tensor without the two axes.")
diagflat = _stub("diagflat(x, k=0)", "A 2-D tensor with flattened x on its k-th diagonal.",
                 {"x": "Input tensor.", "k": "The diagonal."}, "A square 2-D tensor.")
meshgrid = _stub("meshgrid(*x, indexing='xy')", "Coordinate grids from 1-D coordinate "
                 "vectors.", {"indexing": "`'xy'` (Cartesian: the first two axes swapped) or "
                 "`'ij'` (matrix)."}, "A list of tensors, one per input.")
logspace = _stub("logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0)",
                 "`base ** linspace(start, stop)`: numbers evenly spaced on a log scale.",
                 {"start": "First exponent.", "stop": "Last exponent.",
                  "num": "Number of values.", "endpoint": "Include `base ** stop`.",
                  "base": "The base.", "dtype": "Dtype (`None`: float32).",
                  "axis": "Where the samples go when start and stop are tensors."},
                 "A tensor.")
geomspace = _stub("geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0)",
                  "Numbers from start to stop in a geometric progression (same sign).",
                  {"start": "First value.", "stop": "Last value.", "num": "Number of values.",
                   "endpoint": "Include `stop`.", "dtype": "Dtype (`None`: float32).",
                   "axis": "Where the samples go when start and stop are tensors."},
                  "A tensor.")
vander = _stub("vander(x, N=None, increasing=False)", "The Vandermonde matrix: columns are "
               "powers of x.", {"x": "1-D tensor.", "N": "Number of columns (`None`: "
               "len(x)).", "increasing": "Powers from 0 up (default: from N - 1 down)."},
               "A (len(x), N) tensor.")
cross = _stub("cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None)", "Cross products of "
              "3-vectors (2-vectors have z = 0; two 2-vectors give the z component alone).",
              {"x1": "Tensor of vectors.", "x2": "Tensor of vectors, broadcast against x1.",
               "axisa": "The vector axis of x1.", "axisb": "The vector axis of x2.",
               "axisc": "The vector axis of the result.", "axis": "Overrides all three."},
              "A tensor of cross products.")
correlate = _stub("correlate(x1, x2, mode='valid')", "1-D cross-correlation, "
                  "`c[k] = sum_n x1[n + k] * x2[n]`.", {"x1": "1-D tensor.",
                  "x2": "1-D tensor.", "mode": "`'valid'` (full overlap only), `'same'` "
                  "(length of the longer) or `'full'` (every overlap)."}, "A 1-D tensor.")
trapezoid = _stub("trapezoid(y, x=None, dx=1.0, axis=-1)", "Integral of y along `axis` by "
                  "the trapezoidal rule.", {"y": "Values to integrate.", "x": "Sample points "
                  "(`None`: spaced by dx).", "dx": "Spacing when x is None.",
                  "axis": "The axis."}, "A tensor without `axis`.")
average = _stub("average(x, axis=None, weights=None)", "Weighted mean along `axis`.",
                {"x": "Input tensor.", "axis": "An int or tuple of ints; `None`: all.",
                 "weights": "Tensor of x's shape, or 1-D along an int `axis`; `None`: "
                 "equal weights."}, "A float tensor.")
histogram = _stub("histogram(x, bins=10, range=None)", "Counts of x's values in equal bins "
                  "(the last bin includes its right edge).", {"x": "Input tensor "
                  "(flattened).", "bins": "Number of bins.", "range": "(low, high); `None`: "
                  "x's min and max."}, "A tuple (counts int32, bin edges of length bins + 1).")
bincount = _stub("bincount(x, weights=None, minlength=0, sparse=False)", "Occurrences of "
                 "each non-negative int in x (per row for 2-D x).", {"x": "1-D or 2-D "
                 "non-negative int tensor.", "weights": "Tensor of x's shape to sum instead "
                 "of counting 1s.", "minlength": "Minimum number of bins.",
                 "sparse": "Unused: the result is dense."},
                 "A tensor of length max(x) + 1 or minlength (int32 without weights).")
digitize = _stub("digitize(x, bins)", "For each x, the index i of its bin: "
                 "`bins[i-1] <= x < bins[i]`.", {"x": "Input tensor.",
                                                 "bins": "1-D increasing tensor of edges."},
                 "An int32 tensor of x's shape.")
searchsorted = _stub("searchsorted(sorted_sequence, values, side='left')", "Indices at which "
                     "values would be inserted to keep the sequence sorted.",
                     {"sorted_sequence": "1-D sorted tensor.", "values": "Values to place.",
                      "side": "`'left'` (first suitable index) or `'right'` (last)."},
                     "An int32 tensor of values' shape.")
argpartition = _stub("argpartition(x, kth, axis=-1)", "Indices that put the k-th element "
                     "in its sorted place, smaller ones before and larger after.",
                     {"x": "Input tensor.", "kth": "The index of the element to place.",
                      "axis": "The axis."}, "An int32 tensor of x's shape.")
isin = _stub("isin(x1, x2, assume_unique=False, invert=False)", "Whether each element of x1 "
             "occurs in x2.", {"x1": "Input tensor.", "x2": "Values to test against.",
                               "assume_unique": "Both inputs have unique elements (faster).",
                               "invert": "Return the opposite."},
             "A bool tensor of x1's shape.")
select = _stub("select(condlist, choicelist, default=0)", "Per element, the choice of the "
               "first true condition.", {"condlist": "List of bool tensors.",
                                         "choicelist": "List of tensors, one per condition.",
                                         "default": "Value where no condition holds."},
               _BROADCAST)
unravel_index = _stub("unravel_index(indices, shape)", "Flat indices converted to one index "
                      "per axis of `shape`.", {"indices": "Int tensor of flat indices.",
                                               "shape": "The shape they index into."},
                      "A tuple of int32 tensors, one per axis.")
vectorize = _stub("vectorize(pyfunc, *, excluded=None, signature=None)", "pyfunc mapped over "
                  "the leading (broadcast) axes of its tensor arguments.",
                  {"pyfunc": "A function of tensors.", "excluded": "Positions of arguments "
                   "passed as they are.", "signature": "Core axes per call, e.g. "
                   "`'(n),(n)->()'`; `None`: elementwise."}, "The vectorised function.")
view = _stub("view(x, dtype=None)", "x's bytes reinterpreted as another dtype (no copy).",
             {"x": "Input tensor.", "dtype": "The new dtype; `None` returns x."}, "A tensor.")
saturate_cast = _stub("saturate_cast(x, dtype)", "x cast to dtype, values outside its range "
                      "clipped to its min or max instead of wrapping around.",
                      {"x": "Input tensor.", "dtype": "The target dtype."}, "A tensor.")
get_item = _stub("get_item(x, key)", "`x[key]`, numpy's indexing.", {"x": "Input tensor.",
                 "key": "An int, slice, tuple of them, or index tensor."}, "A tensor.")
del _name, _summary, _returns, _axis, _params, _args


from nhanh.ops._docs_control import *  # noqa: E402,F401,F403
from nhanh.ops._docs_fft import *  # noqa: E402,F401,F403
from nhanh.ops._docs_linalg import *  # noqa: E402,F401,F403
from nhanh.ops._docs_image import _image_resize  # noqa: E402,F401
