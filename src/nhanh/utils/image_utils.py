"""Image files and arrays: load_img, img_to_array, array_to_img, save_img, smart_resize.

Files are read and written with Pillow, exactly as Keras 3 does, so the same file gives the
same array. Resizing of arrays (`smart_resize`, and the directory datasets) runs on the host in
NumPy: `resize_images` below follows the half-pixel-centred kernels of Keras's
`ops.image.resize` without antialiasing (jax.image.resize on Keras's JAX backend; TensorFlow's
`tf.image.resize` for bilinear), so a batch is ready before it goes to a device. A backend
tensor given to `smart_resize` goes through `nhanh.ops.image.resize` where nhanh.ops has it,
else through the same host code and back.
"""

from __future__ import annotations

import io
import pathlib
import warnings

import numpy as np

from nhanh import config

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")
_PIL_METHODS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def pil_image():
    """The `PIL.Image` module, or an ImportError that says how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("Reading and writing images needs Pillow, which is not installed: "
                          "run `pip install Pillow`.") from None
    return Image


def _data_format(data_format: str | None) -> str:
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("`data_format` must be 'channels_last', 'channels_first' or None, "
                         f"got {data_format!r}.")
    return data_format


def array_to_img(x, data_format: str | None = None, scale: bool = True, dtype=None):
    """A 3D array (height, width, channels) as a PIL Image, for viewing or saving.

    Args:
        x: The image: anything `np.asarray` takes, of rank 3.
        data_format: `"channels_last"` or `"channels_first"`; None reads
            `nhanh.config.image_data_format()`.
        scale: Whether to stretch the values to [0, 255] first (min to 0, max to 255).
        dtype: Dtype the values are read as; None means `nhanh.config.floatx()`.

    Returns:
        A PIL Image: mode RGBA, RGB, L (or I for grayscale values above 255).
    """
    data_format = _data_format(data_format)
    image_module = pil_image()
    x = np.array(x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError(f"array_to_img expects one image of rank 3 (height, width, channels), "
                         f"got an array of shape {x.shape}; for a batch, pass x[i].")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x /= top
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image_module.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:  # 32-bit grayscale, as Keras keeps it
            return image_module.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_module.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img takes 1, 3 or 4 channels, got {channels} "
                     f"(array of shape {x.shape}, data_format={data_format!r}).")


def img_to_array(img, data_format: str | None = None, dtype=None) -> np.ndarray:
    """A PIL Image as a 3D NumPy array, with a channel axis even for grayscale.

    Args:
        img: A PIL Image (or anything `np.asarray` turns into a rank-2 or rank-3 array).
        data_format: `"channels_last"` or `"channels_first"`; None reads
            `nhanh.config.image_data_format()`.
        dtype: Dtype of the result; None means `nhanh.config.floatx()`.

    Returns:
        A NumPy array (height, width, channels), or (channels, height, width).
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"img_to_array expects an image of rank 2 or 3, got shape {x.shape}.")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def save_img(path, x, data_format: str | None = None, file_format: str | None = None,
             scale: bool = True, **kwargs) -> None:
    """Write an image array to a file (or file object) with Pillow.

    Args:
        path: Path, or a file object (then give `file_format`).
        x: The image array, rank 3.
        data_format: `"channels_last"` or `"channels_first"`; None reads the global setting.
        file_format: Pillow format name ("png", "jpeg", ...); None takes the path's suffix.
        scale: Whether to stretch the values to [0, 255] first.
        **kwargs: Passed on to `PIL.Image.Image.save` (e.g. `quality=95`).
    """
    data_format = _data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"  # Pillow's name
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("JPEG has no alpha channel: the RGBA image is saved as RGB.", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format or None, **kwargs)


