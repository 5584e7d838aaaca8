"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector (and, re-exported, cropping,
zero padding and up-sampling)."""

from __future__ import annotations

import math

from nhanh import config, ops
from nhanh.layers.layer import InputSpec, Layer


class Flatten(Layer):
    """Collapses every axis but the batch axis.

    Args:
        data_format: `"channels_first"` moves the channel axis (1) last before flattening, so the
            order of features matches a channels-last model; `"channels_last"` flattens as is.
            `None` uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or config.image_data_format()
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        if self.data_format == "channels_first" and ops.ndim(inputs) > 2:
            inputs = ops.moveaxis(inputs, 1, -1)
        return ops.reshape(inputs, (ops.shape(inputs)[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes to `target_shape` (batch axis excluded; one entry may be -1).

    Args:
        target_shape: Tuple of ints, the shape of one sample after reshaping; at most one entry may
            be -1, inferred from the input size.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape, got {self.target_shape}.")

    def compute_output_shape(self, input_shape):
        known = math.prod(d for d in self.target_shape if d != -1)
        size = None if None in input_shape[1:] else math.prod(input_shape[1:])
        if size is not None:
            if -1 not in self.target_shape and known != size or size % known:
                raise ValueError(f"Layer {self.name!r}: cannot reshape input of shape "
                                 f"{input_shape} to {self.target_shape}.")
        shape = tuple((size // known if size is not None else None) if d == -1 else d
                      for d in self.target_shape)
        return (input_shape[0], *shape)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def call(self, inputs):
        return ops.reshape(inputs, (ops.shape(inputs)[0], *self.target_shape))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Reorders the non-batch axes: `dims` is a permutation of 1..rank-1 (batch axis stays 0).

    Args:
        dims: Tuple of ints, a permutation of 1..rank-1; output axis i + 1 is input axis `dims[i]`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: `dims` must be a permutation of 1..{len(self.dims)} "
                             f"(axis 0 is the batch axis and does not move), got dims={dims!r}.")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def compute_output_shape(self, input_shape):
        self.input_spec.check(self, tuple(input_shape))
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def call(self, inputs):
        return ops.transpose(inputs, (0, *self.dims))

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats a (batch, features) input n times: (batch, n, features).

    Args:
        n: Positive int, the number of repetitions.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"RepeatVector: `n` must be an integer, got {n!r}.")
        if n <= 0:
            raise ValueError(f"RepeatVector: `n` must be a positive integer, got n={n}.")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def compute_output_shape(self, input_shape):
        self.input_spec.check(self, tuple(input_shape))
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs):
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


# Cropping, zero padding and up-sampling live in their own modules (one concept each); they are
# re-exported here because Keras groups them under `reshaping`.
from nhanh.layers.cropping_padding import (  # noqa: E402
    Cropping1D, Cropping2D, ZeroPadding1D, ZeroPadding2D,
)
from nhanh.layers.up_sampling import UpSampling1D, UpSampling2D  # noqa: E402

__all__ = ["Cropping1D", "Cropping2D", "Flatten", "Permute", "RepeatVector", "Reshape",
           "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D"]
