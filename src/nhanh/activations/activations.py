"""Activation functions, Keras 3 names and defaults, written once against nhanh.ops.

Each takes an array (or Variable) of the current backend and returns an array of the same shape,
so layers, losses and user code can use them on JAX and on PyTorch alike.
"""

from __future__ import annotations

from nhanh import ops


def linear(x):
    """The identity: what a layer computes when it has no activation.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.convert_to_tensor(x)


def relu(x, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0):
    """Rectified linear unit, Keras 3's general form.

    Returns `x` where `x > threshold`, else `negative_slope * (x - threshold)`; the result is then
    capped at `max_value` (the capping applies before the negative part, as in Keras).

    Args:
        x: Input tensor.
        negative_slope: Float, the slope below `threshold`; 0 gives the plain ReLU.
        max_value: Float upper bound of the output, or `None` for none.
        threshold: Float; inputs at or below it are treated as negative.

    Returns:
        A tensor of `x`'s shape.
    """
    x = ops.convert_to_tensor(x)
    if negative_slope and max_value is None and threshold == 0:
        return ops.leaky_relu(x, negative_slope)
    if threshold != 0:
        positive = ops.where(ops.greater(x, threshold), x, ops.zeros_like(x))
    elif max_value == 6:
        positive, max_value = ops.relu6(x), None
    else:
        positive = ops.relu(x)
    if max_value is not None:
        positive = ops.clip(positive, 0.0, float(max_value))
    if negative_slope:
        positive = positive - negative_slope * ops.relu(threshold - x)
    return positive


def relu6(x):
    """min(max(x, 0), 6): a ReLU that cannot grow without bound (mobile networks use it).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.relu6(x)


def leaky_relu(x, negative_slope: float = 0.2):
    """x for x >= 0, negative_slope * x otherwise: keeps a gradient for negative inputs.

    Args:
        x: Input tensor.
        negative_slope: Float, the slope for negative inputs.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.leaky_relu(x, negative_slope)


def sigmoid(x):
    """1 / (1 + exp(-x)): a probability for binary outputs.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.sigmoid(x)


def tanh(x):
    """Hyperbolic tangent, a zero-centred squashing to (-1, 1).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.tanh(x)


def softmax(x, axis: int = -1):
    """exp(x) / sum(exp(x)) along `axis`: a probability distribution over classes.

    Args:
        x: Input tensor.
        axis: Int, the axis that sums to 1.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis: int = -1):
    """log(softmax(x)), computed stably (no log of an underflowed probability).

    Args:
        x: Input tensor.
        axis: Int, the axis the softmax normalizes over.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.log_softmax(x, axis=axis)


def elu(x, alpha: float = 1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise: smooth, with negative outputs.

    Args:
        x: Input tensor.
        alpha: Float, the limit of -output for very negative inputs.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.elu(x, alpha)


def selu(x):
    """Scaled ELU whose fixed constants keep activations self-normalising.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.selu(x)


def softplus(x):
    """log(1 + exp(x)): a smooth ReLU.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.softplus(x)


def softsign(x):
    """x / (1 + |x|): a squashing with polynomial, not exponential, tails.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.softsign(x)


def silu(x):
    """x * sigmoid(x) (also called swish).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.silu(x)


swish = silu


def gelu(x, approximate: bool = False):
    """Gaussian error linear unit x * Phi(x); `approximate` uses the tanh formula.

    Args:
        x: Input tensor.
        approximate: If True, use the faster tanh approximation of Phi; otherwise the exact (erf)
            form.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.gelu(x, approximate=approximate)


def hard_sigmoid(x):
    """relu6(x + 3) / 6: a piecewise-linear sigmoid that is cheap to compute.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.hard_sigmoid(x)


def hard_silu(x):
    """x * hard_sigmoid(x) (also called hard_swish).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.hard_silu(x)


hard_swish = hard_silu


def exponential(x):
    """exp(x).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.exp(x)


def mish(x):
    """x * tanh(softplus(x)): a smooth, non-monotonic ReLU alternative.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.mish(x)


# Keras 3's newer activations are the ops of the same name, written once in nhanh.ops.
celu, glu, hard_shrink, hard_tanh, log_sigmoid, soft_shrink = (
    ops.celu, ops.glu, ops.hard_shrink, ops.hard_tanh, ops.log_sigmoid, ops.soft_shrink)
sparse_plus, sparse_sigmoid, sparsemax, squareplus, tanh_shrink, threshold = (
    ops.sparse_plus, ops.sparse_sigmoid, ops.sparsemax, ops.squareplus, ops.tanh_shrink,
    ops.threshold)


ALL_FUNCTIONS = (
    linear, relu, relu6, leaky_relu, sigmoid, tanh, softmax, log_softmax, elu, selu, softplus,
    softsign, silu, gelu, hard_sigmoid, hard_silu, exponential, mish, celu, glu, hard_shrink,
    hard_tanh, log_sigmoid, soft_shrink, sparse_plus, sparse_sigmoid, sparsemax, squareplus,
    tanh_shrink, threshold,
)
