"""Backend-agnostic ops: numpy's names and semantics, plus the nn ops layers need.

Every op dispatches to the current backend at call time and accepts Variables wherever it
accepts arrays. Layers, losses, metrics and optimizers are written with these only.
"""

from __future__ import annotations

import inspect as _inspect

from nhanh import backend as _backend
from nhanh.backend import OP_GROUPS
from nhanh.ops import _docs
from nhanh.variables import Variable


def _unwrap(a):
    if type(a) is Variable:
        return a.value
    if type(a) in (list, tuple):
        return type(a)(e.value if type(e) is Variable else e for e in a)
    return a


def _forward(group: str, name: str):
    def op(*args, **kwargs):
        backend = _backend._current or _backend.get()
        fn = getattr(getattr(backend, group), name)
        for a in args:  # the common case, arrays only, passes the arguments through untouched
            if type(a) is Variable or type(a) in (list, tuple):
                return fn(*[_unwrap(a) for a in args], **kwargs)
        return fn(*args, **kwargs)

    op.__name__ = op.__qualname__ = name
    stub = getattr(_docs, name, None)  # documentation only: the stub is never called
    if stub is None:
        op.__doc__ = f"`{name}` with numpy's meaning, on the current backend."
    else:
        op.__doc__, op.__signature__ = stub.__doc__, _inspect.signature(stub)
    return op


for _group, _names in OP_GROUPS.items():
    for _name in _names:
        globals()[_name] = _forward(_group, _name)
del _group, _names, _name


def convert_to_tensor(x, dtype=None):
    """An array of the current backend (numbers, lists, numpy arrays, Variables).

    Without `dtype`, 64-bit numpy data becomes 32-bit on both engines, so they agree.

    Args:
        x: A Python number, nested list, numpy array, backend array or Variable.
        dtype: Dtype of the result (a string such as `"float32"`); `None` keeps `x`'s
            (narrowed to 32 bits as above).

    Returns:
        An array of the current backend, on its default device.
    """
    return _backend.get().convert_to_tensor(_unwrap(x), dtype)


def convert_to_numpy(x):
    """A host numpy copy of an array or Variable (this waits for the device).

    Args:
        x: A backend array, Variable, or anything numpy can convert.

    Returns:
        A `numpy.ndarray` on the host.
    """
    return _backend.get().convert_to_numpy(_unwrap(x))


def cast(x, dtype):
    """`x` converted to another dtype (a no-op when it already has it).

    Args:
        x: Input tensor, Variable or array-like.
        dtype: The target dtype, e.g. `"float32"` or `"int32"`.

    Returns:
        A tensor of `x`'s shape and dtype `dtype`.
    """
    return _backend.get().cast(_unwrap(x), dtype)


def shape(x) -> tuple:
    """The static shape of `x` as a tuple of ints (read without touching the device).

    Args:
        x: A tensor or Variable.

    Returns:
        A tuple of ints.
    """
    return tuple(_unwrap(x).shape)


def ndim(x) -> int:
    """The number of axes of `x`.

    Args:
        x: A tensor or Variable.

    Returns:
        An int.
    """
    return len(_unwrap(x).shape)


def dtype(x) -> str:
    """The dtype of `x` as a string such as `"float32"`, the same on every engine.

    Args:
        x: A tensor, Variable, or anything numpy can convert.

    Returns:
        The dtype's name.
    """
    return _backend.get().dtype_of(_unwrap(x))


def is_tensor(x) -> bool:
    """Whether `x` is an array of the current backend (jax.Array or torch.Tensor).

    Args:
        x: Any object. A Variable is not a tensor here: test `x.value`.

    Returns:
        A bool.
    """
    return _backend.get().is_tensor(x)


def stop_gradient(x):
    """`x`'s value, treated as a constant by differentiation.

    Args:
        x: Input tensor or Variable.

    Returns:
        A tensor equal to `x` through which no gradient flows.
    """
    return _backend.get().stop_gradient(_unwrap(x))


def item(x):
    """A device value read on the host as a Python number (this synchronises).

    Args:
        x: A tensor or Variable with exactly one element.

    Returns:
        A Python int, float or bool.
    """
    return _backend.get().item(_unwrap(x))


