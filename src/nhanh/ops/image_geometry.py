"""keras.ops.image's geometric ops: resizing, cropping, padding, patches, and (from
image_warps.py) the affine, perspective and elastic warps.

Resizing uses each engine's own kernel where Keras does (jax.image.resize,
torch.nn.functional.interpolate: `nhanh.ops._image_resize`), so a model gives the numbers it
gives under Keras on the same engine; the interpolations one engine lacks ("lanczos3/5" on
PyTorch, "area" on both) are written once here as separable weight matrices
(`scale_and_translate`), so they exist on both.
"""

from __future__ import annotations

import math

from nhanh import config, ops
from nhanh.backend.conv_shapes import data_format_of
from nhanh.ops import image_warps
from nhanh.ops.image_warps import *  # noqa: F401,F403

__all__ = ["resize", "scale_and_translate", "crop_images", "pad_images", "extract_patches",
           "extract_patches_3d", *image_warps.__all__]

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")
_ENGINE_KERNEL = ("bilinear", "nearest", "bicubic")


def _check_rank(images, fn: str, ranks=(3, 4), arg="images"):
    images = ops.convert_to_tensor(images)
    if len(ops.shape(images)) not in ranks:
        raise ValueError(f"{fn}: `{arg}` must have rank {ranks[0]} (one) or {ranks[1]} (a "
                         f"batch), got shape {tuple(ops.shape(images))}.")
    return images


def _hw_axes(rank: int, data_format: str) -> tuple[int, int]:
    return (rank - 2, rank - 1) if data_format == "channels_first" else (rank - 3, rank - 2)


# --- resize ---------------------------------------------------------------------------------
def resize(images, size, interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
           fill_mode: str = "constant", fill_value: float = 0.0,
           data_format: str | None = None):
    """Images resized to `size` (half-pixel centres, as Keras 3).

    Args:
        images: One image (rank 3) or a batch (rank 4).
        size: (height, width) of the result.
        interpolation: "bilinear", "nearest", "bicubic", "lanczos3", "lanczos5" or "area"
            (each output pixel the average of the input area it covers).
        antialias: Widen the kernel when downsampling, so no input pixel is skipped.
        crop_to_aspect_ratio: First crop the largest centred window of the target's aspect
            ratio, so nothing is stretched.
        pad_to_aspect_ratio: First pad (with `fill_value`) to the target's aspect ratio, so
            nothing is stretched or cut.
        fill_mode: How `pad_to_aspect_ratio` fills; only "constant".
        fill_value: The padding value.
        data_format: "channels_last" or "channels_first"; default the configured one.

    Returns:
        The resized images, in `images`' dtype (integers rounded and clipped).
    """
    fn = "resize"
    images = _check_rank(images, fn)
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"{fn}: `interpolation` must be one of {list(RESIZE_INTERPOLATIONS)}, "
                         f"got interpolation={interpolation!r}.")
    if fill_mode != "constant":
        raise ValueError(f"{fn}: only fill_mode='constant' is supported, got "
                         f"fill_mode={fill_mode!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{fn}: pass at most one of crop_to_aspect_ratio and "
                         "pad_to_aspect_ratio, got both True.")
    if not isinstance(size, (list, tuple)) or len(size) != 2 or not all(
            isinstance(s, int) and s > 0 for s in size):
        raise ValueError(f"{fn}: `size` must be (height, width), two positive ints, got "
                         f"size={size!r}.")
    data_format = data_format_of(data_format)
    batched = len(ops.shape(images)) == 4
    if not batched:
        images = ops.expand_dims(images, 0)
    dtype = ops.dtype(images)
    h_axis, w_axis = _hw_axes(4, data_format)
    height, width = ops.shape(images)[h_axis], ops.shape(images)[w_axis]
    target_h, target_w = size
    if crop_to_aspect_ratio:
        crop_h = max(min(height, int(width * target_h / target_w)), 1)
        crop_w = max(min(width, int(height * target_w / target_h)), 1)
        top, left = int((height - crop_h) / 2), int((width - crop_w) / 2)
        images = crop_images(images, top, left, target_height=crop_h, target_width=crop_w,
                             data_format=data_format)
    elif pad_to_aspect_ratio:
        pad_h = max(height, int(width * target_h / target_w))
        pad_w = max(width, int(height * target_w / target_h))
        top, left = int((pad_h - height) / 2), int((pad_w - width) / 2)
        pads = [[0, 0]] * 4
        pads[h_axis], pads[w_axis] = [top, top], [left, left]
        images = ops.pad(images, pads, constant_values=fill_value)
    work = dtype if "float" in dtype else "float32"
    images = ops.cast(images, work)
    if interpolation in _ENGINE_KERNEL or (interpolation.startswith("lanczos")
                                           and config.backend() == "jax"):
        out = ops._image_resize(images, tuple(size), interpolation, bool(antialias),
                                data_format)
    else:
        shape = list(ops.shape(images))
        shape[h_axis], shape[w_axis] = target_h, target_w
        scale = [target_h / ops.shape(images)[h_axis], target_w / ops.shape(images)[w_axis]]
        out = scale_and_translate(images, shape, scale, [0.0, 0.0], (h_axis, w_axis),
                                  interpolation, antialias=bool(antialias))
    if "float" in dtype:
        out = ops.cast(out, dtype)
    else:
        out = ops.saturate_cast(ops.round(out), dtype)
    return out if batched else ops.squeeze(out, 0)


