"""What the drawing and plotting functions share: checking a batch of images and putting it
in channels_last NumPy form."""

from __future__ import annotations

import numpy as np

from nhanh import config, ops


def images_channels_last(images, data_format: str | None, function: str) -> np.ndarray:
    """A (batch, height, width, channels) NumPy copy of a rank-4 batch of images."""
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{function}: `data_format` must be 'channels_last' or "
                         f"'channels_first', got {data_format!r}.")
    images = np.array(ops.convert_to_numpy(images))
    if images.ndim != 4:
        raise ValueError(f"{function}: `images` must be a batch of shape (batch, height, "
                         f"width, channels), got shape {images.shape}. Add a batch axis to one "
                         "image with images[None].")
    return images.transpose(0, 2, 3, 1) if data_format == "channels_first" else images


def masks_channels_last(masks, data_format: str | None) -> np.ndarray:
    """(batch, height, width) integer masks from (batch, H, W), (batch, H, W, 1) or, in
    channels_first, (batch, 1, H, W)."""
    masks = np.asarray(ops.convert_to_numpy(masks))
    if masks.ndim == 4:
        axis = 1 if (data_format or config.image_data_format()) == "channels_first" else -1
        masks = masks.squeeze(axis)
    return masks


def pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("nhanh.visualization's plots need matplotlib: pip install "
                          "matplotlib (or pip install \"nhanh[plot]\").") from None
    return plt