def fori_loop(lower, upper, body, init):
    """body(i, carry) for i in [lower, upper); compiled as one loop on JAX.

    On JAX the bounds may be traced values, so one compiled loop serves every trip count;
    on PyTorch it is a Python loop and the bounds are read as ints.

    Args:
        lower: First value of `i` (included).
        upper: End of the range of `i` (excluded).
        body: `body(i, carry) -> carry`; the carry must keep its structure, shapes and
            dtypes from one step to the next.
        init: The initial carry (a tensor or nested tuple / list / dict of tensors).

    Returns:
        The carry after the last step (`init` when the range is empty).
    """
    return _backend.get().fori_loop(lower, upper, body, init)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Each input channel convolved with its own `depth_multiplier` filters; kernel
    (*k, in_channels, multiplier). A grouped conv with one group per input channel.

    Args:
        inputs: Tensor of shape (batch, *spatial, channels), or channels-first.
        kernel: Tensor of shape (*kernel_size, in_channels, depth_multiplier).
        strides: An int or one int per spatial axis.
        padding: `"valid"` or `"same"` (TensorFlow's: the odd pixel goes after).
        data_format: `"channels_last"` or `"channels_first"`; `None` means
            `nhanh.config.image_data_format()`.
        dilation_rate: An int or one int per spatial axis.

    Returns:
        A tensor of the same layout with `in_channels * depth_multiplier` channels,
        the multiplier's outputs of each input channel adjacent.
    """
    kernel = _unwrap(kernel)
    shape = tuple(kernel.shape)
    kernel = reshape(kernel, (*shape[:-2], 1, shape[-2] * shape[-1]))  # noqa: F821
    return conv(inputs, kernel, strides, padding, data_format, dilation_rate)  # noqa: F821


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution.

    Args:
        inputs: Tensor of shape (batch, *spatial, channels), or channels-first.
        depthwise_kernel: Tensor of shape (*kernel_size, in_channels, depth_multiplier),
            as for `depthwise_conv`.
        pointwise_kernel: Tensor of shape (*ones, in_channels * depth_multiplier,
            out_channels), a kernel of size 1 on every spatial axis.
        strides: Strides of the depthwise step (the pointwise step uses 1).
        padding: `"valid"` or `"same"`, for the depthwise step.
        data_format: `"channels_last"` or `"channels_first"`; `None` means
            `nhanh.config.image_data_format()`.
        dilation_rate: Dilation of the depthwise step.

    Returns:
        A tensor of the same layout with `out_channels` channels.
    """
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)  # noqa: F821


def safe_divide(x, y):
    """x / y, with 0 where y is 0 (for means over empty sets).

    The zero divisors are replaced before dividing, so neither the value nor the gradient
    has a NaN or infinity there.

    Args:
        x: Dividend tensor.
        y: Divisor tensor, broadcast against `x`.

    Returns:
        A tensor of the broadcast shape.
    """
    zero = equal(y, 0)  # noqa: F821
    return where(zero, 0, divide(x, where(zero, 1, y)))  # noqa: F821


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so


# --- Keras 3's remaining activation ops (issue 10) -----------------------------------------------
# Written once here with the ops above, so both engines compute them the same way and autodiff
# differentiates them; the names and arguments are keras.ops'. noqa: F821 marks the ops that the
# OP_GROUPS loop defines.


def celu(x, alpha: float = 1.0):
    """x for x >= 0, alpha * (exp(x / alpha) - 1) below: an ELU whose slope is 1 at 0 for any
    alpha, so it is continuously differentiable.

    Args:
        x: Input tensor.
        alpha: Positive float, the limit of -output for very negative inputs.

    Returns:
        A tensor of `x`'s shape.
    """
    x = convert_to_tensor(x)
    # exp of the clipped input: the unused branch never overflows, so no inf * 0 in gradients
    negative = multiply(alpha, expm1(divide(minimum(x, 0.0), alpha)))  # noqa: F821
    return add(maximum(x, 0.0), negative)  # noqa: F821


def glu(x, axis: int = -1):
    """Gated linear unit: `x` split in halves a, b along `axis`, then a * sigmoid(b).

    Args:
        x: Input tensor whose size along `axis` is even.
        axis: Int, the axis that is split.

    Returns:
        A tensor of `x`'s shape with `axis` halved.
    """
    x = convert_to_tensor(x)
    size = shape(x)[axis]
    if size % 2:
        raise ValueError(f"glu splits axis {axis} of x in two halves, so its size must be even; "
                         f"got x of shape {shape(x)}. Pad that axis or pick another `axis`.")
    a, b = split(x, 2, axis=axis)  # noqa: F821
    return multiply(a, sigmoid(b))  # noqa: F821


def hard_shrink(x, threshold: float = 0.5):
    """x where |x| > threshold, else 0.

    Args:
        x: Input tensor.
        threshold: Float, the half-width of the band around 0 that is zeroed.

    Returns:
        A tensor of `x`'s shape.
    """
    x = convert_to_tensor(x)
    return where(greater(abs(x), threshold), x, zeros_like(x))  # noqa: F821