def _open(path, image_module):
    if isinstance(path, io.BytesIO):
        return image_module.open(path)
    if isinstance(path, (pathlib.Path, str, bytes)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        with open(path, "rb") as f:  # read whole, so no file handle stays open
            return image_module.open(io.BytesIO(f.read()))
    raise TypeError(f"`path` must be a str, bytes, pathlib.Path or io.BytesIO, got "
                    f"{type(path).__name__}.")


def to_color_mode(img, color_mode: str):
    """`img` converted to what `color_mode` asks for; grayscale keeps 16/32-bit images."""
    if color_mode == "grayscale":
        return img if img.mode in ("L", "I;16", "I") else img.convert("L")
    if color_mode == "rgba":
        return img if img.mode == "RGBA" else img.convert("RGBA")
    if color_mode == "rgb":
        return img if img.mode == "RGB" else img.convert("RGB")
    raise ValueError(f"`color_mode` must be 'grayscale', 'rgb' or 'rgba', got {color_mode!r}.")


def load_img(path, color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False):
    """Read an image file into a PIL Image, optionally resized with Pillow.

    Args:
        path: Path to the file, or an `io.BytesIO`.
        color_mode: `"rgb"`, `"rgba"` or `"grayscale"`.
        target_size: None (keep the size) or `(height, width)`.
        interpolation: Pillow resampling when resizing: `"nearest"`, `"bilinear"`,
            `"bicubic"`, `"hamming"`, `"box"` or `"lanczos"`.
        keep_aspect_ratio: Crop the largest centred box of the target's aspect ratio before
            resizing, so the image is not distorted.

    Returns:
        A PIL Image.
    """
    image_module = pil_image()
    img = to_color_mode(_open(path, image_module), color_mode)
    if target_size is None:
        return img
    target_w, target_h = int(target_size[1]), int(target_size[0])
    if img.size == (target_w, target_h):
        return img
    if interpolation not in _PIL_METHODS:
        raise ValueError(f"`interpolation` must be one of {', '.join(_PIL_METHODS)}, got "
                         f"{interpolation!r}.")
    resample = getattr(getattr(image_module, "Resampling", image_module), interpolation.upper())
    box = None
    if keep_aspect_ratio:
        width, height = img.size
        crop_h = min(height, (width * target_h) // target_w)
        crop_w = min(width, (height * target_w) // target_h)
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
        box = (left, top, left + crop_w, top + crop_h)
    return img.resize((target_w, target_h), resample, box=box)


# ---- resizing arrays on the host ---------------------------------------------------------

def _kernel(name: str):
    def triangle(d):
        return np.maximum(0.0, 1.0 - d)

    def keys_cubic(d):  # a = -0.5
        near = ((1.5 * d - 2.5) * d) * d + 1.0
        far = ((-0.5 * d + 2.5) * d - 4.0) * d + 2.0
        return np.where(d >= 2.0, 0.0, np.where(d >= 1.0, far, near))

    def lanczos(radius):
        def fn(d):
            with np.errstate(divide="ignore", invalid="ignore"):
                y = radius * np.sin(np.pi * d) * np.sin(np.pi * d / radius) / (np.pi * d) ** 2
            return np.where(d > radius, 0.0, np.where(d > 1e-3, y, 1.0))
        return fn

    return {"bilinear": triangle, "bicubic": keys_cubic, "lanczos3": lanczos(3.0),
            "lanczos5": lanczos(5.0)}[name]


def _weights(n_in: int, n_out: int, interpolation: str) -> np.ndarray:
    """(n_in, n_out) matrix: output pixel j is sum_i x[i] * w[i, j] (half-pixel centres)."""
    ratio = n_in / n_out
    if interpolation == "area":  # overlap of each output cell with each input cell
        left = np.arange(n_out) * ratio
        overlap = (np.minimum(left + ratio, np.arange(1, n_in + 1)[:, None])
                   - np.maximum(left, np.arange(n_in)[:, None]))
        w = np.maximum(overlap, 0.0)
    else:
        centre = (np.arange(n_out) + 0.5) * ratio - 0.5
        w = _kernel(interpolation)(np.abs(centre[None, :] - np.arange(n_in)[:, None]))
        w[:, (centre < -0.5) | (centre > n_in - 0.5)] = 0.0  # samples outside the image
    total = w.sum(axis=0, keepdims=True)
    return np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps,
                    w / np.where(total != 0, total, 1), 0.0)


def resize_images(images, size: tuple[int, int], interpolation: str = "bilinear",
                  data_format: str | None = None) -> np.ndarray:
    """Resize one image (rank 3) or a batch (rank 4) on the host, without antialiasing.

    Args:
        images: NumPy array (height, width, channels) or (batch, height, width, channels)
            (channels first when `data_format` says so).
        size: `(height, width)` of the result.
        interpolation: One of `INTERPOLATIONS`.
        data_format: `"channels_last"` or `"channels_first"`; None reads the global setting.

    Returns:
        A float array (float32 for integer input) of the new size.
    """
    data_format = _data_format(data_format)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"`interpolation` must be one of {INTERPOLATIONS} (nhanh resizes on "
                         f"the host with these kernels), got {interpolation!r}.")
    if len(size) != 2:
        raise ValueError(f"`size` must be (height, width), got {size!r}.")
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError("Expected an image (height, width, channels) or a batch (batch, "
                         f"height, width, channels), got an array of shape {x.shape}.")
    if x.dtype.kind != "f":
        x = x.astype("float32")
    first = x.ndim - 3 + (1 if data_format == "channels_first" else 0)  # height axis
    for axis, n_out in zip((first, first + 1), size):
        n_in = x.shape[axis]
        if n_in == int(n_out):
            continue
        if interpolation == "nearest":
            rows = np.floor((np.arange(n_out, dtype="float32") + 0.5)
                            * np.float32(n_in / n_out)).astype("int64")
            x = np.take(x, np.minimum(rows, n_in - 1), axis=axis)
            continue
        w = _weights(n_in, int(n_out), interpolation).astype(x.dtype)
        x = np.moveaxis(np.tensordot(x, w, axes=([axis], [0])), -1, axis)
    return x


def _crop_box(height: int, width: int, size) -> tuple[int, int, int, int]:
    """(top, left, crop_height, crop_width): the largest centred box of `size`'s aspect."""
    target_h, target_w = size
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def crop_or_pad_to_aspect(x: np.ndarray, size, data_format: str, crop: bool = False,
                          pad: bool = False, fill_value: float = 0.0) -> np.ndarray:
    """Centre-crop (or pad with `fill_value` on both sides) an image or batch to `size`'s
    aspect ratio, as Keras's resize does before resizing."""
    h_axis = x.ndim - 3 + (1 if data_format == "channels_first" else 0)
    height, width = x.shape[h_axis], x.shape[h_axis + 1]
    if crop:
        top, left, crop_h, crop_w = _crop_box(height, width, size)
        index = [slice(None)] * x.ndim
        index[h_axis], index[h_axis + 1] = slice(top, top + crop_h), slice(left, left + crop_w)
        return x[tuple(index)]
    if pad:
        target_h, target_w = size
        pad_h = max(height, int(float(width * target_h) / target_w))
        pad_w = max(width, int(float(height * target_w) / target_h))
        top, left = int(float(pad_h - height) / 2), int(float(pad_w - width) / 2)
        widths = [(0, 0)] * x.ndim
        if top > 0:
            widths[h_axis] = (top, top)
        elif left > 0:
            widths[h_axis + 1] = (left, left)
        return np.pad(x, widths, constant_values=fill_value)
    return x


def smart_resize(x, size: tuple[int, int], interpolation: str = "bilinear",
                 data_format: str = "channels_last", **kwargs):
    """Resize to `size` without distorting: crop the largest centred box of the target's
    aspect ratio, then resize it.

    Args:
        x: One image (height, width, channels) or a batch (batch, height, width, channels),
            as a NumPy array or a backend tensor.
        size: `(height, width)` of the result.
        interpolation: `"bilinear"`, `"nearest"`, `"bicubic"`, `"lanczos3"`, `"lanczos5"`
            or `"area"`.
        data_format: `"channels_last"` or `"channels_first"`.
        **kwargs: Keras's private `backend_module` only; nothing else is accepted.

    Returns:
        A NumPy array for NumPy input (resized on the host), else a backend tensor.
    """
    kwargs.pop("backend_module", None)
    if kwargs:
        raise TypeError(f"smart_resize() got unexpected keyword arguments: {sorted(kwargs)}.")
    if len(size) != 2:
        raise ValueError(f"`size` must be a tuple of 2 integers (height, width), got {size!r}.")
    data_format = _data_format(data_format)
    from nhanh import ops  # utils sit above ops; imported where needed

    is_tensor = ops.is_tensor(x)
    array = ops.convert_to_numpy(x) if is_tensor else np.asarray(x)
    if array.ndim not in (3, 4):
        raise ValueError("smart_resize expects an image (height, width, channels) or a batch "
                         f"(batch_size, height, width, channels), got shape {array.shape}.")
    resize = getattr(getattr(ops, "image", None), "resize", None)
    if is_tensor and resize is not None:
        h_axis = array.ndim - 3 + (1 if data_format == "channels_first" else 0)
        top, left, crop_h, crop_w = _crop_box(array.shape[h_axis], array.shape[h_axis + 1], size)
        index = [slice(None)] * array.ndim
        index[h_axis], index[h_axis + 1] = slice(top, top + crop_h), slice(left, left + crop_w)
        return resize(x[tuple(index)], size, interpolation=interpolation,
                      data_format=data_format)
    out = resize_images(crop_or_pad_to_aspect(array, size, data_format, crop=True), size,
                        interpolation, data_format)
    return ops.convert_to_tensor(out) if is_tensor else out
