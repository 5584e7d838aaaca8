"""Convolution layers Conv1D / Conv2D / Conv3D, and the argument and shape helpers that the
transposed, depthwise, separable and pooling layers share.

Weights follow Keras 3 exactly (kernel (*kernel_size, in_channels / groups, filters), then bias
(filters,)), so get_weights() of a Keras layer loads here with set_weights.
"""

from __future__ import annotations

from typing import Sequence

from nhanh import activations, config, constraints, initializers, ops, regularizers
from nhanh.layers.layer import InputSpec, Layer

Shape = tuple  # of int | None


# --- argument normalisation ----------------------------------------------------------------


def normalize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """An int or a sequence of n ints as a tuple of n positive ints (the argument is named
    in the error so the user knows which one to fix)."""
    values = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
        ok = len(values) == n and all(isinstance(v, int) and not isinstance(v, bool)
                                      for v in values)
    except TypeError:
        ok = False
    if not ok or any(v < (0 if allow_zero else 1) for v in values):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"`{name}` must be a {kind} int or a tuple of {n} {kind} ints, "
                         f"got {value!r}.")
    return values


def normalize_data_format(data_format: str | None) -> str:
    """None means the configured image_data_format (nhanh.config)."""
    value = config.image_data_format() if data_format is None else str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError("`data_format` must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    return value


def normalize_padding(padding: str, allow_causal: bool = False) -> str:
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    value = str(padding).lower()
    if value not in allowed:
        raise ValueError(f"`padding` must be one of {', '.join(map(repr, allowed))}, "
                         f"got {padding!r}.")
    return value


def conv_output_length(n: int | None, k: int, s: int, d: int, padding: str) -> int | None:
    """Output size along one axis: TensorFlow's rule, ceil for 'same'/'causal'."""
    if n is None:
        return None
    if padding == "valid":
        return (n - (k - 1) * d - 1) // s + 1
    return (n - 1) // s + 1


def check_rank(layer: Layer, input_shape, rank: int) -> None:
    """Raise, naming the layer, if the inputs are not (batch, *rank spatial axes, channels)."""
    shape = tuple(input_shape)
    if len(shape) != rank + 2:
        layout = ("(batch, channels, *spatial)" if getattr(layer, "data_format", None)
                  == "channels_first" else "(batch, *spatial, channels)")
        raise ValueError(
            f"Layer {layer.name!r} ({type(layer).__name__}) expects inputs of rank {rank + 2}, "
            f"{layout} with {rank} spatial axis(es), but received shape {shape}. Add the "
            "missing axes (e.g. a batch or a channel axis of size 1) with reshape or "
            "expand_dims.")


def channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else 1


def spatial_shape(input_shape, data_format: str) -> tuple:
    return tuple(input_shape[1:-1] if data_format == "channels_last" else input_shape[2:])


def with_spatial(input_shape, data_format: str, spatial: Sequence, channels) -> Shape:
    """Reassemble (batch, *spatial, channels) in the layer's layout."""
    if data_format == "channels_last":
        return (input_shape[0], *spatial, channels)
    return (input_shape[0], channels, *spatial)


def _maybe(fn, value):
    return None if value is None else fn(value)


def known_channels(layer: Layer, input_shape) -> int:
    channels = input_shape[channel_axis(layer.data_format)]
    if channels is None:
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) needs a known channel "
                         f"axis ({layer.data_format}), got input shape {tuple(input_shape)}.")
    return channels


# --- the convolution base --------------------------------------------------------------------


class BaseConv(Layer):
    """What every convolution shares: argument checks, the bias, the activation, the config."""

    fuses_well_on_cpu = False

    rank: int = 2

    def __init__(self, filters: int | None, kernel_size, strides=1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate=1, activation=None,
                 use_bias: bool = True, bias_initializer="zeros", bias_regularizer=None,
                 activity_regularizer=None, bias_constraint=None, allow_causal: bool = False,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        rank = self.rank
        if filters is not None and (not isinstance(filters, int) or isinstance(filters, bool)
                                    or filters <= 0):
            raise ValueError(f"{type(self).__name__}: `filters` must be a positive integer, "
                             f"got {filters!r}.")
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = normalize_tuple(strides, rank, "strides")
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.padding = normalize_padding(padding, allow_causal and rank == 1)
        self.data_format = normalize_data_format(data_format)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{type(self).__name__}: `strides` > 1 cannot be combined with "
                             f"`dilation_rate` > 1 (got strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}).")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _start_build(self, input_shape) -> int:
        """Check the inputs and fix the channel count; returns that count."""
        check_rank(self, input_shape, self.rank)
        channels = known_channels(self, input_shape)
        self.input_spec = InputSpec(ndim=self.rank + 2,
                                    axes={channel_axis(self.data_format): channels})
        return channels

    def _add_bias(self, size: int) -> None:
        self.bias = self.add_weight((size,), self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None

    def _finish(self, outputs):
        if self.bias is not None:
            bias = self.bias.value
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (-1,) + (1,) * self.rank)
            outputs = outputs + bias
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "bias_regularizer": _maybe(regularizers.serialize, self.bias_regularizer),
                "activity_regularizer": _maybe(regularizers.serialize,
                                               self.activity_regularizer),
                "bias_constraint": _maybe(constraints.serialize, self.bias_constraint)}


