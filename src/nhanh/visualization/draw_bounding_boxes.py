"""keras.visualization.draw_bounding_boxes, drawn with Pillow's ImageDraw.

Decision: Keras draws with OpenCV (cv2.rectangle, Hershey fonts), a large dependency most
users of a training library do not have; Pillow is already nhanh's image library. The outline
is `line_thickness` pixels wide, inside the box from its corners (x1, y1) to (x2, y2) (OpenCV
centres the line on the edge instead); the class name (and confidence) is written above the
box, or inside it at the top of the image, in Pillow's default font scaled by `font_scale`.
"""

from __future__ import annotations

import numpy as np

from nhanh import ops
from nhanh.utils.bounding_boxes.converters import convert_format
from nhanh.visualization._common import images_channels_last


def _as_uint8(images: np.ndarray) -> np.ndarray:
    """Images as uint8: floats in [0, 1] are scaled by 255, others clipped to [0, 255]."""
    if images.dtype.kind == "f" and images.size:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    return images.astype("uint8")


def draw_bounding_boxes(images, bounding_boxes: dict, bounding_box_format: str,
                        class_mapping: dict | None = None, color=(128, 128, 128),
                        line_thickness: int = 2, text_thickness: int = 1,
                        font_scale: float = 1.0, data_format: str | None = None) -> np.ndarray:
    """Outlines boxes on a copy of a batch of images.

    Args:
        images: A batch of images `(batch, height, width, channels)` (or channels_first);
            floats in [0, 1] are scaled to [0, 255].
        bounding_boxes: A dict with "boxes" `(batch, N, 4)`, "labels" `(batch, N)` and
            optionally "confidences" `(batch, N)`; boxes labelled -1 (padding) are skipped.
        bounding_box_format: Format of the boxes ("xyxy", "rel_xywh", ...).
        class_mapping: {label: name}; labels found here are written by their box.
        color: RGB colour of the outlines and text.
        line_thickness: Width of the outline in pixels, inside the box.
        text_thickness: Stroke width of the text.
        font_scale: Text size, 1.0 being 12 pixels.
        data_format: "channels_last" or "channels_first" for `images`.

    Returns:
        A uint8 NumPy array `(batch, height, width, channels)`.
    """
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise ImportError("draw_bounding_boxes draws with Pillow: pip install Pillow (or pip "
                          "install \"nhanh[image]\").") from None

    images = images_channels_last(images, data_format, "draw_bounding_boxes")
    if not isinstance(bounding_boxes, dict) or not {"boxes", "labels"} <= set(bounding_boxes):
        got = (f"keys {sorted(bounding_boxes)}" if isinstance(bounding_boxes, dict)
               else type(bounding_boxes).__name__)
        raise ValueError("draw_bounding_boxes: `bounding_boxes` must be a dict with 'boxes' "
                         f"and 'labels', got {got}.")
    height, width = images.shape[1:3]
    boxes = ops.convert_to_numpy(convert_format(bounding_boxes["boxes"], bounding_box_format,
                                                "xyxy", height, width))
    labels = np.asarray(ops.convert_to_numpy(bounding_boxes["labels"]))
    confidences = bounding_boxes.get("confidences")
    if confidences is not None:
        confidences = np.asarray(ops.convert_to_numpy(confidences))
    class_mapping = class_mapping or {}
    images = _as_uint8(images)
    channels = images.shape[-1]
    fill = tuple(int(c) for c in color)[:channels] if channels > 1 else int(color[0])
    font = None
    out = []
    for i, image in enumerate(images):
        picture = Image.fromarray(image[..., 0] if channels == 1 else image)
        pen = ImageDraw.Draw(picture)
        for j, (x1, y1, x2, y2) in enumerate(boxes[i].astype("int32")):
            label = int(labels[i][j])
            if label == -1:
                continue
            x1, x2 = sorted((int(x1), int(x2)))
            y1, y2 = sorted((int(y1), int(y2)))
            pen.rectangle((x1, y1, x2, y2), outline=fill, width=int(line_thickness))
            if label in class_mapping:
                text = str(class_mapping[label])
                if confidences is not None:
                    text = f"{text} | {float(confidences[i][j]):.2f}"
                if font is None:
                    font = ImageFont.load_default(size=max(6, int(12 * font_scale)))
                top = pen.textbbox((0, 0), text, font=font)[3]
                y = y1 - top - 2 if y1 - top - 2 >= 0 else y1 + line_thickness + 1
                pen.text((x1 + 1, y), text, fill=fill, font=font,
                         stroke_width=max(0, int(text_thickness or 1) - 1))
        drawn = np.asarray(picture)
        out.append(drawn[..., None] if channels == 1 else drawn)
    return np.stack(out)
