"""keras.ops' nn functions written once against nhanh.ops: swish and cdist, statistics and
normalizations, crossentropies and multi-hot encoding, with Keras 3's names, signatures,
defaults and values. Patches and adaptive pooling are in spatial.py, attention in
attention.py, CTC decoding in ctc_decode.py.
"""

from __future__ import annotations

import warnings

import numpy as np

from nhanh import backend as _backend
from nhanh import config, dtypes, ops

__all__ = ["batch_normalization", "binary_crossentropy", "categorical_crossentropy", "cdist", "layer_normalization", "moments", "multi_hot", "normalize", "psnr", "rms_normalization", "sparse_categorical_crossentropy", "swish"]

# --- small helpers --------------------------------------------------------------------------------

def promoted_float_dtype(*xs) -> str:
    """The floating dtype the inputs promote to (floatx when they are all integers/bools)."""
    dtype = dtypes.result_type(*(ops.dtype(x) for x in xs))
    return dtype if dtypes.is_float_dtype(dtype) else config.floatx()


def statistics_dtype(x) -> str:
    """At least float32: statistics of half-precision inputs are computed in float32."""
    return dtypes.result_type(ops.dtype(x), "float32")


def _axes(axis, rank: int, op: str) -> tuple[int, ...]:
    items = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in items:
        if not -rank <= a < rank:
            raise ValueError(f"{op}: axis {a} is out of range for an input of rank {rank}; "
                             f"use axes in [{-rank}, {rank}).")
        out.append(a % rank)
    return tuple(sorted(out))


# --- activations and distances --------------------------------------------------------------------

def swish(x):
    """Keras's other name for `silu`: x * sigmoid(x).

    Args:
        x: Input tensor.

    Returns:
        A tensor of `x`'s shape.
    """
    return ops.silu(x)


def cdist(x, y):
    """Euclidean distances between every row vector of `x` and every row vector of `y`.

    Args:
        x: Tensor of shape (..., m, d).
        y: Tensor of shape (..., n, d); its leading axes broadcast against `x`'s.

    Returns:
        A tensor of shape (..., m, n).
    """
    x, y = ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    if ops.ndim(x) < 2 or ops.ndim(y) < 2 or ops.shape(x)[-1] != ops.shape(y)[-1]:
        raise ValueError("cdist expects x (..., m, d) and y (..., n, d) of rank >= 2 with the "
                         f"same last axis, got shapes {ops.shape(x)} and {ops.shape(y)}.")
    diff = ops.subtract(ops.expand_dims(x, -2), ops.expand_dims(y, -3))
    return ops.sqrt(ops.sum(ops.square(diff), axis=-1))


# --- statistics and normalizations ----------------------------------------------------------------

def moments(x, axes, keepdims: bool = False, synchronized: bool = False):
    """Mean and (population) variance of `x` over `axes`.

    Half-precision inputs are reduced in float32 and the results cast back (clipped to the
    float16 range), as in Keras.

    Args:
        x: Input tensor.
        axes: Int or list of ints, the axes reduced.
        keepdims: Whether the reduced axes stay, with size 1.
        synchronized: Accepted for Keras compatibility (it concerns TensorFlow's distribution
            strategies) and ignored.

    Returns:
        A tuple (mean, variance).
    """
    del synchronized
    x = ops.convert_to_tensor(x)
    original = ops.dtype(x)
    axes = _axes(axes, ops.ndim(x), "moments")
    if original in ("float16", "bfloat16"):
        x = ops.cast(x, "float32")
    mean = ops.mean(x, axis=axes, keepdims=keepdims)
    variance = ops.var(x, axis=axes, keepdims=keepdims)
    if original in ("float16", "bfloat16"):
        top = float(np.finfo(np.float16).max)
        mean = ops.cast(ops.clip(mean, -top, top), original)
        variance = ops.cast(ops.clip(variance, -top, top), original)
    return mean, variance