def hard_tanh(x):
    """x clipped to [-1, 1]: a piecewise-linear tanh.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    x = convert_to_tensor(x)
    return where(greater(x, 1.0), ones_like(x),  # noqa: F821
                 where(less(x, -1.0), -ones_like(x), x))  # noqa: F821


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), computed without taking the log of an underflowed
    probability.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return negative(softplus(negative(convert_to_tensor(x))))  # noqa: F821


def soft_shrink(x, threshold: float = 0.5):
    """x moved `threshold` towards 0, and 0 where |x| <= threshold.

    Args:
        x: Input tensor.
        threshold: Float, the amount taken off |x|.

    Returns:
        A tensor of `x`'s shape.
    """
    x = convert_to_tensor(x)
    return where(greater(x, threshold), subtract(x, threshold),  # noqa: F821
                 where(less(x, -threshold), add(x, threshold), zeros_like(x)))  # noqa: F821


def sparse_plus(x):
    """A softplus that is exactly 0 below -1 and exactly x above 1: (x + 1)^2 / 4 between.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    x = convert_to_tensor(x)
    middle = multiply(0.25, square(add(x, 1.0)))  # noqa: F821
    return where(less_equal(x, -1.0), zeros_like(x),  # noqa: F821
                 where(greater_equal(x, 1.0), x, middle))  # noqa: F821


def sparse_sigmoid(x):
    """A sigmoid that is exactly 0 below -1 and exactly 1 above 1: (x + 1) / 2 between.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    x = convert_to_tensor(x)
    middle = multiply(0.5, add(x, 1.0))  # noqa: F821
    return where(less_equal(x, -1.0), zeros_like(x),  # noqa: F821
                 where(greater_equal(x, 1.0), ones_like(x), middle))  # noqa: F821


def sparsemax(x, axis: int = -1):
    """The Euclidean projection of `x` onto the probability simplex along `axis`: like softmax
    it sums to 1, unlike softmax it gives exact zeros to low scores (Martins & Astudillo, 2016).

    Args:
        x: Input tensor of floats.
        axis: Int, the axis that sums to 1.

    Returns:
        A tensor of `x`'s shape.
    """
    x = convert_to_tensor(x)
    rank = ndim(x)
    if not -rank <= axis < rank:
        raise ValueError(f"sparsemax: `axis` must be in [{-rank}, {rank}) for x of shape "
                         f"{shape(x)}, got axis={axis}.")
    descending = negative(sort(negative(x), axis=axis))  # noqa: F821
    cumulative = cumsum(descending, axis=axis)  # noqa: F821
    n = shape(x)[axis]
    ranks = reshape(arange(1, n + 1, dtype=dtype(x)),  # noqa: F821
                    [n if i == axis % rank else 1 for i in range(rank)])
    # k(x): how many of the sorted scores stay in the support.
    support = greater(descending, divide(subtract(cumulative, 1.0), ranks))  # noqa: F821
    k = sum(cast(support, dtype(x)), axis=axis, keepdims=True)  # noqa: F821
    # tau = (sum of the k largest scores - 1) / k. Keras 3.15 sums the cumulative sums over
    # the support instead, which is wrong whenever k > 1 (keras-team/keras#23425).
    total = sum(where(support, descending, zeros_like(descending)),  # noqa: F821
                axis=axis, keepdims=True)
    tau = divide(subtract(total, 1.0), k)  # noqa: F821
    return maximum(subtract(x, tau), 0.0)  # noqa: F821


def squareplus(x, b: float = 4):
    """(x + sqrt(x^2 + b)) / 2: a smooth ReLU made of a square root instead of exp and log.

    Args:
        x: Input tensor.
        b: Non-negative float, the smoothness near 0 (b = 0 gives the ReLU).

    Returns:
        A tensor of `x`'s shape.
    """
    x = convert_to_tensor(x)
    return multiply(0.5, add(x, sqrt(add(square(x), b))))  # noqa: F821


def tanh_shrink(x):
    """x - tanh(x).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    x = convert_to_tensor(x)
    return subtract(x, tanh(x))  # noqa: F821


def threshold(x, threshold, default_value):
    """x where x > threshold, else `default_value`.

    Args:
        x: Input tensor.
        threshold: Float; inputs at or below it are replaced.
        default_value: Float, what replaces them.

    Returns:
        A tensor of `x`'s shape.
    """
    x = convert_to_tensor(x)
    return where(greater(x, threshold), x, full_like(x, default_value))  # noqa: F821


hard_swish = hard_silu  # noqa: F821  (Keras's other name for it)

# --- end of the activation ops block --------------------------------------------------------------

# The rest of keras.ops.nn, written against the ops above.
from nhanh.ops.attention import *  # noqa: E402,F401,F403
from nhanh.ops.ctc_decode import *  # noqa: E402,F401,F403
from nhanh.ops.nn_functions import *  # noqa: E402,F401,F403
from nhanh.ops.spatial import *  # noqa: E402,F401,F403
