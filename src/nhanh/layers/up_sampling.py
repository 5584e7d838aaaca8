"""Up-sampling of the spatial axes: UpSampling1D (repeat steps), UpSampling2D (nearest or
bilinear), UpSampling3D (nearest)."""

from __future__ import annotations

import numpy as np

from nhanh import ops
from nhanh.layers.cropping_padding import data_format_of, int_tuple, spatial_axes
from nhanh.layers.layer import InputSpec, Layer


class UpSampling1D(Layer):
    """Repeats each step of (batch, steps, features) inputs `size` times along the steps axis.

    Args:
        size: Positive int, the up-sampling factor.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"UpSampling1D: `size` must be an integer, got {size!r}.")
        if size <= 0:
            raise ValueError(f"UpSampling1D: `size` must be a positive integer, got size={size}.")
        self.size = size
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape):
        self.input_spec.check(self, tuple(input_shape))
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])

    def call(self, inputs):
        return ops.repeat(inputs, self.size, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


_INTERPOLATIONS = ("nearest", "bilinear")


class UpSampling2D(Layer):
    """Scales images up by `size` = (rows, cols): nearest repeats pixels, bilinear interpolates
    with half-pixel centres (as jax.image.resize and torch's align_corners=False do).

    Args:
        size: Positive int or a pair `(rows, cols)` of positive ints, the up-sampling factors.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        interpolation: `"nearest"` or `"bilinear"`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, size=(2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = int_tuple(size, 2, "size", "UpSampling2D", allow_zero=False)
        self.data_format = data_format_of(data_format, "UpSampling2D")
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in _INTERPOLATIONS:
            raise ValueError(f"UpSampling2D: `interpolation` must be one of {_INTERPOLATIONS}, "
                             f"got {interpolation!r}.")
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self.input_spec.check(self, input_shape)
        out = list(input_shape)
        for axis, factor in zip(spatial_axes(self.data_format, 2), self.size):
            if out[axis] is not None:
                out[axis] *= factor
        return tuple(out)

    def call(self, inputs):
        h_axis, w_axis = spatial_axes(self.data_format, 2)
        if self.interpolation == "nearest":
            return ops.repeat(ops.repeat(inputs, self.size[0], axis=h_axis),
                              self.size[1], axis=w_axis)
        # Bilinear up-sampling is linear and separable: one small constant matrix per axis.
        dtype = ops.dtype(inputs)
        rows = ops.convert_to_tensor(_linear_weights(inputs.shape[h_axis], self.size[0]), dtype)
        cols = ops.convert_to_tensor(_linear_weights(inputs.shape[w_axis], self.size[1]), dtype)
        if self.data_format == "channels_first":
            return ops.einsum("bchw,Hh,Ww->bcHW", inputs, rows, cols)
        return ops.einsum("bhwc,Hh,Ww->bHWc", inputs, rows, cols)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


def _linear_weights(n: int, factor: int) -> np.ndarray:
    """(n * factor, n) matrix of linear interpolation with half-pixel centres, edges clamped."""
    out = np.arange(n * factor)
    source = np.clip((out + 0.5) / factor - 0.5, 0, n - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, n - 1)
    frac = source - low
    weights = np.zeros((n * factor, n))
    np.add.at(weights, (out, low), 1 - frac)
    np.add.at(weights, (out, high), frac)
    return weights.astype("float32")


class UpSampling3D(Layer):
    """Scales volumes up by `size` = (dim1, dim2, dim3), repeating each entry (nearest).

    Args:
        size: Positive int or three positive ints, the up-sampling factors of the spatial axes.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, size=(2, 2, 2), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size = int_tuple(size, 3, "size", "UpSampling3D", allow_zero=False)
        self.data_format = data_format_of(data_format, "UpSampling3D")
        self.input_spec = InputSpec(ndim=5)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self.input_spec.check(self, input_shape)
        out = list(input_shape)
        for axis, factor in zip(spatial_axes(self.data_format, 3), self.size):
            if out[axis] is not None:
                out[axis] *= factor
        return tuple(out)

    def call(self, inputs):
        for axis, factor in zip(spatial_axes(self.data_format, 3), self.size):
            inputs = ops.repeat(inputs, factor, axis=axis)
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}