class Conv(BaseConv):
    """N-D convolution: activation(conv(inputs, kernel) + bias), with optional groups."""

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate=1, groups: int = 1,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer, bias_constraint, allow_causal=True, **kwargs)
        if not isinstance(groups, int) or isinstance(groups, bool) or groups <= 0:
            raise ValueError(f"{type(self).__name__}: `groups` must be a positive integer, "
                             f"got {groups!r}.")
        if filters % groups:
            raise ValueError(f"{type(self).__name__}: `filters` ({filters}) must be a multiple "
                             f"of `groups` ({groups}).")
        self.groups = groups
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape) -> None:
        channels = self._start_build(input_shape)
        if channels % self.groups:
            raise ValueError(f"Layer {self.name!r}: the inputs' {channels} channels must be a "
                             f"multiple of groups={self.groups} (input shape "
                             f"{tuple(input_shape)}).")
        self.compute_output_shape(input_shape)  # a too-small input fails here, before weights
        self.kernel = self.add_weight((*self.kernel_size, channels // self.groups, self.filters),
                                      self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self._add_bias(self.filters)

    def call(self, inputs):
        padding = self.padding
        if padding == "causal":  # pad the past only: output t never sees inputs after t
            left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            axis = 1 if self.data_format == "channels_last" else 2
            widths = [(0, 0)] * 3
            widths[axis] = (left, 0)
            inputs, padding = ops.pad(inputs, widths), "valid"
        outputs = ops.conv(inputs, self.kernel.value, strides=self.strides, padding=padding,
                           data_format=self.data_format, dilation_rate=self.dilation_rate)
        return self._finish(outputs)

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self.rank)
        spatial = []
        for n, k, s, d in zip(spatial_shape(input_shape, self.data_format), self.kernel_size,
                              self.strides, self.dilation_rate):
            out = conv_output_length(n, k, s, d, self.padding)
            if out is not None and out <= 0:
                raise ValueError(
                    f"Layer {self.name!r}: input shape {tuple(input_shape)} is too small for "
                    f"kernel_size={self.kernel_size} with dilation_rate={self.dilation_rate} "
                    f"and padding='valid' (the output would be empty). Use larger inputs or "
                    "padding='same'.")
            spatial.append(out)
        return with_spatial(input_shape, self.data_format, spatial, self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "groups": self.groups,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": _maybe(regularizers.serialize, self.kernel_regularizer),
                "kernel_constraint": _maybe(constraints.serialize, self.kernel_constraint)}


class Conv1D(Conv):
    """1-D convolution over (batch, steps, channels); padding may also be 'causal'.

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Size of the convolution window, an int.
        strides: Step of the window, an int; strides above 1 rule out a `dilation_rate` above 1.
        padding: `"valid"` (no padding), `"same"` (pad so the output has ceil(size / strides)
            positions) or `"causal"` (pad the start only, so step t sees no later step).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        dilation_rate: Spacing between the window's taps, an int (atrous convolution).
        groups: Positive int dividing both `filters` and the input channels; each group of input
            channels is convolved with its own share of the filters.
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


class Conv2D(Conv):
    """2-D convolution over (batch, rows, cols, channels).

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Size of the convolution window, an int or a tuple of 2 ints.
        strides: Step of the window, an int or a tuple of 2 ints; strides above 1 rule out a
            `dilation_rate` above 1.
        padding: `"valid"` (no padding) or `"same"` (pad so the output has ceil(size / strides)
            positions).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        dilation_rate: Spacing between the window's taps, an int or a tuple of 2 ints (atrous
            convolution).
        groups: Positive int dividing both `filters` and the input channels; each group of input
            channels is convolved with its own share of the filters.
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


class Conv3D(Conv):
    """3-D convolution over (batch, depth, rows, cols, channels).

    Args:
        filters: Positive int, the number of output channels.
        kernel_size: Size of the convolution window, an int or a tuple of 3 ints.
        strides: Step of the window, an int or a tuple of 3 ints; strides above 1 rule out a
            `dilation_rate` above 1.
        padding: `"valid"` (no padding) or `"same"` (pad so the output has ceil(size / strides)
            positions).
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        dilation_rate: Spacing between the window's taps, an int or a tuple of 3 ints (atrous
            convolution).
        groups: Positive int dividing both `filters` and the input channels; each group of input
            channels is convolved with its own share of the filters.
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


Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