# --- scale_and_translate --------------------------------------------------------------------
def _triangle(x):
    return ops.maximum(0.0, 1.0 - ops.abs(x))


def _keys_cubic(x):  # Keys' cubic convolution kernel, a = -0.5
    x = ops.abs(x)
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return ops.where(x >= 2.0, 0.0, ops.where(x >= 1.0, far, near))


def _lanczos(radius: float):
    def kernel(x):
        x = ops.abs(x)
        safe = ops.where(x > 1e-3, x, 1.0)
        value = radius * ops.sin(math.pi * safe) * ops.sin(math.pi * safe / radius) / (
            math.pi ** 2 * safe ** 2)
        return ops.where(x > radius, 0.0, ops.where(x > 1e-3, value, 1.0))
    return kernel


_KERNELS = {"linear": _triangle, "cubic": _keys_cubic, "lanczos3": _lanczos(3.0),
            "lanczos5": _lanczos(5.0)}
_METHODS = {"linear": "linear", "bilinear": "linear", "trilinear": "linear",
            "cubic": "cubic", "bicubic": "cubic", "tricubic": "cubic",
            "lanczos3": "lanczos3", "lanczos5": "lanczos5"}


def _weights(in_size: int, out_size: int, scale, translation, kernel, antialias, dtype):
    """(in_size, out_size) matrix: the weight of each input sample in each output sample."""
    scale = ops.cast(scale, dtype)
    translation = ops.cast(translation, dtype)
    inverse = 1.0 / scale
    width = ops.maximum(inverse, 1.0) if antialias else 1.0
    centres = (ops.arange(out_size, dtype=dtype) + 0.5) * inverse - translation * inverse - 0.5
    distance = ops.abs(centres[None, :] - ops.arange(in_size, dtype=dtype)[:, None]) / width
    weights = _KERNELS[kernel](distance)
    total = ops.sum(weights, axis=0, keepdims=True)
    weights = ops.where(ops.abs(total) > 1000.0 * 1.1920929e-07,
                        weights / ops.where(total != 0, total, 1.0), 0.0)
    inside = ops.logical_and(centres >= -0.5, centres <= in_size - 0.5)
    return ops.where(inside[None, :], weights, 0.0)


def _area_weights(in_size: int, out_size: int, dtype):
    """(in_size, out_size): the share of each output pixel's footprint each input pixel
    covers (exact overlap of [i s, (i + 1) s) with [j, j + 1), s = in / out)."""
    step = in_size / out_size
    start = ops.arange(out_size, dtype=dtype)[None, :] * step
    pixel = ops.arange(in_size, dtype=dtype)[:, None]
    overlap = ops.minimum(pixel + 1.0, start + step) - ops.maximum(pixel, start)
    return ops.maximum(overlap, 0.0) / step


