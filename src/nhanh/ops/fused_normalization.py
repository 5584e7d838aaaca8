"""Training-mode batch normalization as one fused kernel where an engine has one.

Not a Keras name: BatchNormalization calls it in training, and so may users who want the same
speed. An engine with such a kernel (PyTorch) provides the op in its `nn` module, returning
None where the kernel does not apply; elsewhere (JAX, whose compiler fuses the formula itself)
the op is written out here. (Layer normalization's kernel sits behind ops.layer_normalization.)
"""

from __future__ import annotations

from nhanh import backend as _backend
from nhanh import ops
from nhanh.variables import Variable

__all__ = ["batch_norm_training"]


def _array(v):
    return v.value if isinstance(v, Variable) else v


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
    kernel = getattr(_backend.get().nn, "batch_norm_training", None)
    fused = None if kernel is None else kernel(x, axis, gamma, beta, epsilon)
    if fused is not None:
        return fused
    axes = tuple(i for i in range(rank) if i != axis % rank)
    mean, variance = ops.mean(x, axis=axes), ops.var(x, axis=axes)
    return ops.batch_normalization(x, mean, variance, axis, offset=beta, scale=gamma,
                                   epsilon=epsilon), mean, variance
