"""Adaptive pooling: average or max pooling to a fixed output size, whatever the input size
(AdaptiveAveragePooling1D/2D/3D, AdaptiveMaxPooling1D/2D/3D).

The layers check their arguments and shapes and call ops.adaptive_average_pool /
ops.adaptive_max_pool (nhanh/ops/spatial.py), so layer and op are one implementation:
output entry i of an axis of length n pooled to m covers input entries
[floor(i * n / m), ceil((i + 1) * n / m)), the bins of Keras 3 and of PyTorch.
"""

from __future__ import annotations

from nhanh import ops
from nhanh.layers.cropping_padding import data_format_of, spatial_axes
from nhanh.layers.layer import InputSpec, Layer
from nhanh.ops.spatial import bin_edges  # noqa: F401  (the bins, for readers and tests)


def _output_size(value, rank: int, layer: str) -> tuple[int, ...]:
    items = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else value
    if (not isinstance(items, (tuple, list)) or len(items) != rank
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in items)):
        kind = "a positive int" if rank == 1 else f"a positive int or a tuple of {rank} of them"
        raise ValueError(f"{layer}: `output_size` must be {kind}, got output_size={value!r}.")
    return tuple(items)


class _AdaptivePooling(Layer):
    """Pools each spatial axis to `output_size`; subclasses set the rank and the reduction."""

    _rank = 1
    _max = False

    def __init__(self, output_size, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.output_size = _output_size(output_size, self._rank, name)
        self.data_format = data_format_of(data_format, name)
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self.input_spec.check(self, input_shape)
        out = list(input_shape)
        for axis, size in zip(spatial_axes(self.data_format, self._rank), self.output_size):
            out[axis] = size
        return tuple(out)

    def call(self, inputs):
        if any(inputs.shape[a] is None for a in spatial_axes(self.data_format, self._rank)):
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) needs known "
                             f"spatial sizes, got input shape {tuple(inputs.shape)}.")
        pool = ops.adaptive_max_pool if self._max else ops.adaptive_average_pool
        return pool(inputs, self.output_size, self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Averages bins of the steps axis so the output has `output_size` steps.

    Args:
        output_size: Positive int (or a tuple of one), the number of output steps.
        data_format: `"channels_last"` (batch, steps, channels) or `"channels_first"` (batch,
            channels, steps); `None` uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Takes the maximum over bins of the steps axis so the output has `output_size` steps.

    Args:
        output_size: Positive int (or a tuple of one), the number of output steps.
        data_format: `"channels_last"` (batch, steps, channels) or `"channels_first"` (batch,
            channels, steps); `None` uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _max = True


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Averages bins of images so the output is `output_size` = (height, width).

    Args:
        output_size: Positive int (both axes) or a pair `(height, width)`.
        data_format: `"channels_last"` or `"channels_first"`; `None` uses
            `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank = 2


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Takes the maximum over bins of images so the output is `output_size` = (height, width).

    Args:
        output_size: Positive int (both axes) or a pair `(height, width)`.
        data_format: `"channels_last"` or `"channels_first"`; `None` uses
            `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank, _max = 2, True


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Averages bins of volumes so the output is `output_size` = (depth, height, width).

    Args:
        output_size: Positive int (every axis) or three positive ints.
        data_format: `"channels_last"` or `"channels_first"`; `None` uses
            `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank = 3


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Takes the maximum over bins of volumes so the output is `output_size` = (depth, height,
    width).

    Args:
        output_size: Positive int (every axis) or three positive ints.
        data_format: `"channels_last"` or `"channels_first"`; `None` uses
            `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank, _max = 3, True
