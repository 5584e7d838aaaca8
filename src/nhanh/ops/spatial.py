"""keras.ops' spatial nn functions: unfold/fold (PyTorch's meaning), depth_to_space /
space_to_depth, and adaptive average and max pooling, which the adaptive pooling layers call
(one implementation for layer and op).
"""

from __future__ import annotations

import numpy as np

from nhanh import config, ops

__all__ = ["adaptive_average_pool", "adaptive_max_pool", "depth_to_space", "fold", "space_to_depth", "unfold"]

def _pair(value, arg: str, op: str) -> tuple[int, int]:
    items = (value, value) if isinstance(value, int) else tuple(value)
    if len(items) != 2 or not all(isinstance(v, int) for v in items):
        raise ValueError(f"{op}: `{arg}` must be an int or a tuple of 2 ints, got {arg}={value!r}.")
    return items


def _data_format(data_format, op: str) -> str:
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: `data_format` must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    return data_format


# --- patches and pixel shuffles -------------------------------------------------------------------

def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of a (N, C, H, W) image as columns (im2col), as torch.nn.functional.unfold.

    Args:
        x: 4-D channels-first tensor (N, C, H, W).
        kernel_size: Int or (kH, kW), the block size.
        dilation: Int or pair, the spacing between a block's entries.
        padding: Int or pair, zeros added on both sides of each spatial axis.
        stride: Int or pair, the step between blocks.

    Returns:
        A tensor (N, C * kH * kW, L), L the number of blocks; rows run over channels, then
        block rows, then block columns.
    """
    x = ops.convert_to_tensor(x)
    if ops.ndim(x) != 4:
        raise ValueError(f"unfold expects a 4-D (N, C, H, W) input, got shape {ops.shape(x)}.")
    (kh, kw), (dh, dw) = _pair(kernel_size, "kernel_size", "unfold"), _pair(dilation, "dilation",
                                                                             "unfold")
    (ph, pw), (sh, sw) = _pair(padding, "padding", "unfold"), _pair(stride, "stride", "unfold")
    n, c, h, w = ops.shape(x)
    oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"unfold: kernel_size {(kh, kw)} with dilation {(dh, dw)} does not fit "
                         f"the padded input {(h + 2 * ph, w + 2 * pw)}.")
    x = ops.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    blocks = [x[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
              for i in range(kh) for j in range(kw)]
    return ops.reshape(ops.stack(blocks, axis=2), (n, c * kh * kw, oh * ow))


def _spread(x, axis: int, stride: int, before: int, total: int):
    """x along `axis` with stride - 1 zeros between entries, `before` zeros in front, and zeros
    after up to length `total`."""
    if stride > 1:
        zeros = ops.zeros_like(x)
        x = ops.stack([x] + [zeros] * (stride - 1), axis=axis + 1)
        shape = list(ops.shape(x))
        shape[axis:axis + 2] = [shape[axis] * stride]
        x = ops.reshape(x, shape)
        x = ops.take(x, ops.arange(ops.shape(x)[axis] - stride + 1), axis=axis)
    widths = [(0, 0)] * ops.ndim(x)
    widths[axis] = (before, total - before - ops.shape(x)[axis])
    return ops.pad(x, widths)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The inverse arrangement of `unfold` (col2im): columns of blocks summed back into a
    (N, C, oH, oW) image where they overlap, as torch.nn.functional.fold.

    Args:
        x: 3-D tensor (N, C * kH * kW, L) of blocks as `unfold` returns them.
        output_size: Int or (oH, oW), the image size.
        kernel_size: Int or (kH, kW), the block size.
        dilation: Int or pair, the spacing between a block's entries.
        padding: Int or pair, the zero padding `unfold` added (cropped off again here).
        stride: Int or pair, the step between blocks.

    Returns:
        A tensor (N, C, oH, oW).
    """
    x = ops.convert_to_tensor(x)
    if ops.ndim(x) != 3:
        raise ValueError(f"fold expects a 3-D (N, C*kH*kW, L) input, got shape {ops.shape(x)}.")
    (oh, ow), (kh, kw) = _pair(output_size, "output_size", "fold"), _pair(kernel_size,
                                                                          "kernel_size", "fold")
    (dh, dw), (ph, pw) = _pair(dilation, "dilation", "fold"), _pair(padding, "padding", "fold")
    sh, sw = _pair(stride, "stride", "fold")
    n, ckk, length = ops.shape(x)
    nh = (oh + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    nw = (ow + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if ckk % (kh * kw) or nh * nw != length:
        raise ValueError(f"fold: x of shape {ops.shape(x)} does not match kernel_size "
                         f"{(kh, kw)} and output_size {(oh, ow)}: expected axis 1 divisible by "
                         f"{kh * kw} and axis 2 of length {max(nh, 0) * max(nw, 0)}.")
    c = ckk // (kh * kw)
    x = ops.reshape(x, (n, c, kh * kw, nh, nw))
    total = None
    for i in range(kh):
        for j in range(kw):
            block = _spread(x[:, :, i * kw + j], 2, sh, i * dh, oh + 2 * ph)
            block = _spread(block, 3, sw, j * dw, ow + 2 * pw)
            total = block if total is None else ops.add(total, block)
    return total[:, :, ph:ph + oh, pw:pw + ow]


def _check_block(x, block_size: int, op: str):
    if not isinstance(block_size, int) or block_size < 2:
        raise ValueError(f"{op}: `block_size` must be an int >= 2, got block_size={block_size!r}.")
    x = ops.convert_to_tensor(x)
    if ops.ndim(x) != 4:
        raise ValueError(f"{op} expects a 4-D input, got shape {ops.shape(x)}.")
    return x


def depth_to_space(x, block_size: int, data_format: str = "channels_last"):
    """Pixel shuffle: channels moved into block_size x block_size spatial blocks.

    Args:
        x: 4-D tensor (N, H, W, C) or, channels-first, (N, C, H, W); C divisible by
            block_size ** 2.
        block_size: Int >= 2.
        data_format: `"channels_last"` (TensorFlow's channel order within a block) or
            `"channels_first"` (PyTorch's pixel_shuffle order).

    Returns:
        A tensor (N, H * b, W * b, C / b**2), or (N, C / b**2, H * b, W * b).
    """
    x = _check_block(x, block_size, "depth_to_space")
    data_format, b = _data_format(data_format, "depth_to_space"), block_size
    if data_format == "channels_last":
        n, h, w, c = ops.shape(x)
    else:
        n, c, h, w = ops.shape(x)
    if c % (b * b):
        raise ValueError(f"depth_to_space: the {c} channels must be divisible by "
                         f"block_size**2 = {b * b}.")
    if data_format == "channels_last":
        x = ops.transpose(ops.reshape(x, (n, h, w, b, b, c // (b * b))), (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (n, h * b, w * b, c // (b * b)))
    x = ops.transpose(ops.reshape(x, (n, c // (b * b), b, b, h, w)), (0, 1, 4, 2, 5, 3))
    return ops.reshape(x, (n, c // (b * b), h * b, w * b))


def space_to_depth(x, block_size: int, data_format: str = "channels_last"):
    """Pixel unshuffle, the inverse of `depth_to_space`: block_size x block_size spatial
    blocks moved into channels.

    Args:
        x: 4-D tensor (N, H, W, C) or, channels-first, (N, C, H, W); H and W divisible by
            block_size.
        block_size: Int >= 2.
        data_format: `"channels_last"` or `"channels_first"`.

    Returns:
        A tensor (N, H / b, W / b, C * b**2), or (N, C * b**2, H / b, W / b).
    """
    x = _check_block(x, block_size, "space_to_depth")
    data_format, b = _data_format(data_format, "space_to_depth"), block_size
    if data_format == "channels_last":
        n, h, w, c = ops.shape(x)
    else:
        n, c, h, w = ops.shape(x)
    if h % b or w % b:
        raise ValueError(f"space_to_depth: height {h} and width {w} must be divisible by "
                         f"block_size {b}.")
    if data_format == "channels_last":
        x = ops.transpose(ops.reshape(x, (n, h // b, b, w // b, b, c)), (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (n, h // b, w // b, c * b * b))
    x = ops.transpose(ops.reshape(x, (n, c, h // b, b, w // b, b)), (0, 1, 3, 5, 2, 4))
    return ops.reshape(x, (n, c * b * b, h // b, w // b))


# --- adaptive pooling -----------------------------------------------------------------------------
# Output entry i of an axis of length n pooled to m covers input entries
# [floor(i * n / m), ceil((i + 1) * n / m)), the bins of Keras 3 and of PyTorch's adaptive
# pooling (neighbours may overlap by one). Both poolings are separable, so each spatial axis is
# pooled on its own: averages as a product with a constant (n, m) matrix of bin weights, maxima
# as a gather of each bin's entries (short bins repeat their last entry) and a max over them.

def bin_edges(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the m bins an axis of length n is pooled into."""
    i = np.arange(m)
    return (i * n) // m, -((-(i + 1) * n) // m)


def _average_weights(n: int, m: int) -> np.ndarray:
    starts, ends = bin_edges(n, m)
    weights = np.zeros((n, m), "float32")
    for j, (start, end) in enumerate(zip(starts, ends)):
        weights[start:end, j] = 1.0 / (end - start)
    return weights


def _max_gather(n: int, m: int) -> np.ndarray:
    """(m * width) indices: bin j's entries, its last repeated up to the widest bin's width."""
    starts, ends = bin_edges(n, m)
    width = int((ends - starts).max())
    index = starts[:, None] + np.arange(width)[None, :]
    return np.minimum(index, ends[:, None] - 1).reshape(-1).astype("int32")


def _adaptive_pool(inputs, output_size, data_format, use_max: bool, op: str):
    x = ops.convert_to_tensor(inputs)
    rank = ops.ndim(x) - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"{op} expects a 3-D, 4-D or 5-D input (batch, spatial..., channels) "
                         f"or channels-first, got shape {ops.shape(x)}.")
    sizes = (output_size,) * rank if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != rank or not all(isinstance(v, int) and v > 0 for v in sizes):
        raise ValueError(f"{op}: `output_size` must be a positive int or {rank} of them for a "
                         f"{rank}-D pooling, got output_size={output_size!r}.")
    data_format = _data_format(data_format, op)
    first = 2 if data_format == "channels_first" else 1
    for axis, m in zip(range(first, first + rank), sizes):
        n = ops.shape(x)[axis]
        if n is None:
            raise ValueError(f"{op} needs known spatial sizes, got input shape {ops.shape(x)}.")
        if use_max:
            gathered = ops.take(x, ops.convert_to_tensor(_max_gather(n, m)), axis=axis)
            shape = list(ops.shape(gathered))
            shape[axis:axis + 1] = [m, shape[axis] // m]
            x = ops.max(ops.reshape(gathered, tuple(shape)), axis=axis + 1)
        else:
            weights = ops.convert_to_tensor(_average_weights(n, m), ops.dtype(x))
            x = ops.moveaxis(ops.tensordot(x, weights, axes=[[axis], [0]]), -1, axis)
    return x


def adaptive_average_pool(inputs, output_size, data_format: str | None = None):
    """Average pooling to a fixed output size, whatever the input size (1-D, 2-D or 3-D).

    Args:
        inputs: Tensor (batch, *spatial, channels), or channels-first, with 1 to 3 spatial axes.
        output_size: Positive int (every spatial axis) or one positive int per spatial axis.
        data_format: `"channels_last"` or `"channels_first"`; `None` means
            `nhanh.config.image_data_format()`.

    Returns:
        A tensor of the same layout whose spatial axes have `output_size`.
    """
    return _adaptive_pool(inputs, output_size, data_format, False, "adaptive_average_pool")


def adaptive_max_pool(inputs, output_size, data_format: str | None = None):
    """Max pooling to a fixed output size, whatever the input size (1-D, 2-D or 3-D).

    Args:
        inputs: Tensor (batch, *spatial, channels), or channels-first, with 1 to 3 spatial axes.
        output_size: Positive int (every spatial axis) or one positive int per spatial axis.
        data_format: `"channels_last"` or `"channels_first"`; `None` means
            `nhanh.config.image_data_format()`.

    Returns:
        A tensor of the same layout whose spatial axes have `output_size`.
    """
    return _adaptive_pool(inputs, output_size, data_format, True, "adaptive_max_pool")
