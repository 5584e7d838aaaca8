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