def scale_and_translate(images, output_shape, scale, translation, spatial_dims,
                        method: str, antialias: bool = True):
    """Resampling along `spatial_dims` (jax.image.scale_and_translate's meaning): output
    sample i of a dim reads the input at ((i + 0.5) - translation) / scale - 0.5.

    Args:
        images: Tensor of any rank.
        output_shape: The result's full shape.
        scale: One scale per spatial dim (output size / input size for a plain resize).
        translation: One translation per spatial dim, in output pixels.
        spatial_dims: The axes to resample.
        method: "linear" ("bilinear", "trilinear"), "cubic" ("bicubic", "tricubic"),
            "lanczos3" or "lanczos5".
        antialias: Widen the kernel by 1 / scale when downsampling.

    Returns:
        A tensor of `output_shape`, in `images`' dtype (integers rounded and clipped).
    """
    if method not in _METHODS and method != "area":
        raise ValueError(f"scale_and_translate: `method` must be one of {sorted(_METHODS)}, "
                         f"got method={method!r}.")
    images = ops.convert_to_tensor(images)
    dtype = ops.dtype(images)
    work = dtype if "float" in dtype else "float32"
    out = ops.cast(images, work)
    rank = len(ops.shape(images))
    for i, axis in enumerate(spatial_dims):
        axis = axis % rank
        in_size, out_size = ops.shape(images)[axis], int(output_shape[axis])
        if method == "area":
            weights = _area_weights(in_size, out_size, work)
        else:
            weights = _weights(in_size, out_size, _at(scale, i), _at(translation, i),
                               _METHODS[method], antialias, work)
        out = ops.moveaxis(ops.tensordot(out, weights, axes=[[axis], [0]]), -1, axis)
    if "float" in dtype:
        return out
    low, high = ops.min(images), ops.max(images)
    return ops.cast(ops.clip(ops.round(out), ops.cast(low, work), ops.cast(high, work)), dtype)


def _at(values, i: int):
    if isinstance(values, (list, tuple)):
        return values[i]
    return ops.convert_to_tensor(values)[i]


# --- crop and pad ---------------------------------------------------------------------------
def _solve_sides(first, second, target, size, what: str, fn: str, names):
    """Two of (first side, second side, target size) -> all three; errors say which."""
    given = [v is not None for v in (first, second, target)]
    if sum(given) != 2:
        raise ValueError(f"{fn}: give exactly two of {', '.join(names)}, got "
                         f"{names[0]}={first}, {names[1]}={second}, {names[2]}={target}.")
    for name, value in zip(names, (first, second, target)):
        if value is not None and value < 0:
            raise ValueError(f"{fn}: `{name}` must be >= 0, got {name}={value}.")
    sign = -1 if what == "crop" else 1  # padding grows the image, cropping shrinks it
    if first is None:
        first = sign * (target - size) - second
    if second is None:
        second = sign * (target - size) - first
    if target is None:
        target = size + sign * (first + second)
    for name, value in zip(names, (first, second, target)):
        if value < 0:
            raise ValueError(f"{fn}: the arguments give {name}={value} for an image of size "
                             f"{size}; choose ones that fit inside it.")
    return first, second, target


def pad_images(images, top_padding: int | None = None, left_padding: int | None = None,
               bottom_padding: int | None = None, right_padding: int | None = None,
               target_height: int | None = None, target_width: int | None = None,
               data_format: str | None = None):
    """Images padded with zeros; give two of (top, bottom, target height) and two of (left,
    right, target width).

    Args:
        images: One image (rank 3) or a batch (rank 4).
        top_padding: Rows added above.
        left_padding: Columns added on the left.
        bottom_padding: Rows added below.
        right_padding: Columns added on the right.
        target_height: Height of the result.
        target_width: Width of the result.
        data_format: "channels_last" or "channels_first"; default the configured one.

    Returns:
        The padded images.
    """
    fn = "pad_images"
    images = _check_rank(images, fn)
    data_format = data_format_of(data_format)
    rank = len(ops.shape(images))
    h_axis, w_axis = _hw_axes(rank, data_format)
    top, bottom, _ = _solve_sides(top_padding, bottom_padding, target_height,
                                  ops.shape(images)[h_axis], "pad", fn,
                                  ("top_padding", "bottom_padding", "target_height"))
    left, right, _ = _solve_sides(left_padding, right_padding, target_width,
                                  ops.shape(images)[w_axis], "pad", fn,
                                  ("left_padding", "right_padding", "target_width"))
    pads = [[0, 0]] * rank
    pads[h_axis], pads[w_axis] = [top, bottom], [left, right]
    return ops.pad(images, pads)


