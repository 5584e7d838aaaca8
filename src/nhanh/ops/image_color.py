"""keras.ops.image's colour and filtering ops, written once against nhanh.ops.

Why here and not in a backend: each op is a few element-wise expressions or one depthwise
convolution, which nhanh.ops already runs well on both engines, so one implementation serves
both. Integer images are computed in float32 and cast back where Keras casts back
(grayscale, blur); HSV conversions need float images, as in Keras.
"""

from __future__ import annotations

from nhanh import config, ops

__all__: list[str] = ["gaussian_blur", "hsv_to_rgb", "rgb_to_grayscale", "rgb_to_hsv",
                      "sobel_edges", "ssim"]

_GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)  # ITU-R 601 luma, Keras's and TF's weights


def _data_format(data_format: str | None, fn: str) -> str:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{fn}: data_format must be 'channels_last' or 'channels_first', got "
                         f"data_format={data_format!r}.")
    return data_format


def _images(images, fn: str, ranks: tuple[int, ...] = (3, 4), arg: str = "images"):
    images = ops.convert_to_tensor(images)
    if len(ops.shape(images)) not in ranks:
        wanted = " or ".join(f"{r} ({'a batch' if r == 4 else 'one image'})" for r in ranks)
        raise ValueError(f"{fn}: `{arg}` must have rank {wanted}, got shape "
                         f"{tuple(ops.shape(images))}.")
    return images


def _float(images):
    """(images in a float dtype, their original dtype)."""
    dtype = _dtype_name(images)
    return (images if "float" in dtype else ops.cast(images, "float32")), dtype


def _dtype_name(x) -> str:
    return ops.dtype(x)


def _cast_back(x, dtype: str):
    if "float" in dtype:
        return ops.cast(x, dtype)
    return ops.cast(ops.round(x), dtype)


def _channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else -3


def rgb_to_grayscale(images, data_format: str | None = None):
    """Luma of RGB images (0.2989 R + 0.5870 G + 0.1140 B), keeping a channel axis of size 1.

    Grayscale input (one channel) is returned as it is.

    Args:
        images: One image (rank 3) or a batch (rank 4) with 1 or 3 channels.
        data_format: "channels_last" (default from `nhanh.config.image_data_format()`) or
            "channels_first".

    Returns:
        The grayscale images, in `images`'s dtype, with one channel.
    """
    fn = "rgb_to_grayscale"
    data_format = _data_format(data_format, fn)
    images = _images(images, fn)
    axis = _channel_axis(data_format)
    channels = ops.shape(images)[axis]
    if channels not in (1, 3):
        raise ValueError(f"{fn}: images must have 1 (grayscale) or 3 (RGB) channels on axis "
                         f"{axis} ({data_format}), got shape {tuple(ops.shape(images))}.")
    if channels == 1:
        return images
    x, dtype = _float(images)
    weights = ops.convert_to_tensor(_GRAY_WEIGHTS, dtype=_dtype_name(x))
    gray = ops.expand_dims(ops.tensordot(ops.moveaxis(x, axis, -1), weights, axes=1), axis)
    return _cast_back(gray, dtype)


def _float_images(images, fn: str):
    images = _images(images, fn)
    if "float" not in _dtype_name(images):
        raise ValueError(f"{fn}: images must have a float dtype, got {_dtype_name(images)}. "
                         "Cast them first, e.g. ops.cast(images, 'float32') / 255.")
    return images


def _planes(images, axis: int):
    return [ops.squeeze(p, axis) for p in ops.split(images, 3, axis=axis)]


