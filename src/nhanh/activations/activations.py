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


def celu(x, alpha: float = 1.0):
    """x for x >= 0, alpha * (exp(x / alpha) - 1) below: an ELU with slope 1 at 0 for any alpha.

    Args:
        x: Input tensor.
        alpha: Positive float, the limit of -output for very negative inputs.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.celu(x, alpha=alpha)


def glu(x, axis: int = -1):
    """Gated linear unit: `x` split in halves a, b along `axis`, then a * sigmoid(b).

    Args:
        x: Input tensor whose size along `axis` is even.
        axis: Int, the axis that is split.

    Returns:
        A tensor of `x`'s shape with `axis` halved.
    """
    return ops.glu(x, axis=axis)


def hard_shrink(x, threshold: float = 0.5):
    """x where |x| > threshold, else 0.

    Args:
        x: Input tensor.
        threshold: Float, the half-width of the band around 0 that is zeroed.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.hard_shrink(x, threshold=threshold)


def hard_tanh(x):
    """x clipped to [-1, 1]: a tanh that costs a comparison.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.hard_tanh(x)


def log_sigmoid(x):
    """log(sigmoid(x)), computed stably as -softplus(-x).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.log_sigmoid(x)


def soft_shrink(x, threshold: float = 0.5):
    """x moved `threshold` towards 0, and 0 where |x| <= threshold.

    Args:
        x: Input tensor.
        threshold: Float, the amount taken off |x|.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.soft_shrink(x, threshold=threshold)


def sparse_plus(x):
    """0 below -1, x above 1, (x + 1)^2 / 4 between: a softplus with exact zeros.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.sparse_plus(x)


def sparse_sigmoid(x):
    """0 below -1, 1 above 1, (x + 1) / 2 between: a sigmoid with exact zeros and ones.

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.sparse_sigmoid(x)


def sparsemax(x, axis: int = -1):
    """A softmax that gives exact zeros: the projection of `x` onto the simplex along `axis`.

    Args:
        x: Input tensor.
        axis: Int, the axis that sums to 1.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.sparsemax(x, axis=axis)


def squareplus(x, b: float = 4):
    """(x + sqrt(x^2 + b)) / 2: a smooth ReLU without exp or log.

    Args:
        x: Input tensor.
        b: Non-negative float, the smoothness near 0.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.squareplus(x, b=b)


def tanh_shrink(x):
    """x - tanh(x).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.tanh_shrink(x)


def threshold(x, threshold, default_value):
    """x where x > threshold, else `default_value` (both arguments required, as in Keras).

    Args:
        x: Input tensor.
        threshold: Float; inputs at or below it are replaced.
        default_value: Float, what replaces them.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.threshold(x, threshold, default_value)


ALL_FUNCTIONS = (
    linear, relu, relu6, leaky_relu, sigmoid, tanh, softmax, log_softmax, elu, selu, softplus,
    softsign, silu, gelu, hard_sigmoid, hard_silu, exponential, mish, celu, glu, hard_shrink,
    hard_tanh, log_sigmoid, soft_shrink, sparse_plus, sparse_sigmoid, sparsemax, squareplus,
    tanh_shrink, threshold,
)