def crop_images(images, top_cropping: int | None = None, left_cropping: int | None = None,
                bottom_cropping: int | None = None, right_cropping: int | None = None,
                target_height: int | None = None, target_width: int | None = None,
                data_format: str | None = None):
    """Images cropped; give two of (top, bottom, target height) and two of (left, right,
    target width).

    Args:
        images: One image (rank 3) or a batch (rank 4).
        top_cropping: Rows removed at the top.
        left_cropping: Columns removed on the left.
        bottom_cropping: Rows removed at the bottom.
        right_cropping: Columns removed on the right.
        target_height: Height of the result.
        target_width: Width of the result.
        data_format: "channels_last" or "channels_first"; default the configured one.

    Returns:
        The cropped images.
    """
    fn = "crop_images"
    images = _check_rank(images, fn)
    data_format = data_format_of(data_format)
    shape = list(ops.shape(images))
    h_axis, w_axis = _hw_axes(len(shape), data_format)
    top, _, height = _solve_sides(top_cropping, bottom_cropping, target_height, shape[h_axis],
                                  "crop", fn, ("top_cropping", "bottom_cropping",
                                               "target_height"))
    left, _, width = _solve_sides(left_cropping, right_cropping, target_width, shape[w_axis],
                                  "crop", fn, ("left_cropping", "right_cropping",
                                               "target_width"))
    start = [0] * len(shape)
    start[h_axis], start[w_axis] = top, left
    shape[h_axis], shape[w_axis] = height, width
    return ops.slice(images, start, shape)


# --- patches --------------------------------------------------------------------------------
def _patches(images, size, strides, dilation_rate, padding, data_format, n: int, fn: str):
    """Patches as channels: a convolution with an identity kernel, so patch (i, j, ...)'s
    values come out in (row, column, ..., channel) order, as Keras lays them out."""
    size = (size,) * n if isinstance(size, int) else tuple(size)
    if len(size) != n:
        raise ValueError(f"{fn}: `size` must be an int or {n} ints, got size={size!r}.")
    data_format = data_format_of(data_format)
    images = _check_rank(images, fn, (n + 1, n + 2))
    batched = len(ops.shape(images)) == n + 2
    if not batched:
        images = ops.expand_dims(images, 0)
    channels = ops.shape(images)[1 if data_format == "channels_first" else -1]
    depth = math.prod(size) * channels
    kernel = ops.reshape(ops.eye(depth, dtype=ops.dtype(images)), (*size, channels, depth))
    out = ops.conv(images, kernel, strides=strides or size, padding=padding,
                   data_format=data_format, dilation_rate=dilation_rate)
    return out if batched else ops.squeeze(out, 0)


def extract_patches(images, size, strides=None, dilation_rate=1, padding: str = "valid",
                    data_format: str | None = None):
    """Each size[0] x size[1] patch of the images, flattened into the channel axis (a 3-int
    `size` extracts 3-D patches: see extract_patches_3d).

    Args:
        images: One image (rank 3) or a batch (rank 4).
        size: Patch size, an int or (height, width).
        strides: Step between patches; default `size` (patches that do not overlap).
        dilation_rate: Spacing of a patch's pixels.
        padding: "valid" or "same".
        data_format: "channels_last" or "channels_first"; default the configured one.

    Returns:
        (batch, rows, cols, size[0] * size[1] * channels), channels_first accordingly.
    """
    if not isinstance(size, int) and len(size) == 3:
        return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
    return _patches(images, size, strides, dilation_rate, padding, data_format, 2,
                    "extract_patches")


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding: str = "valid",
                       data_format: str | None = None):
    """Each size[0] x size[1] x size[2] patch of the volumes, flattened into the channels.

    Args:
        volumes: One volume (rank 4) or a batch (rank 5).
        size: Patch size, an int or (depth, height, width).
        strides: Step between patches; default `size`.
        dilation_rate: Spacing of a patch's voxels.
        padding: "valid" or "same".
        data_format: "channels_last" or "channels_first"; default the configured one.

    Returns:
        (batch, d, h, w, prod(size) * channels), channels_first accordingly.
    """
    return _patches(volumes, size, strides, dilation_rate, padding, data_format, 3,
                    "extract_patches_3d")
