"""Convolution and pooling on JAX: this backend's CONV_OPS.

Keras semantics: kernels are (*spatial, in_channels / groups, out_channels) for conv and
(*spatial, out_channels, in_channels) for conv_transpose; 'same' padding is TensorFlow's
(the extra pixel of an odd total goes after). Every padding is computed here explicitly so
that both engines pad identically; XLA then sees static pads and fuses them.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from nhanh.backend.conv_shapes import (
    as_tuple, check_rank, data_format_of, padding_mode, pool_args, same_pads, transpose_pads,
    window_counts,
)


def _spatial_axes(ndim: int, data_format: str) -> tuple[int, ...]:
    return tuple(range(1, ndim - 1)) if data_format == "channels_last" else tuple(range(2, ndim))


def _specs(rank: int, data_format: str, kernel_spec: str = "IO") -> tuple[str, str, str]:
    spatial = "DHW"[3 - rank:]
    lhs = f"N{spatial}C" if data_format == "channels_last" else f"NC{spatial}"
    return lhs, spatial + kernel_spec, lhs


def _common_dtype(inputs, kernel):
    dtype = jnp.result_type(inputs.dtype, kernel.dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.float32
    return inputs.astype(dtype), kernel.astype(dtype)


# --- ops ----------------------------------------------------------------------------------


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    rank = check_rank(inputs, kernel, "conv")
    data_format, padding = data_format_of(data_format), padding_mode(padding)
    strides = as_tuple(strides, rank, "strides")
    dilation = as_tuple(dilation_rate, rank, "dilation_rate")
    axes = _spatial_axes(inputs.ndim, data_format)
    channels = inputs.shape[-1 if data_format == "channels_last" else 1]
    if channels % kernel.shape[-2]:
        raise ValueError(f"conv: the inputs' {channels} channels are not a multiple of the "
                         f"kernel's {kernel.shape[-2]} input channels (kernel shape "
                         f"{tuple(kernel.shape)}).")
    groups = channels // kernel.shape[-2]
    inputs, kernel = _common_dtype(inputs, kernel)
    pads = same_pads([inputs.shape[a] for a in axes], kernel.shape[:-2], strides, dilation, padding)
    return lax.conv_general_dilated(
        inputs, kernel, strides, pads, rhs_dilation=dilation,
        dimension_numbers=_specs(rank, data_format), feature_group_count=groups)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    rank = check_rank(inputs, kernel, "conv_transpose")
    data_format, padding = data_format_of(data_format), padding_mode(padding)
    strides = as_tuple(strides, rank, "strides")
    dilation = as_tuple(dilation_rate, rank, "dilation_rate")
    out_pad = (None,) * rank if output_padding is None else as_tuple(output_padding, rank,
                                                                   "output_padding")
    pads = [transpose_pads(k, s, d, padding, p)
            for k, s, d, p in zip(kernel.shape[:-2], strides, dilation, out_pad)]
    # A transposed conv is a conv of the stride-dilated input with the flipped kernel, whose
    # last axis (in_channels) then plays the role of the input features: spec "...OI".
    inputs, kernel = _common_dtype(inputs, kernel)
    flipped = jnp.flip(kernel, axis=tuple(range(rank)))
    return lax.conv_general_dilated(
        inputs, flipped, (1,) * rank, pads, lhs_dilation=strides, rhs_dilation=dilation,
        dimension_numbers=_specs(rank, data_format, "OI"))


def _pool_setup(inputs, pool_size, strides, padding, data_format):
    inputs = jnp.asarray(inputs)
    rank, data_format, padding, pool, strides = pool_args(inputs.shape, pool_size, strides,
                                                          padding, data_format)
    axes = _spatial_axes(inputs.ndim, data_format)
    sizes = [inputs.shape[a] for a in axes]
    spatial_pads = same_pads(sizes, pool, strides, (1,) * rank, padding)
    window, steps, pads = [1] * inputs.ndim, [1] * inputs.ndim, [(0, 0)] * inputs.ndim
    for a, k, s, p in zip(axes, pool, strides, spatial_pads):
        window[a], steps[a], pads[a] = k, s, p
    return inputs, tuple(window), tuple(steps), pads, axes, sizes, spatial_pads


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    inputs, window, steps, pads, *_ = _pool_setup(inputs, pool_size, strides, padding,
                                                  data_format)
    init = -jnp.inf if jnp.issubdtype(inputs.dtype, jnp.floating) else jnp.iinfo(
        inputs.dtype).min
    # A Python scalar init keeps reduce_window differentiable (an array init does not).
    return lax.reduce_window(inputs, init, lax.max, window, steps,
                             pads)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    inputs, window, steps, pads, axes, sizes, spatial_pads = _pool_setup(
        inputs, pool_size, strides, padding, data_format)
    sums = lax.reduce_window(inputs, 0.0 if jnp.issubdtype(inputs.dtype, jnp.floating) else 0,
                             lax.add, window, steps, pads)
    # Keras/TensorFlow 'same' average pooling divides by the number of real elements only.
    counts = window_counts(sizes, [window[a] for a in axes], [steps[a] for a in axes],
                            spatial_pads)
    shape = [1] * inputs.ndim
    for i, a in enumerate(axes):
        shape[a] = counts.shape[i]
    return sums / jnp.asarray(counts.reshape(shape), inputs.dtype)
