"""image_dataset_from_directory: a folder of images (one sub-folder per class) as batches.

Keras 3 returns a tf.data.Dataset (or, with format='grain', a grain dataset); nhanh returns its
BatchedDataset (see batched_dataset.py) for format='tf' and a grain dataset for 'grain'. The
files, their labels and the training/validation split are Keras's for the same seed
(directory_listing.py). Images are decoded with Pillow (converted to the color mode as
`load_img` does) and resized on the host with nhanh's NumPy resize, which follows Keras's
`ops.image.resize` (the same numbers as Keras's format='grain' path); `pad_to_aspect_ratio`
pads as that path does.
"""

from __future__ import annotations

import numpy as np

from nhanh.utils import directory_listing as listing
from nhanh.utils.batched_dataset import from_samples
from nhanh.utils.image_utils import (_data_format, _open, crop_or_pad_to_aspect, pil_image,
                                     resize_images, to_color_mode)

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}
_TF_ONLY = ("gaussian", "mitchellcubic")


def load_image(path, color_mode: str, image_size, interpolation: str, data_format: str,
               crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False
               ) -> np.ndarray:
    """One image file as a float32 array of `image_size`, channels as `data_format` says."""
    x = np.asarray(to_color_mode(_open(path, pil_image()), color_mode), dtype="float32")
    if x.ndim == 2:
        x = x[:, :, None]
    if data_format == "channels_first":
        x = x.transpose(2, 0, 1)
    x = crop_or_pad_to_aspect(x, image_size, data_format, crop=crop_to_aspect_ratio,
                              pad=pad_to_aspect_ratio)
    return resize_images(x, image_size, interpolation, data_format).astype("float32")


def _image_size(image_size) -> tuple[int, int]:
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        return image_size, image_size
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"`image_size` must be (height, width) or one int, got {image_size!r}.")
    return int(image_size[0]), int(image_size[1])


def image_dataset_from_directory(directory, labels="inferred", label_mode: str | None = "int",
                                 class_names=None, color_mode: str = "rgb",
                                 batch_size: int | None = 32, image_size=(256, 256),
                                 shuffle: bool = True, seed: int | None = None,
                                 validation_split: float | None = None,
                                 subset: str | None = None, interpolation: str = "bilinear",
                                 follow_links: bool = False, crop_to_aspect_ratio: bool = False,
                                 pad_to_aspect_ratio: bool = False,
                                 data_format: str | None = None, format: str = "tf",
                                 verbose: bool = True):
    """Batches of images (and labels) from the image files under `directory`.

    Args:
        directory: Folder of images; with labels='inferred', one sub-folder per class.
        labels: 'inferred' (from sub-folders), None, or one integer label per file, in the
            sorted order of the file paths.
        label_mode: 'int' (int32), 'categorical' (float32 one-hot), 'binary' (float32
            (batch, 1); exactly 2 classes) or None (images only).
        class_names: With 'inferred', the sub-folders to use and the order of their indices.
        color_mode: 'rgb', 'rgba' or 'grayscale' (3, 4 or 1 channels).
        batch_size: Images per batch; None yields one image at a time.
        image_size: `(height, width)` every image is resized to.
        shuffle: Shuffle the files (and, for format='tf', each epoch anew); else sorted order.
        seed: Seed of the shuffling; needed with `validation_split` when shuffling.
        validation_split: Fraction of the files held out for validation.
        subset: 'training', 'validation' or 'both' (returns `[train, validation]`).
        interpolation: 'bilinear', 'nearest', 'bicubic', 'area', 'lanczos3' or 'lanczos5'.
        follow_links: Whether to walk into sub-folders that are symbolic links.
        crop_to_aspect_ratio: Centre-crop each image to `image_size`'s aspect ratio first.
        pad_to_aspect_ratio: Pad each image with zeros to that aspect ratio first.
        data_format: 'channels_last' or 'channels_first'; None reads the global setting.
        format: 'tf' (nhanh's BatchedDataset, in place of tf.data) or 'grain'.
        verbose: Print how many files and classes were found.

    Returns:
        A dataset yielding `(images, labels)` (or images alone): float32 images of shape
        (batch, height, width, channels); `class_names` and `file_paths` attributes.
    """
    labels, label_mode = listing.check_arguments(labels, label_mode, class_names,
                                                 validation_split, subset, shuffle, seed,
                                                 "image")
    if color_mode not in _CHANNELS:
        raise ValueError(f"`color_mode` must be 'rgb', 'rgba' or 'grayscale', got "
                         f"{color_mode!r}.")
    image_size = _image_size(image_size)
    interpolation = str(interpolation).lower()
    if interpolation in _TF_ONLY:
        raise ValueError(f"interpolation={interpolation!r} is TensorFlow-only and nhanh resizes "
                         "with NumPy; use 'bilinear', 'nearest', 'bicubic', 'area', 'lanczos3' "
                         "or 'lanczos5'.")
    if interpolation not in ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5"):
        raise ValueError("`interpolation` must be 'bilinear', 'nearest', 'bicubic', 'area', "
                         f"'lanczos3' or 'lanczos5', got {interpolation!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Give at most one of `crop_to_aspect_ratio` and "
                         "`pad_to_aspect_ratio`.")
    if format not in ("tf", "grain"):
        raise ValueError(f"`format` must be 'tf' or 'grain', got {format!r}.")
    data_format = _data_format(data_format)
    pil_image()  # fail now, not at the first batch, when Pillow is missing
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = listing.index_directory(
        directory, labels, ALLOWLIST_FORMATS, class_names, shuffle, seed, follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError("label_mode='binary' needs exactly 2 classes, but there are "
                         f"{len(class_names)}: {class_names}. Use 'categorical' or 'int'.")

    def build(part_paths, part_labels, part_shuffle):
        if not part_paths:
            raise ValueError(f"No images found in {directory!r} (extensions "
                             f"{ALLOWLIST_FORMATS}).")
        encoded = (None if label_mode is None else
                   listing.encode_labels(part_labels, label_mode, len(class_names)))

        def load_one(i):
            return load_image(part_paths[i], color_mode, image_size, interpolation,
                              data_format, crop_to_aspect_ratio, pad_to_aspect_ratio)

        return from_samples(len(part_paths), load_one, np.stack, encoded, batch_size,
                            part_shuffle, seed, class_names, part_paths, format)

    if subset == "both":
        train = listing.split(paths, labels, validation_split, "training", "images", verbose)
        val = listing.split(paths, labels, validation_split, "validation", "images", verbose)
        return [build(*train, shuffle), build(*val, False)]
    return build(*listing.split(paths, labels, validation_split, subset, "images", verbose),
                 shuffle)