def rgb_to_hsv(images, data_format: str | None = None):
    """RGB to HSV, every component in [0, 1] for RGB in [0, 1] (hue as a fraction of a turn).

    Value is the largest channel, saturation (max - min) / max, and hue the position on the
    colour hexagon; grays get hue 0 and black gets saturation 0.

    Args:
        images: Float images, rank 3 or 4, with 3 channels.
        data_format: "channels_last" (default) or "channels_first".

    Returns:
        HSV images of the same shape and dtype.
    """
    fn = "rgb_to_hsv"
    data_format = _data_format(data_format, fn)
    images = _float_images(images, fn)
    axis = _channel_axis(data_format)
    tiny = 1e-7 if _dtype_name(images) != "float16" else 1e-3
    images = ops.where(ops.abs(images) < tiny, ops.zeros_like(images), images)
    r, g, b = _planes(images, axis)
    value = ops.maximum(ops.maximum(r, g), b)
    spread = value - ops.minimum(ops.minimum(r, g), b)
    saturation = ops.where(value > 0, spread / ops.where(value > 0, value, 1.0), 0.0)
    six_spread = 6.0 * ops.where(spread > 0, spread, 1.0)
    hue = ops.where(value == r, (g - b) / six_spread,
                    ops.where(value == g, (b - r) / six_spread + 1.0 / 3.0,
                              (r - g) / six_spread + 2.0 / 3.0))
    hue = ops.where(spread > 0, hue, 0.0)
    hue = ops.where(hue < 0.0, hue + 1.0, hue)
    return ops.cast(ops.stack([hue, saturation, value], axis=axis), _dtype_name(images))


def hsv_to_rgb(images, data_format: str | None = None):
    """HSV (each in [0, 1], hue wrapping around) to RGB; the inverse of `rgb_to_hsv`.

    Args:
        images: Float images, rank 3 or 4, with 3 channels (hue, saturation, value).
        data_format: "channels_last" (default) or "channels_first".

    Returns:
        RGB images of the same shape and dtype.
    """
    fn = "hsv_to_rgb"
    data_format = _data_format(data_format, fn)
    images = _float_images(images, fn)
    axis = _channel_axis(data_format)
    hue, saturation, value = _planes(images, axis)
    sector = ops.mod(hue, 1.0) * 6.0  # position on the hexagon, in [0, 6)
    # each channel's pure-hue intensity is a trapezoid over the hexagon
    red = ops.clip(ops.abs(sector - 3.0) - 1.0, 0.0, 1.0)
    green = ops.clip(2.0 - ops.abs(sector - 2.0), 0.0, 1.0)
    blue = ops.clip(2.0 - ops.abs(sector - 4.0), 0.0, 1.0)
    rgb = [value * (1.0 - saturation + saturation * c) for c in (red, green, blue)]
    return ops.cast(ops.stack(rgb, axis=axis), _dtype_name(images))


def _pair(value, name: str, fn: str, kind=(int, float)) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{fn}: `{name}` must be a number or a pair (height, width), got "
                             f"{name}={value!r}.")
        return tuple(value)
    if isinstance(value, kind) and not isinstance(value, bool):
        return (value, value)
    return value  # a tensor (e.g. a sigma drawn inside a training step)


def _gaussian_1d(size: int, sigma, dtype: str):
    x = ops.arange(size, dtype=dtype) - (size - 1) / 2.0
    weights = ops.exp(-0.5 * ops.square(x / sigma))
    return weights / ops.sum(weights)


def _depthwise(images, kernel_2d, data_format: str, padding: str):
    """Convolve every channel of a batch with the same 2-D kernel (cross-correlation)."""
    channels = ops.shape(images)[_channel_axis(data_format)]
    kernel = ops.tile(ops.reshape(kernel_2d, (*ops.shape(kernel_2d), 1, 1)),
                      (1, 1, channels, 1))
    return ops.depthwise_conv(images, kernel, strides=1, padding=padding,
                              data_format=data_format)


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0),
                  data_format: str | None = None):
    """Blurs each channel with a normalized Gaussian kernel; borders are zero-padded ("same").

    Args:
        images: One image (rank 3) or a batch (rank 4).
        kernel_size: Odd int or pair (height, width) of the kernel.
        sigma: Standard deviation, a number or a pair (along height, along width); may be a
            tensor of two values.
        data_format: "channels_last" (default) or "channels_first".

    Returns:
        The blurred images, same shape and dtype.
    """
    fn = "gaussian_blur"
    data_format = _data_format(data_format, fn)
    images = _images(images, fn)
    size_h, size_w = _pair(kernel_size, "kernel_size", fn, int)
    if not all(isinstance(s, int) and s > 0 for s in (size_h, size_w)):
        raise ValueError(f"{fn}: kernel_size must be positive ints, got "
                         f"kernel_size={kernel_size!r}.")
    x, dtype = _float(images)
    work = _dtype_name(x)
    sigma = _pair(sigma, "sigma", fn)
    sigma_h, sigma_w = ops.cast(sigma[0], work), ops.cast(sigma[1], work)
    kernel = ops.outer(_gaussian_1d(size_h, sigma_h, work), _gaussian_1d(size_w, sigma_w, work))
    batched = len(ops.shape(x)) == 4
    x = x if batched else ops.expand_dims(x, 0)
    out = _depthwise(x, kernel, data_format, "same")
    return _cast_back(out if batched else ops.squeeze(out, 0), dtype)