def batch_normalization(x, mean, variance, axis: int, offset=None, scale=None,
                        epsilon: float = 1e-3):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, the vectors laid along `axis`.

    Args:
        x: Input tensor.
        mean: Vector of length `x.shape[axis]`.
        variance: Vector of length `x.shape[axis]`.
        axis: Int, the axis the vectors run along (the channels).
        offset: Optional vector added after normalizing.
        scale: Optional vector multiplied after normalizing.
        epsilon: Small float added to the variance.

    Returns:
        A tensor of `x`'s shape.
    """
    x = ops.convert_to_tensor(x)
    rank = ops.ndim(x)
    axis = _axes(axis, rank, "batch_normalization")[0]
    size = ops.shape(x)[axis]
    shape = [1] * rank
    shape[axis] = size

    def along(v, name):
        v = ops.convert_to_tensor(v, ops.dtype(x))
        if ops.shape(v) != (size,):
            raise ValueError(f"batch_normalization: `{name}` must be a vector of length "
                             f"x.shape[axis] = {size}, got shape {ops.shape(v)}.")
        return ops.reshape(v, shape)

    inv = ops.rsqrt(ops.add(along(variance, "variance"), epsilon))
    if scale is not None:
        inv = ops.multiply(inv, along(scale, "scale"))
    shift = ops.negative(ops.multiply(along(mean, "mean"), inv))
    if offset is not None:
        shift = ops.add(shift, along(offset, "offset"))
    return ops.add(ops.multiply(x, inv), shift)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon: float | None = None,
                        **kwargs):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta, statistics over `axis` of each
    sample (Ba et al., 2016), computed in at least float32 and cast back to `x`'s dtype.

    Args:
        x: Input tensor.
        gamma: Optional scale, shaped like the normalized axes (or broadcastable to `x`).
        beta: Optional offset, shaped like `gamma`.
        axis: Int or list of ints, the axes normalized.
        epsilon: Small float added to the variance; `None` means `nhanh.config.epsilon()`.
        **kwargs: `rms_scaling=True` (deprecated in Keras, with a warning) divides by
            sqrt(variance + epsilon) without centering; use `rms_normalization` instead.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization got unexpected keyword arguments {sorted(kwargs)}.")
    if rms_scaling:
        warnings.warn("layer_normalization(rms_scaling=True) is deprecated: it scales by the "
                      "variance, not the root mean square. Use ops.rms_normalization instead.",
                      stacklevel=2)
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = ops.convert_to_tensor(x)
    original = ops.dtype(x)
    x = ops.cast(x, statistics_dtype(x))
    rank = ops.ndim(x)
    axes = _axes(axis, rank, "layer_normalization")
    shape = [ops.shape(x)[a] if a in axes else 1 for a in range(rank)]
    kernel = getattr(_backend.get().nn, "layer_norm", None)  # an engine's fused kernel
    if kernel is not None and not rms_scaling:
        out = kernel(x, axes, *(None if v is None else ops.convert_to_tensor(v, ops.dtype(x))
                                for v in (gamma, beta)), epsilon)
        if out is not None:  # (None: the kernel does not take these axes or shapes)
            return ops.cast(out, original)

    def spread(v):
        if v is None:
            return None
        v = ops.convert_to_tensor(v, ops.dtype(x))
        if ops.ndim(v) != rank and axes != (rank - 1,):
            v = ops.reshape(v, shape)
        return v

    gamma, beta = spread(gamma), spread(beta)
    if rms_scaling:
        out = ops.multiply(x, ops.rsqrt(ops.add(ops.var(x, axis=axes, keepdims=True), epsilon)))
        out = out if gamma is None else ops.multiply(out, gamma)
    else:
        mean, variance = moments(x, axes, keepdims=True)
        inv = ops.rsqrt(ops.add(variance, epsilon))
        if gamma is not None:
            inv = ops.multiply(inv, gamma)
        shift = ops.negative(ops.multiply(mean, inv))
        if beta is not None:
            shift = ops.add(shift, beta)
        out = ops.add(ops.multiply(x, inv), shift)
    return ops.cast(out, original)


def rms_normalization(x, scale=None, axis=-1, epsilon: float | None = None):
    """x / sqrt(mean(x**2 over `axis`) + epsilon) * scale (Zhang & Sennrich, 2019), computed
    in at least float32 and cast back to `x`'s dtype.

    Args:
        x: Input tensor.
        scale: Optional multiplier, broadcast against `x`.
        axis: Int or list of ints, the axes the mean square is taken over.
        epsilon: Small float added to the mean square; `None` means `nhanh.config.epsilon()`.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = ops.convert_to_tensor(x)
    original = ops.dtype(x)
    x = ops.cast(x, statistics_dtype(x))
    if ops.ndim(x) == 0:
        x = ops.expand_dims(x, 0)
    axes = _axes(axis, ops.ndim(x), "rms_normalization")
    mean_square = ops.mean(ops.square(x), axis=axes, keepdims=True)
    out = ops.multiply(x, ops.rsqrt(ops.add(mean_square, epsilon)))
    if scale is not None:
        out = ops.multiply(out, ops.convert_to_tensor(scale, ops.dtype(x)))
    return ops.cast(out, original)


