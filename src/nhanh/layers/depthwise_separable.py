"""Depthwise and separable convolutions: DepthwiseConv1D/2D, SeparableConv1D/2D.

A depthwise convolution filters each input channel on its own (depth_multiplier filters per
channel, output channel c * depth_multiplier + m); a separable one follows it with a 1x1
convolution that mixes channels. Far fewer weights than a full convolution.
"""

from __future__ import annotations

from nhanh import constraints, initializers, ops, regularizers
from nhanh.layers.conv import BaseConv, _maybe, check_rank, conv_output_length, spatial_shape
from nhanh.layers.conv import channel_axis, with_spatial


def _check_multiplier(layer, depth_multiplier) -> int:
    if (not isinstance(depth_multiplier, int) or isinstance(depth_multiplier, bool)
            or depth_multiplier <= 0):
        raise ValueError(f"{type(layer).__name__}: `depth_multiplier` must be a positive "
                         f"integer, got {depth_multiplier!r}.")
    return depth_multiplier


class _Spatial(BaseConv):
    """The output size rule shared by depthwise and separable convolutions."""

    def _out_channels(self, input_shape):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self.rank)
        spatial = [conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
                   zip(spatial_shape(input_shape, self.data_format), self.kernel_size,
                       self.strides, self.dilation_rate)]
        if any(o is not None and o <= 0 for o in spatial):
            raise ValueError(
                f"Layer {self.name!r}: input shape {tuple(input_shape)} is too small for "
                f"kernel_size={self.kernel_size} with dilation_rate={self.dilation_rate} and "
                "padding='valid' (the output would be empty). Use larger inputs or "
                "padding='same'.")
        return with_spatial(input_shape, self.data_format, spatial,
                            self._out_channels(input_shape))