def sobel_edges(images, data_format: str | None = None):
    """Sobel gradients of each channel: output[..., 0] is d/dy (rows), output[..., 1] d/dx.

    Borders are zero-padded, so the output keeps the input's height and width.

    Args:
        images: A batch of images (rank 4).
        data_format: "channels_last" (default) or "channels_first".

    Returns:
        A tensor of the input's shape plus a last axis of 2: [dy, dx].
    """
    fn = "sobel_edges"
    data_format = _data_format(data_format, fn)
    images = _images(images, fn, ranks=(4,))
    x, _ = _float(images)
    work = _dtype_name(x)
    dx = ops.convert_to_tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]],
                               dtype=work)
    dy = ops.transpose(dx)
    return ops.stack([_depthwise(x, dy, data_format, "same"),
                      _depthwise(x, dx, data_format, "same")], axis=-1)


def ssim(image1, image2, max_val: float = 1.0, filter_size: int = 11,
         filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
         data_format: str | None = None):
    """Structural similarity (Wang et al., 2004) of two images, averaged over the image.

    Local means, variances and covariance come from a Gaussian window (no padding: only
    positions where the window fits count); the SSIM map is averaged over positions and
    channels. 1 means identical.

    Args:
        image1: One image (rank 3) or a batch (rank 4).
        image2: Same shape as `image1`.
        max_val: Dynamic range of the pixels (1.0 for [0, 1], 255.0 for [0, 255]).
        filter_size: Size of the Gaussian window (at most the image's height and width).
        filter_sigma: Standard deviation of the window.
        k1: Luminance stabilizer; C1 = (k1 * max_val) ** 2.
        k2: Contrast stabilizer; C2 = (k2 * max_val) ** 2.
        data_format: "channels_last" (default) or "channels_first".

    Returns:
        A scalar for single images, else a vector with one value per image pair.
    """
    fn = "ssim"
    data_format = _data_format(data_format, fn)
    image1 = _images(image1, fn, arg="image1")
    image2 = _images(image2, fn, arg="image2")
    if tuple(ops.shape(image1)) != tuple(ops.shape(image2)):
        raise ValueError(f"{fn}: image1 and image2 must have the same shape, got "
                         f"{tuple(ops.shape(image1))} and {tuple(ops.shape(image2))}.")
    if not isinstance(filter_size, int) or filter_size < 1:
        raise ValueError(f"{fn}: filter_size must be a positive int, got "
                         f"filter_size={filter_size!r}.")
    x, dtype = _float(image1)
    y = ops.cast(image2, _dtype_name(x))
    batched = len(ops.shape(x)) == 4
    if not batched:
        x, y = ops.expand_dims(x, 0), ops.expand_dims(y, 0)
    window = _gaussian_1d(filter_size, float(filter_sigma), _dtype_name(x))
    window = ops.outer(window, window)

    def local_mean(z):
        return _depthwise(z, window, data_format, "valid")

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x * mu_x
    var_y = local_mean(y * y) - mu_y * mu_y
    cov = local_mean(x * y) - mu_x * mu_y
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    ssim_map = ((2.0 * mu_x * mu_y + c1) * (2.0 * cov + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))
    result = ops.mean(ssim_map, axis=(1, 2, 3))
    result = result if batched else ops.squeeze(result, 0)
    return ops.cast(result, dtype if "float" in dtype else "float32")