def normalize(x, axis=-1, order: int = 2, epsilon: float | None = None):
    """x / max(norm(x over `axis`), epsilon): unit vectors (zero vectors stay zero).

    Args:
        x: Input tensor.
        axis: Int or tuple of ints, the axes the norm is taken over.
        order: Int >= 1, the norm's exponent (2: Euclidean).
        epsilon: Lower bound of the norm; `None` means `nhanh.config.epsilon()`.

    Returns:
        A tensor of `x`'s shape.
    """
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"normalize: `order` must be an int >= 1, got order={order!r}.")
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = ops.convert_to_tensor(x)
    x = ops.cast(x, promoted_float_dtype(x))
    if ops.ndim(x) == 0:
        x = ops.expand_dims(x, 0)
    if order == 2:  # the squared norm is clipped, so zero vectors have a finite gradient
        square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
        return ops.multiply(x, ops.rsqrt(ops.maximum(square_sum, epsilon * epsilon)))
    norm = ops.norm(x, ord=order, axis=axis, keepdims=True)
    return ops.divide(x, ops.maximum(norm, epsilon))


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio, 20 log10(max_val) - 10 log10(mean((x1 - x2)**2)), over all
    entries.

    Args:
        x1: The first signal.
        x2: The second signal, of `x1`'s shape.
        max_val: The largest value a signal can take (1.0 for images in [0, 1], 255 ...).

    Returns:
        A scalar tensor.
    """
    x1, x2 = ops.convert_to_tensor(x1), ops.convert_to_tensor(x2)
    if ops.shape(x1) != ops.shape(x2):
        raise ValueError(f"psnr: x1 and x2 must have the same shape, got {ops.shape(x1)} and "
                         f"{ops.shape(x2)}.")
    dtype = promoted_float_dtype(x1, x2)
    x1, x2 = ops.cast(x1, dtype), ops.cast(x2, dtype)
    mse = ops.mean(ops.square(ops.subtract(x1, x2)))
    peak = ops.log10(ops.convert_to_tensor(max_val, dtype))
    return ops.subtract(ops.multiply(20.0, peak), ops.multiply(10.0, ops.log10(mse)))


# --- crossentropies and encodings -----------------------------------------------------------------

def _log_probabilities(output, from_logits: bool, axis: int):
    if from_logits:
        return ops.log_softmax(output, axis=axis)
    output = ops.divide(output, ops.sum(output, axis=axis, keepdims=True))
    eps = config.epsilon()
    return ops.log(ops.clip(output, eps, 1.0 - eps))


def _one_hot_along(indices, depth: int, axis: int, dtype: str):
    """one_hot with the classes along `axis` of the result (out-of-range indices: all zero)."""
    indices = ops.expand_dims(indices, axis)
    rank = ops.ndim(indices)
    classes = ops.reshape(ops.arange(depth, dtype=ops.dtype(indices)),
                          [depth if i == axis % rank else 1 for i in range(rank)])
    return ops.cast(ops.equal(indices, classes), dtype)


def binary_crossentropy(target, output, from_logits: bool = False):
    """Elementwise -(t log p + (1 - t) log(1 - p)), p clipped to [epsilon, 1 - epsilon].

    Args:
        target: Tensor of labels in [0, 1].
        output: Tensor of `target`'s shape: probabilities, or logits with `from_logits`.
        from_logits: Whether `output` holds logits (then log-sigmoids are used, without
            clipping).

    Returns:
        A tensor of `target`'s shape.
    """
    target, output = ops.convert_to_tensor(target), ops.convert_to_tensor(output)
    if ops.shape(target) != ops.shape(output):
        raise ValueError("binary_crossentropy: target and output must have the same shape, got "
                         f"{ops.shape(target)} and {ops.shape(output)}.")
    target = ops.cast(target, ops.dtype(output))
    if from_logits:
        return ops.subtract(ops.negative(ops.multiply(target, ops.log_sigmoid(output))),
                            ops.multiply(ops.subtract(1.0, target),
                                         ops.log_sigmoid(ops.negative(output))))
    eps = config.epsilon()
    output = ops.clip(output, eps, 1.0 - eps)
    return ops.negative(ops.add(ops.multiply(target, ops.log(output)),
                                ops.multiply(ops.subtract(1.0, target),
                                             ops.log(ops.subtract(1.0, output)))))


def categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1):
    """-sum(target * log p) along `axis`; probabilities are renormalized and clipped first.

    Args:
        target: One-hot (or soft) labels, of `output`'s shape.
        output: Probabilities, or logits with `from_logits`.
        from_logits: Whether `output` holds logits (then a log-softmax is used).
        axis: The class axis.

    Returns:
        A tensor of `output`'s shape without `axis`.
    """
    target, output = ops.convert_to_tensor(target), ops.convert_to_tensor(output)
    if ops.shape(target) != ops.shape(output) or ops.ndim(output) < 1:
        raise ValueError("categorical_crossentropy: target and output must have the same shape "
                         f"of rank >= 1, got {ops.shape(target)} and {ops.shape(output)}.")
    log_prob = _log_probabilities(output, from_logits, axis)
    target = ops.cast(target, ops.dtype(log_prob))
    return ops.negative(ops.sum(ops.multiply(target, log_prob), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1):
    """-log p[target] along `axis`, for integer class labels.

    Args:
        target: Integer labels, shaped like `output` without `axis` (a trailing axis of size 1
            is accepted too).
        output: Probabilities, or logits with `from_logits`.
        from_logits: Whether `output` holds logits (then a log-softmax is used).
        axis: The class axis of `output`.

    Returns:
        A tensor of `output`'s shape without `axis`.
    """
    target, output = ops.convert_to_tensor(target), ops.convert_to_tensor(output)
    if ops.ndim(output) < 1:
        raise ValueError(f"sparse_categorical_crossentropy: output must have rank >= 1, got "
                         f"shape {ops.shape(output)}.")
    if ops.ndim(target) == ops.ndim(output) and ops.shape(target)[-1] == 1:
        target = ops.squeeze(target, -1)
    axis = axis % ops.ndim(output)
    expected = ops.shape(output)[:axis] + ops.shape(output)[axis + 1:]
    if ops.shape(target) != expected:
        raise ValueError("sparse_categorical_crossentropy: target must have output's shape "
                         f"without the class axis, {expected}, got {ops.shape(target)}.")
    log_prob = _log_probabilities(output, from_logits, axis)
    hot = _one_hot_along(ops.cast(target, "int32"), ops.shape(output)[axis], axis,
                         ops.dtype(log_prob))
    return ops.negative(ops.sum(ops.multiply(hot, log_prob), axis=axis))


def multi_hot(inputs, num_classes: int | None = None, axis: int = -1, dtype=None,
              sparse: bool = False, **kwargs):
    """Integer labels encoded as multi-hot vectors: 1 for each class present in a sample.

    Args:
        inputs: Integer tensor of labels, (batch, labels) or (labels,).
        num_classes: Int, the number of classes (Keras's older `num_tokens` is accepted).
        axis: Where the class axis goes in the one-hot encoding before the labels are merged.
        dtype: Dtype of the result; `None` means `nhanh.config.floatx()`.
        sparse: Must be False: nhanh has no sparse tensors.
        **kwargs: `num_tokens`, the older name of `num_classes`.

    Returns:
        A tensor (batch, num_classes), or (num_classes,) for 1-D inputs.
    """
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise ValueError("multi_hot: `num_classes` must be given, e.g. multi_hot(x, "
                         "num_classes=10).")
    if sparse:
        raise ValueError("multi_hot: sparse=True is not supported (nhanh has no sparse "
                         "tensors); use sparse=False.")
    dtype = config.floatx() if dtype is None else dtype
    x = ops.convert_to_tensor(inputs)
    reduce = 1 if ops.ndim(x) > 1 else 0
    hot = _one_hot_along(ops.cast(x, "int32"), num_classes, axis, dtype)
    return ops.max(hot, axis=reduce)
