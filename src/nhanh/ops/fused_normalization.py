"""Normalizations that engines run as one fused kernel, behind one op each.

Not Keras names: layers call them (BatchNormalization in training, LayerNormalization), and so
may users who want the same speed. An engine with such a kernel (PyTorch) provides the op in
its `nn` module, returning None where the kernel does not apply; elsewhere (JAX, whose
compiler fuses the formula itself) the op is written out here.
"""

from __future__ import annotations

from nhanh import backend as _backend
from nhanh import ops
from nhanh.variables import Variable

__all__ = ["batch_norm_training", "layer_norm"]


def _array(v):
    return v.value if isinstance(v, Variable) else v


def _fused(name: str, *args):
    kernel = getattr(_backend.get().nn, name, None)
    return None if kernel is None else kernel(*args)


def batch_norm_training(x, axis: int, gamma=None, beta=None, epsilon: float = 1e-3):
    """Training-mode batch normalization: the outputs and the batch statistics they use.

    Statistics are taken over every axis but `axis`; the outputs are
    `(x - mean) / sqrt(variance + epsilon) * gamma + beta`. On PyTorch this is torch's fused
    batch-norm kernel (forward and backward), on JAX the formula, which XLA fuses.

    Args:
        x: Float input tensor of rank >= 2.
        axis: Int, the features axis (negative counts from the end).
        gamma: Optional scale, a vector of length `x.shape[axis]`.
        beta: Optional offset, a vector of length `x.shape[axis]`.
        epsilon: Small float added to the variance.

    Returns:
        A tuple (outputs of x's shape, batch mean, biased batch variance), the statistics as
        vectors of length `x.shape[axis]`.
    """
    x, gamma, beta = _array(x), _array(gamma), _array(beta)
    rank = ops.ndim(x)
    if isinstance(axis, bool) or not isinstance(axis, int) or not -rank <= axis < rank:
        raise ValueError(f"batch_norm_training: axis must be an int in [{-rank}, {rank}) for "
                         f"inputs of shape {ops.shape(x)}, got axis={axis!r}.")
    fused = _fused("batch_norm_training", x, axis, gamma, beta, epsilon)
    if fused is not None:
        return fused
    axis %= rank
    axes = tuple(i for i in range(rank) if i != axis)
    shape = tuple(ops.shape(x)[axis] if i == axis else 1 for i in range(rank))
    mean, variance = ops.mean(x, axis=axes), ops.var(x, axis=axes)
    inv = ops.rsqrt(ops.reshape(variance, shape) + epsilon)
    if gamma is not None:
        inv = inv * ops.reshape(gamma, shape)
    shift = -ops.reshape(mean, shape) * inv
    if beta is not None:
        shift = shift + ops.reshape(beta, shape)
    return x * inv + shift, mean, variance


def layer_norm(x, axes, gamma=None, beta=None, epsilon: float = 1e-3):
    """Layer normalization over `axes` of each sample:
    `(x - mean) / sqrt(variance + epsilon) * gamma + beta`.

    On PyTorch this is torch's fused layer-norm kernel when `axes` are the last axes, on JAX
    the formula, which XLA fuses; elsewhere the formula.

    Args:
        x: Float input tensor.
        axes: Int or sequence of ints, the normalized axes (negative counts from the end).
        gamma: Optional scale, of the normalized axes' shape.
        beta: Optional offset, of the normalized axes' shape.
        epsilon: Small float added to the variance.

    Returns:
        A tensor of x's shape and dtype.
    """
    x, gamma, beta = _array(x), _array(gamma), _array(beta)
    rank = ops.ndim(x)
    given = [axes] if isinstance(axes, int) else list(axes)
    if not given or any(isinstance(a, bool) or not isinstance(a, int) or not -rank <= a < rank
                        for a in given):
        raise ValueError(f"layer_norm: axes must be ints in [{-rank}, {rank}) for inputs of "
                         f"shape {ops.shape(x)}, got axes={axes!r}.")
    axes = tuple(sorted({a % rank for a in given}))
    fused = _fused("layer_norm", x, axes, gamma, beta, epsilon)
    if fused is not None:
        return fused
    shape = tuple(d if i in axes else 1 for i, d in enumerate(ops.shape(x)))
    variance = ops.var(x, axis=axes, keepdims=True)
    inv = ops.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * ops.reshape(gamma, shape)
    shift = -ops.mean(x, axis=axes, keepdims=True) * inv
    if beta is not None:
        shift = shift + ops.reshape(beta, shape)
    return x * inv + shift
