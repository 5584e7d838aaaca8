"""keras.visualization.draw_segmentation_masks: class masks painted over images in NumPy.

The palette and blending are Keras's, so pictures match Keras's pixel for pixel: class i
gets the colour (i * (2**25 - 1, 2**15 - 1, 2**21 - 1)) % 255, and a blended pixel is
image * (1 - alpha) + colour * alpha, truncated to uint8.
"""

from __future__ import annotations

import numpy as np

from nhanh.visualization._common import images_channels_last, masks_channels_last


def color_palette(num_classes: int) -> list[list[int]]:
    """Keras's default colours, one RGB triple per class."""
    base = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])
    return [((i * base) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(images, segmentation_masks, num_classes: int | None = None,
                            color_mapping: dict | None = None, alpha: float = 0.8,
                            blend: bool = True, ignore_index: int = -1,
                            data_format: str | None = None) -> np.ndarray:
    """A batch of images with each pixel of class c painted in class c's colour.

    Args:
        images: A batch of images `(batch, height, width, channels)` (or channels_first).
        segmentation_masks: Integer class indices `(batch, height, width)` or with a channel
            axis of 1.
        num_classes: Number of classes; defaults to the largest class present + 1.
        color_mapping: {class: RGB}; defaults to Keras's palette.
        alpha: Opacity of the colours when blending.
        blend: Mix colour and image by `alpha` (uint8 result); False paints the colours
            opaque (float32 result).
        ignore_index: Mask value whose pixels keep the image.
        data_format: "channels_last" or "channels_first" for images and masks.

    Returns:
        A NumPy array `(batch, height, width, channels)`.
    """
    images = images_channels_last(images, data_format, "draw_segmentation_masks")
    images = images.astype("float32")
    masks = masks_channels_last(segmentation_masks, data_format)
    if masks.dtype.kind not in "iu":
        raise TypeError("draw_segmentation_masks: `segmentation_masks` must hold integer "
                        f"class indices, got dtype {masks.dtype}. Cast them, e.g. "
                        "masks.astype('int32').")
    if masks.shape != images.shape[:3]:
        raise ValueError("draw_segmentation_masks: masks must cover the images pixel for "
                         f"pixel; got masks of shape {masks.shape} for images "
                         f"{images.shape[:3]}.")
    valid = masks != ignore_index
    if num_classes is None:
        num_classes = max(1, int(masks[valid].max()) + 1 if valid.any() else 1)
    if color_mapping is None:
        colors = color_palette(num_classes)
    else:
        missing = [c for c in range(num_classes) if c not in color_mapping]
        if missing:
            raise ValueError("draw_segmentation_masks: `color_mapping` needs a colour for "
                             f"every class 0..{num_classes - 1}; missing {missing}.")
        colors = [color_mapping[c] for c in range(num_classes)]
    painted = images.copy()
    for c, color in enumerate(colors):
        painted[masks == c] = np.asarray(color, "float32")
    if not blend:
        return painted
    mixed = images * (1 - alpha) + painted * alpha
    return np.where(valid[..., None], mixed, images).astype("uint8")
