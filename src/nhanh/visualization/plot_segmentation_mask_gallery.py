"""keras.visualization.plot_segmentation_mask_gallery: one row per image, holding the
image, then its true masks and its predicted masks drawn over it."""

from __future__ import annotations

import numpy as np

from nhanh.visualization._common import images_channels_last, masks_channels_last
from nhanh.visualization.draw_segmentation_masks import draw_segmentation_masks
from nhanh.visualization.plot_image_gallery import plot_image_gallery


def plot_segmentation_mask_gallery(images, num_classes: int, value_range=(0, 255),
                                   y_true=None, y_pred=None, color_mapping: dict | None = None,
                                   blend: bool = True, alpha: float = 0.8,
                                   ignore_index: int = -1, data_format: str | None = None,
                                   **kwargs):
    """Plots each image beside its true and predicted masks painted over it.

    Args:
        images: A batch of images `(batch, height, width, channels)` (or channels_first).
        num_classes: Number of classes in the masks.
        value_range: The images' (low, high).
        y_true: True masks, integer class indices `(batch, height, width[, 1])`.
        y_pred: Predicted masks, likewise.
        color_mapping: {class: RGB}; defaults to Keras's palette.
        blend: Blend the colours with the images (see draw_segmentation_masks).
        alpha: Opacity of the colours.
        ignore_index: Mask value whose pixels keep the image.
        data_format: "channels_last" or "channels_first" for images and masks.
        **kwargs: Passed to plot_image_gallery (`path`, `show`, `scale`, ...).

    Returns:
        The matplotlib Figure.
    """
    images = images_channels_last(images, data_format, "plot_segmentation_mask_gallery")
    columns = [images.astype("float32")]
    for masks in (y_true, y_pred):
        if masks is not None:
            masks = masks_channels_last(masks, data_format).astype("int32")
            columns.append(draw_segmentation_masks(
                images, masks, num_classes=num_classes, color_mapping=color_mapping,
                alpha=alpha, blend=blend, ignore_index=ignore_index,
                data_format="channels_last").astype("float32"))
    gallery = np.stack(columns, axis=1).reshape(-1, *images.shape[1:])
    return plot_image_gallery(gallery, value_range=value_range, rows=images.shape[0],
                              cols=len(columns), data_format="channels_last", **kwargs)