class DepthwiseConv(_Spatial):
    """N-D depthwise convolution; kernel (*kernel_size, in_channels, depth_multiplier)."""

    def __init__(self, kernel_size, strides=1, padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate=1, activation=None,
                 use_bias: bool = True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(None, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer, bias_constraint, **kwargs)
        self.depth_multiplier = _check_multiplier(self, depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def _out_channels(self, input_shape):
        channels = input_shape[channel_axis(self.data_format)]
        return None if channels is None else channels * self.depth_multiplier

    def build(self, input_shape) -> None:
        channels = self._start_build(input_shape)
        self.compute_output_shape(input_shape)
        # Keras 3 names this weight "kernel" (Keras 2: depthwise_kernel; see the property).
        self.kernel = self.add_weight((*self.kernel_size, channels, self.depth_multiplier),
                                      self.depthwise_initializer,
                                      regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint, name="kernel")
        self._add_bias(channels * self.depth_multiplier)

    @property
    def depthwise_kernel(self):
        return self.kernel

    def call(self, inputs):
        outputs = ops.depthwise_conv(inputs, self.kernel.value, strides=self.strides,
                                     padding=self.padding, data_format=self.data_format,
                                     dilation_rate=self.dilation_rate)
        return self._finish(outputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "depthwise_regularizer": _maybe(regularizers.serialize,
                                                self.depthwise_regularizer),
                "depthwise_constraint": _maybe(constraints.serialize,
                                               self.depthwise_constraint)}


class SeparableConv(_Spatial):
    """N-D separable convolution: depthwise (*k, in, m), then pointwise (1.., in * m, filters)."""

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate=1, depth_multiplier: int = 1,
                 activation=None, use_bias: bool = True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, pointwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer, bias_constraint, **kwargs)
        self.depth_multiplier = _check_multiplier(self, depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _out_channels(self, input_shape):
        return self.filters

    def build(self, input_shape) -> None:
        channels = self._start_build(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            (*self.kernel_size, channels, self.depth_multiplier), self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint,
            name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            (*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self._add_bias(self.filters)

    def call(self, inputs):
        outputs = ops.separable_conv(inputs, self.depthwise_kernel.value,
                                     self.pointwise_kernel.value, strides=self.strides,
                                     padding=self.padding, data_format=self.data_format,
                                     dilation_rate=self.dilation_rate)
        return self._finish(outputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters,
                "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                "depthwise_regularizer": _maybe(regularizers.serialize,
                                                self.depthwise_regularizer),
                "pointwise_regularizer": _maybe(regularizers.serialize,
                                                self.pointwise_regularizer),
                "depthwise_constraint": _maybe(constraints.serialize,
                                               self.depthwise_constraint),
                "pointwise_constraint": _maybe(constraints.serialize,
                                               self.pointwise_constraint)}


class DepthwiseConv1D(DepthwiseConv):
    """Depthwise 1-D convolution over (batch, steps, channels).

    Args:
        kernel_size: Size of the convolution window, an int.
        strides: Step of the window, an int; strides above 1 rule out a `dilation_rate` above 1.
        padding: `"valid"` (no padding) or `"same"` (pad so the output has ceil(size / strides)
            positions).
        depth_multiplier: Positive int, filters per input channel; the output has channels *
            depth_multiplier channels.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        dilation_rate: Spacing between the window's taps, an int (atrous convolution).
        activation: Activation applied to the output (name or callable); `None` is linear.
        use_bias: Whether to add a learned bias per output channel.
        depthwise_initializer: Initializer of the depthwise kernel (name, callable or instance).
        bias_initializer: Initializer of the bias.
        depthwise_regularizer: Regularizer of the depthwise kernel, added to the loss; `None` for
            none.
        bias_regularizer: Regularizer of the bias.
        activity_regularizer: Regularizer of the layer's output.
        depthwise_constraint: Constraint applied to the depthwise kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 1


class DepthwiseConv2D(DepthwiseConv):
    """Depthwise 2-D convolution over (batch, rows, cols, channels).

    Args:
        kernel_size: Size of the convolution window, an int or a tuple of 2 ints.
        strides: Step of the window, an int or a tuple of 2 ints; strides above 1 rule out a
            `dilation_rate` above 1.
        padding: `"valid"` (no padding) or `"same"` (pad so the output has ceil(size / strides)
            positions).
        depth_multiplier: Positive int, filters per input channel; the output has channels *
            depth_multiplier channels.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        dilation_rate: Spacing between the window's taps, an int or a tuple of 2 ints (atrous
            convolution).
        activation: Activation applied to the output (name or callable); `None` is linear.
        use_bias: Whether to add a learned bias per output channel.
        depthwise_initializer: Initializer of the depthwise kernel (name, callable or instance).
        bias_initializer: Initializer of the bias.
        depthwise_regularizer: Regularizer of the depthwise kernel, added to the loss; `None` for
            none.
        bias_regularizer: Regularizer of the bias.
        activity_regularizer: Regularizer of the layer's output.
        depthwise_constraint: Constraint applied to the depthwise kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 2


class SeparableConv1D(SeparableConv):
    """Separable 1-D convolution over (batch, steps, channels).

    Args:
        filters: Positive int, the number of output channels (of the pointwise step).
        kernel_size: Size of the convolution window, an int.
        strides: Step of the window, an int; strides above 1 rule out a `dilation_rate` above 1.
        padding: `"valid"` (no padding) or `"same"` (pad so the output has ceil(size / strides)
            positions).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        dilation_rate: Spacing between the window's taps, an int (atrous convolution).
        depth_multiplier: Positive int, depthwise filters per input channel.
        activation: Activation applied to the output (name or callable); `None` is linear.
        use_bias: Whether to add a learned bias per output channel.
        depthwise_initializer: Initializer of the depthwise kernel (name, callable or instance).
        pointwise_initializer: Initializer of the pointwise (1x1) kernel (name, callable or
            instance).
        bias_initializer: Initializer of the bias.
        depthwise_regularizer: Regularizer of the depthwise kernel, added to the loss; `None` for
            none.
        pointwise_regularizer: Regularizer of the pointwise (1x1) kernel, added to the loss; `None`
            for none.
        bias_regularizer: Regularizer of the bias.
        activity_regularizer: Regularizer of the layer's output.
        depthwise_constraint: Constraint applied to the depthwise kernel after each update.
        pointwise_constraint: Constraint applied to the pointwise (1x1) kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 1


class SeparableConv2D(SeparableConv):
    """Separable 2-D convolution over (batch, rows, cols, channels).

    Args:
        filters: Positive int, the number of output channels (of the pointwise step).
        kernel_size: Size of the convolution window, an int or a tuple of 2 ints.
        strides: Step of the window, an int or a tuple of 2 ints; strides above 1 rule out a
            `dilation_rate` above 1.
        padding: `"valid"` (no padding) or `"same"` (pad so the output has ceil(size / strides)
            positions).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        dilation_rate: Spacing between the window's taps, an int or a tuple of 2 ints (atrous
            convolution).
        depth_multiplier: Positive int, depthwise filters per input channel.
        activation: Activation applied to the output (name or callable); `None` is linear.
        use_bias: Whether to add a learned bias per output channel.
        depthwise_initializer: Initializer of the depthwise kernel (name, callable or instance).
        pointwise_initializer: Initializer of the pointwise (1x1) kernel (name, callable or
            instance).
        bias_initializer: Initializer of the bias.
        depthwise_regularizer: Regularizer of the depthwise kernel, added to the loss; `None` for
            none.
        pointwise_regularizer: Regularizer of the pointwise (1x1) kernel, added to the loss; `None`
            for none.
        bias_regularizer: Regularizer of the bias.
        activity_regularizer: Regularizer of the layer's output.
        depthwise_constraint: Constraint applied to the depthwise kernel after each update.
        pointwise_constraint: Constraint applied to the pointwise (1x1) kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    rank = 2


SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
