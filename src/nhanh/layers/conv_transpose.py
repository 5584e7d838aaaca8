"""Transposed convolutions Conv1DTranspose / Conv2DTranspose / Conv3DTranspose.

The kernel is (*kernel_size, filters, in_channels), as in Keras: the layer is the adjoint
(gradient) of a Conv with that kernel, which is how it upsamples.
"""

from __future__ import annotations

from nhanh import constraints, initializers, ops, regularizers
from nhanh.layers.conv import (
    BaseConv, _maybe, check_rank, normalize_tuple, spatial_shape, with_spatial,
)


def deconv_output_length(n: int | None, k: int, s: int, d: int, padding: str,
                         output_padding: int | None) -> int | None:
    """Keras's output size of a transposed convolution along one axis."""
    if n is None:
        return None
    k = (k - 1) * d + 1
    if output_padding is None:
        return n * s + max(k - s, 0) if padding == "valid" else n * s
    pad = k // 2 if padding == "same" else 0
    return (n - 1) * s + k - 2 * pad + output_padding


class ConvTranspose(BaseConv):
    """N-D transposed convolution; output_padding picks among the output sizes that a strided
    convolution would map back to the input size."""

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 output_padding=None, data_format: str | None = None, dilation_rate=1,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer, bias_constraint, **kwargs)
        self.output_padding = None if output_padding is None else normalize_tuple(
            output_padding, self.rank, "output_padding", allow_zero=True)
        if self.output_padding is not None:
            for i, (p, s) in enumerate(zip(self.output_padding, self.strides)):
                if p >= s:
                    raise ValueError(
                        f"{type(self).__name__}: each `output_padding` must be smaller than "
                        f"its stride; axis {i} has output_padding={p} and stride={s} "
                        f"(output_padding={self.output_padding}, strides={self.strides}).")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape) -> None:
        channels = self._start_build(input_shape)
        self.kernel = self.add_weight((*self.kernel_size, self.filters, channels),
                                      self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._add_bias(self.filters)

    def call(self, inputs):
        outputs = ops.conv_transpose(inputs, self.kernel.value, strides=self.strides,
                                     padding=self.padding, output_padding=self.output_padding,
                                     data_format=self.data_format,
                                     dilation_rate=self.dilation_rate)
        return self._finish(outputs)

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self.rank)
        out_pad = self.output_padding or (None,) * self.rank
        spatial = [deconv_output_length(n, k, s, d, self.padding, p) for n, k, s, d, p in
                   zip(spatial_shape(input_shape, self.data_format), self.kernel_size,
                       self.strides, self.dilation_rate, out_pad)]
        return with_spatial(input_shape, self.data_format, spatial, self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters,
                "output_padding": self.output_padding,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": _maybe(regularizers.serialize, self.kernel_regularizer),
                "kernel_constraint": _maybe(constraints.serialize, self.kernel_constraint)}


class Conv1DTranspose(ConvTranspose):
    """Transposed 1-D convolution over (batch, steps, channels).

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Size of the convolution window, an int.
        strides: Step of the window, an int; strides above 1 rule out a `dilation_rate` above 1.
        padding: `"valid"` (no padding) or `"same"` (pad so the output has ceil(size / strides)
            positions).
        output_padding: Extra size added to one side of each output axis, an int each smaller than
            its stride; `None` lets the size follow from `padding`.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        dilation_rate: Spacing between the window's taps, an int (atrous convolution).
        activation: Activation applied to the output (name or callable); `None` is linear.
        use_bias: Whether to add a learned bias per output channel.
        kernel_initializer: Initializer of the kernel (name, callable or instance).
        bias_initializer: Initializer of the bias.
        kernel_regularizer: Regularizer of the kernel, added to the loss; `None` for none.
        bias_regularizer: Regularizer of the bias.
        activity_regularizer: Regularizer of the layer's output.
        kernel_constraint: Constraint applied to the kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 1


class Conv2DTranspose(ConvTranspose):
    """Transposed 2-D convolution over (batch, rows, cols, channels).

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Size of the convolution window, an int or a tuple of 2 ints.
        strides: Step of the window, an int or a tuple of 2 ints; strides above 1 rule out a
            `dilation_rate` above 1.
        padding: `"valid"` (no padding) or `"same"` (pad so the output has ceil(size / strides)
            positions).
        output_padding: Extra size added to one side of each output axis, an int or a tuple of 2
            ints each smaller than its stride; `None` lets the size follow from `padding`.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        dilation_rate: Spacing between the window's taps, an int or a tuple of 2 ints (atrous
            convolution).
        activation: Activation applied to the output (name or callable); `None` is linear.
        use_bias: Whether to add a learned bias per output channel.
        kernel_initializer: Initializer of the kernel (name, callable or instance).
        bias_initializer: Initializer of the bias.
        kernel_regularizer: Regularizer of the kernel, added to the loss; `None` for none.
        bias_regularizer: Regularizer of the bias.
        activity_regularizer: Regularizer of the layer's output.
        kernel_constraint: Constraint applied to the kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 2


class Conv3DTranspose(ConvTranspose):
    """Transposed 3-D convolution over (batch, depth, rows, cols, channels).

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Size of the convolution window, an int or a tuple of 3 ints.
        strides: Step of the window, an int or a tuple of 3 ints; strides above 1 rule out a
            `dilation_rate` above 1.
        padding: `"valid"` (no padding) or `"same"` (pad so the output has ceil(size / strides)
            positions).
        output_padding: Extra size added to one side of each output axis, an int or a tuple of 3
            ints each smaller than its stride; `None` lets the size follow from `padding`.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        dilation_rate: Spacing between the window's taps, an int or a tuple of 3 ints (atrous
            convolution).
        activation: Activation applied to the output (name or callable); `None` is linear.
        use_bias: Whether to add a learned bias per output channel.
        kernel_initializer: Initializer of the kernel (name, callable or instance).
        bias_initializer: Initializer of the bias.
        kernel_regularizer: Regularizer of the kernel, added to the loss; `None` for none.
        bias_regularizer: Regularizer of the bias.
        activity_regularizer: Regularizer of the layer's output.
        kernel_constraint: Constraint applied to the kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 3


Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose)
