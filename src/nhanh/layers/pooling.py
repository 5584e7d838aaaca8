"""Pooling layers: Max/AveragePooling1D/2D/3D and GlobalMax/GlobalAveragePooling1D/2D/3D.

'same' average pooling divides each window by the number of real (unpadded) elements it
covers, as Keras and TensorFlow do; 'same' max pooling pads with -inf.
"""

from __future__ import annotations

from nhanh import ops
from nhanh.layers.conv import (
    check_rank, normalize_data_format, normalize_padding, normalize_tuple, spatial_shape,
    with_spatial,
)
from nhanh.layers.layer import InputSpec, Layer


class Pooling(Layer):
    """Slides a pool_size window with `strides` (default: pool_size) over the spatial axes."""

    rank: int = 2
    mode: str = "max"

    def __init__(self, pool_size=2, strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(
            strides, self.rank, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def call(self, inputs):
        pool = ops.max_pool if self.mode == "max" else ops.average_pool
        return pool(inputs, self.pool_size, strides=self.strides, padding=self.padding,
                    data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self.rank)
        spatial = []
        for n, k, s in zip(spatial_shape(input_shape, self.data_format), self.pool_size,
                           self.strides):
            if n is None:
                spatial.append(None)
                continue
            out = (n - k) // s + 1 if self.padding == "valid" else (n - 1) // s + 1
            if out <= 0:
                raise ValueError(
                    f"Layer {self.name!r}: input shape {tuple(input_shape)} is smaller than "
                    f"pool_size={self.pool_size} with padding='valid'. Use padding='same' or a "
                    "smaller pool_size.")
            spatial.append(out)
        channels = input_shape[-1 if self.data_format == "channels_last" else 1]
        return with_spatial(input_shape, self.data_format, spatial, channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling1D(Pooling):
    """Maximum over windows of `pool_size` steps.

    Args:
        pool_size: Window size, an int.
        strides: Step between windows, an int; `None` means `pool_size`.
        padding: `"valid"` (windows stay inside the input) or `"same"` (the input is padded so the
            output has ceil(size / strides) positions).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank, mode = 1, "max"


class MaxPooling2D(Pooling):
    """Maximum over pool_size windows of an image.

    Args:
        pool_size: Window size, an int or a tuple of 2 ints.
        strides: Step between windows, an int or a tuple of 2 ints; `None` means `pool_size`.
        padding: `"valid"` (windows stay inside the input) or `"same"` (the input is padded so the
            output has ceil(size / strides) positions).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank, mode = 2, "max"


class MaxPooling3D(Pooling):
    """Maximum over pool_size windows of a volume.

    Args:
        pool_size: Window size, an int or a tuple of 3 ints.
        strides: Step between windows, an int or a tuple of 3 ints; `None` means `pool_size`.
        padding: `"valid"` (windows stay inside the input) or `"same"` (the input is padded so the
            output has ceil(size / strides) positions).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank, mode = 3, "max"


class AveragePooling1D(Pooling):
    """Mean over windows of `pool_size` steps.

    Args:
        pool_size: Window size, an int.
        strides: Step between windows, an int; `None` means `pool_size`.
        padding: `"valid"` (windows stay inside the input) or `"same"` (the input is padded so the
            output has ceil(size / strides) positions; padded entries are ignored).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank, mode = 1, "average"


class AveragePooling2D(Pooling):
    """Mean over pool_size windows of an image.

    Args:
        pool_size: Window size, an int or a tuple of 2 ints.
        strides: Step between windows, an int or a tuple of 2 ints; `None` means `pool_size`.
        padding: `"valid"` (windows stay inside the input) or `"same"` (the input is padded so the
            output has ceil(size / strides) positions; padded entries are ignored).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank, mode = 2, "average"


class AveragePooling3D(Pooling):
    """Mean over pool_size windows of a volume.

    Args:
        pool_size: Window size, an int or a tuple of 3 ints.
        strides: Step between windows, an int or a tuple of 3 ints; `None` means `pool_size`.
        padding: `"valid"` (windows stay inside the input) or `"same"` (the input is padded so the
            output has ceil(size / strides) positions; padded entries are ignored).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank, mode = 3, "average"


class GlobalPooling(Layer):
    """Reduces every spatial axis; keepdims leaves them in place with size 1."""

    rank: int = 2

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _axes(self) -> tuple[int, ...]:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def build(self, input_shape) -> None:
        check_rank(self, input_shape, self.rank)

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self.rank)
        channels = input_shape[-1 if self.data_format == "channels_last" else 1]
        if self.keepdims:
            return with_spatial(input_shape, self.data_format, (1,) * self.rank, channels)
        return (input_shape[0], channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class _GlobalMax(GlobalPooling):
    def call(self, inputs):
        return ops.max(inputs, axis=self._axes, keepdims=self.keepdims)


class _GlobalAverage(GlobalPooling):
    def call(self, inputs):
        return ops.mean(inputs, axis=self._axes, keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalMax):
    """Maximum over all steps.

    Args:
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        keepdims: If True, keep the reduced axes with size 1; otherwise the output is (batch,
            channels).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 1


class GlobalMaxPooling2D(_GlobalMax):
    """Maximum over all pixels.

    Args:
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        keepdims: If True, keep the reduced axes with size 1; otherwise the output is (batch,
            channels).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 2


class GlobalMaxPooling3D(_GlobalMax):
    """Maximum over all voxels.

    Args:
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        keepdims: If True, keep the reduced axes with size 1; otherwise the output is (batch,
            channels).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 3


class GlobalAveragePooling1D(_GlobalAverage):
    """Mean over all steps; a mask (batch, steps) leaves masked steps out of the mean.

    Args:
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        keepdims: If True, keep the reduced axes with size 1; otherwise the output is (batch,
            channels).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 1
    supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        axis = self._axes[0]
        keep = ops.expand_dims(ops.cast(mask, "bool"),
                               2 if self.data_format == "channels_last" else 1)
        weights = ops.cast(keep, ops.dtype(inputs))
        # where, not a product: masked steps may hold inf/nan padding values
        total = ops.sum(ops.where(keep, inputs, 0), axis=axis, keepdims=self.keepdims)
        return total / ops.sum(weights, axis=axis, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None  # the steps axis is gone


class GlobalAveragePooling2D(_GlobalAverage):
    """Mean over all pixels.

    Args:
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        keepdims: If True, keep the reduced axes with size 1; otherwise the output is (batch,
            channels).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 2


class GlobalAveragePooling3D(_GlobalAverage):
    """Mean over all voxels.

    Args:
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        keepdims: If True, keep the reduced axes with size 1; otherwise the output is (batch,
            channels).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 3


MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (GlobalMaxPooling1D, GlobalMaxPooling2D,
                                                     GlobalMaxPooling3D)
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D,
                                                     GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)
