"""Preprocessing layers: Normalization (feature standardization, adapted on the host) and
CategoryEncoding (integer tokens to one-hot, multi-hot or count vectors)."""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from nhanh import config, ops
from nhanh.layers.layer import InputSpec, Layer
from nhanh.layers.normalization import canonical_axes, known_sizes


class Normalization(Layer):
    """outputs = (inputs - mean) / max(sqrt(variance), epsilon), per position of `axis`
    (the kept axes; all others are reduced over), or the inverse with `invert=True`.

    Either give `mean` and `variance`, which become constants (no weights, as in Keras), or
    call `adapt(data)` before training: it computes them on the host with NumPy, in float64,
    and stores them in the non-trainable weights `mean`, `variance` and `count` (Keras's names
    and order). axis=None keeps no axis: one scalar mean and variance.

    Args:
        axis: Int, tuple of ints, or `None`: the axes that keep their own mean and variance (e.g.
            -1, one per feature); every other axis is reduced over.
        mean: Mean to subtract, broadcastable to the kept axes; give it with `variance`, or leave
            both `None` and call `adapt()`.
        variance: Variance to divide by (through its square root), of `mean`'s shape.
        invert: If True, undo the normalization: `inputs * sqrt(variance) + mean`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, axis: int | tuple[int, ...] | None = -1, mean=None, variance=None,
                 invert: bool = False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int) and not isinstance(axis, bool):
            axis = (axis,)
        elif isinstance(axis, (list, tuple)) and all(
                isinstance(a, int) and not isinstance(a, bool) for a in axis):
            axis = tuple(axis)
        else:
            raise TypeError(f"Normalization: axis must be an int, a tuple of ints or None, got "
                            f"axis={axis!r}.")
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both mean and variance, or neither (and call "
                             f"adapt()); got mean={mean!r}, variance={variance!r}.")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"Normalization: mean and variance must have the same shape, "
                                 f"got {np.shape(mean)} and {np.shape(variance)}.")
            if np.ndim(mean) > len(axis):
                raise ValueError(f"Normalization: mean of shape {np.shape(mean)} has more axes "
                                 f"than the kept axis {axis}.")
        self.axis, self.invert = axis, bool(invert)
        self.input_mean, self.input_variance = mean, variance
        self.adapt_mean = self.adapt_variance = self.count = None

    def build(self, input_shape) -> None:
        rank = len(input_shape)
        keep = canonical_axes(self, list(self.axis), input_shape) if self.axis else []
        sizes = known_sizes(self, keep, input_shape) if keep else []
        self._keep_axes, self._reduce_axes = tuple(keep), tuple(
            i for i in range(rank) if i not in keep)
        self._broadcast_shape = tuple(input_shape[i] if i in keep else 1 for i in range(rank))
        self._stat_shape = tuple(sizes)
        if keep:
            self.input_spec = InputSpec(ndim=rank, axes=dict(zip(keep, sizes)))
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(self._stat_shape, "zeros", trainable=False,
                                              name="mean")
            self.adapt_variance = self.add_weight(self._stat_shape, "ones", trainable=False,
                                                  name="variance")
            self.count = self.add_weight((), _zero_count, dtype="int32", trainable=False,
                                         name="count")
        else:
            self._constant_mean = self._as_broadcast(self.input_mean, "mean")
            self._constant_variance = self._as_broadcast(self.input_variance, "variance")

    @property
    def mean(self):
        """The mean in use, shaped to broadcast against inputs (Keras's attribute): the
        adapted one (`adapt_mean`, reshaped) or the given one; None before the layer is built."""
        return self._stat("mean")

    @property
    def variance(self):
        """The variance in use, shaped like `mean`; None before the layer is built."""
        return self._stat("variance")

    def _stat(self, which: str):
        if not self.built:
            return None
        if self.input_mean is not None:
            return ops.convert_to_tensor(getattr(self, f"_constant_{which}"), self.dtype)
        return ops.reshape(getattr(self, f"adapt_{which}").value, self._broadcast_shape)

    def _as_broadcast(self, value, name: str) -> np.ndarray:
        """A user-given mean/variance (scalar, or the kept axes' sizes from the end) reshaped to
        broadcast against inputs."""
        value = np.asarray(value, dtype="float64")
        expanded = [1] * len(self._broadcast_shape)
        for i in range(1, value.ndim + 1):
            expanded[self._keep_axes[-i]] = value.shape[-i]
        try:
            return np.broadcast_to(value.reshape(expanded), self._broadcast_shape).astype(
                self.dtype)
        except ValueError:
            raise ValueError(f"Layer {self.name!r} (Normalization): {name} of shape "
                             f"{value.shape} does not fit the kept axes {self.axis} of input "
                             f"shape {self._build_input_shape}.") from None

    def adapt(self, data) -> None:
        """Set mean and variance from `data`: an array, a backend tensor, or an iterable of
        batches (arrays, or (x, y) tuples whose x is used), merged exactly (Chan's formula)."""
        batches = _batches(data)
        first = next(batches, None)
        if first is None:
            raise ValueError(f"Layer {self.name!r} (Normalization): adapt() received no data.")
        if self.input_mean is not None:
            raise ValueError(f"Layer {self.name!r} (Normalization): it was given mean and "
                             "variance; adapt() would not change them. Create it without them.")
        self._maybe_build(tuple(first.shape))
        total_mean = total_var = None
        total = 0
        for batch in _chain(first, batches):
            self._check_adapt_shape(batch.shape)
            mean = batch.mean(axis=self._reduce_axes)
            var = batch.var(axis=self._reduce_axes)
            n = math.prod(batch.shape[i] for i in self._reduce_axes)
            if n == 0:
                continue
            if total_mean is None:
                total_mean, total_var, total = mean, var, n
                continue
            new_total = total + n
            delta = mean - total_mean
            total_mean = total_mean + delta * (n / new_total)
            total_var = (total_var * total + var * n + delta ** 2 * (total * n / new_total)) \
                / new_total
            total = new_total
        if total_mean is None:
            raise ValueError(f"Layer {self.name!r} (Normalization): adapt() received only empty "
                             "batches.")
        self.adapt_mean.assign(np.asarray(total_mean).reshape(self._stat_shape))
        self.adapt_variance.assign(np.asarray(total_var).reshape(self._stat_shape))
        self.count.assign(np.asarray(min(total, 2**31 - 1), dtype="int32"))

    def _check_adapt_shape(self, shape) -> None:
        built = self._build_input_shape
        if len(shape) != len(built) or any(shape[i] != built[i] for i in self._keep_axes):
            raise ValueError(
                f"Layer {self.name!r} (Normalization) was built for input shape {built} (kept "
                f"axes {self._keep_axes}), but adapt() received data of shape {tuple(shape)}.")

    def call(self, inputs):
        x = inputs if ops.dtype(inputs) == self.dtype else ops.cast(inputs, self.dtype)
        mean, variance = self._stat("mean"), self._stat("variance")
        std = ops.maximum(ops.sqrt(variance), config.epsilon())
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": _listed(self.input_mean), "variance": _listed(self.input_variance)}


def _zero_count(shape, dtype=None) -> np.ndarray:
    # A fresh writable array: the torch backend's convert_to_tensor turns the read-only 0-d
    # array that the "zeros" initializer makes for an int dtype into shape (1,).
    return np.zeros(shape, dtype=dtype or "int32")


def _listed(value):
    return None if value is None else np.asarray(value).tolist()


def _batches(data) -> Iterator[np.ndarray]:
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return iter([_host_batch(data)])  # one array: NumPy or any engine's tensor
    if isinstance(data, (list, tuple)) and _plain_numbers(data):
        return iter([np.asarray(data, dtype="float64")])  # nested lists of numbers: one array
    if hasattr(data, "__iter__"):
        return (_host_batch(b) for b in data)
    raise TypeError(f"Normalization.adapt() expects an array, a tensor or an iterable of "
                    f"batches, got {type(data).__name__}.")


def _plain_numbers(data) -> bool:
    if isinstance(data, (list, tuple)):
        return bool(data) and all(_plain_numbers(d) for d in data)
    return isinstance(data, (int, float)) and not isinstance(data, bool)


def _host_batch(batch) -> np.ndarray:
    if isinstance(batch, (tuple, list)) and batch and hasattr(batch[0], "shape"):
        batch = batch[0]  # (x, y) or (x, y, sample_weight) from a dataset
    if ops.is_tensor(batch):
        batch = ops.convert_to_numpy(batch)
    return np.asarray(batch, dtype="float64")


def _chain(first, rest):
    yield first
    yield from rest


class CategoryEncoding(Layer):
    """Encodes integer tokens in [0, num_tokens) as vectors of length num_tokens.

    - 'multi_hot': per sample (the last axis holds its tokens), 1 where a token occurs;
    - 'count': per sample, how often each token occurs (times `count_weights` if given);
    - 'one_hot': one vector per token (a trailing axis of size 1 is replaced).

    Tokens outside [0, num_tokens) are rejected when they come as host data (NumPy, lists); on
    device arrays they are not checked (that would synchronise) and encode as zeros.
    Only dense outputs (sparse=False) are supported.

    Args:
        num_tokens: Positive int, the number of distinct tokens (the output length).
        output_mode: `"multi_hot"` (Keras 2's `"binary"` is accepted too), `"count"` or
            `"one_hot"`, as above.
        sparse: Must be False; True raises, since sparse outputs are not supported.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot",
                 sparse: bool = False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"  # Keras 2 spelling
        if output_mode not in ("multi_hot", "one_hot", "count"):
            raise ValueError("CategoryEncoding: output_mode must be 'multi_hot', 'one_hot' or "
                             f"'count', got output_mode={output_mode!r}.")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens < 1:
            raise ValueError("CategoryEncoding: num_tokens must be a positive integer (the "
                             f"number of distinct tokens), got num_tokens={num_tokens!r}.")
        if sparse:
            raise ValueError("CategoryEncoding: sparse=True is not supported in nhanh; outputs "
                             "are dense. Use sparse=False.")
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, False

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, (np.ndarray, np.integer, int, list, tuple)):  # host data only
            host = np.asarray(inputs)
            if host.dtype.kind in "iuf" and host.size and (
                    host.min() < 0 or host.max() >= self.num_tokens):
                raise ValueError(
                    f"Layer {self.name!r} (CategoryEncoding) expects tokens in [0, "
                    f"{self.num_tokens}), but received values from {host.min()} to "
                    f"{host.max()}. Raise num_tokens or map the tokens first.")
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"Layer {self.name!r} (CategoryEncoding): count_weights is only used "
                             f"with output_mode='count', not {self.output_mode!r}.")
        tokens = ops.cast(inputs, "int32")
        if ops.ndim(tokens) == 0:
            tokens = ops.reshape(tokens, (1,))
        shape = ops.shape(tokens)
        if self.output_mode == "one_hot" and len(shape) > 1 and shape[-1] == 1:
            tokens = ops.reshape(tokens, shape[:-1])
        # Comparison with arange instead of one_hot: out-of-range tokens give zero rows on every
        # backend (torch's one_hot raises, jax's gives zeros).
        hot = ops.cast(ops.equal(ops.expand_dims(tokens, -1),
                                 ops.arange(self.num_tokens, dtype="int32")), self.dtype)
        if self.output_mode == "one_hot":
            return hot
        if self.output_mode == "multi_hot":
            return ops.max(hot, axis=-2)
        if count_weights is not None:
            weights = ops.convert_to_tensor(count_weights, self.dtype)
            hot = hot * ops.expand_dims(weights, -1)
        return ops.sum(hot, axis=-2)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return (*input_shape[:-1], self.num_tokens)
            return (*input_shape, self.num_tokens)
        return (*input_shape[:-1], self.num_tokens)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode, "sparse": self.sparse}
