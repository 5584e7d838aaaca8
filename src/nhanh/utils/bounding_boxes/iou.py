"""keras.utils.bounding_boxes.compute_iou / compute_ciou: overlap measures between boxes.

compute_iou is pairwise (every box of one set against every box of the other, by
broadcasting, batched or not); compute_ciou is elementwise (box i against box i), as the
CIoU loss of detection heads uses it.
"""

from __future__ import annotations

import math

from nhanh import config, ops
from nhanh.utils.bounding_boxes.converters import convert_format


def _image_hw(image_shape, bounding_box_format: str, function: str):
    if image_shape is None:
        if "rel" in bounding_box_format.lower():
            raise ValueError(
                f"{function}: the relative bounding_box_format={bounding_box_format!r} needs "
                "the image size; pass image_shape=(height, width, channels).")
        return None, None
    return image_shape[0], image_shape[1]


def _check_rank(boxes, arg: str):
    boxes = ops.convert_to_tensor(boxes)
    shape = tuple(ops.shape(boxes))
    if len(shape) not in (2, 3):
        raise ValueError(f"compute_iou: `{arg}` must have shape (N, 4) or (batch, N, 4), got "
                         f"{arg}.shape={shape}.")
    return boxes


def compute_iou(boxes1, boxes2, bounding_box_format: str, use_masking: bool = False,
                mask_val=-1, image_shape=None):
    """Pairwise intersection over union: `(M, 4)` and `(N, 4)` give `(M, N)`; a batched
    `(B, M, 4)` on either side gives `(B, M, N)`.

    Args:
        boxes1: Boxes `(M, 4)` or `(batch, M, 4)`.
        boxes2: Boxes `(N, 4)` or `(batch, N, 4)`.
        bounding_box_format: Format of both.
        use_masking: Give pairs where either box is padding (all four coordinates negative,
            as padded box lists are) the value `mask_val`.
        mask_val: The value of masked pairs.
        image_shape: (height, width, channels), for relative formats.

    Returns:
        The IoU table.
    """
    boxes1, boxes2 = _check_rank(boxes1, "boxes1"), _check_rank(boxes2, "boxes2")
    height, width = _image_hw(image_shape, bounding_box_format, "compute_iou")
    boxes1 = convert_format(boxes1, bounding_box_format, "yxyx", height, width)
    boxes2 = convert_format(boxes2, bounding_box_format, "yxyx", height, width)
    a = boxes1[..., :, None, :]  # (..., M, 1, 4)
    b = boxes2[..., None, :, :]  # (..., 1, N, 4)
    inter_h = ops.maximum(ops.minimum(a[..., 2], b[..., 2]) - ops.maximum(a[..., 0], b[..., 0]),
                          0.0)
    inter_w = ops.maximum(ops.minimum(a[..., 3], b[..., 3]) - ops.maximum(a[..., 1], b[..., 1]),
                          0.0)
    intersection = inter_h * inter_w

    def area(box):
        return (box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1])

    union = area(a) + area(b) - intersection
    iou = intersection / (union + config.epsilon())
    if not use_masking:
        return iou
    padding = ops.logical_or(ops.max(a, axis=-1) < 0, ops.max(b, axis=-1) < 0)
    return ops.where(padding, ops.cast(mask_val, ops.dtype(iou)), iou)


def compute_ciou(boxes1, boxes2, bounding_box_format: str, image_shape=None):
    """Complete IoU of box i of `boxes1` with box i of `boxes2`: the IoU less the squared
    centre distance over the squared diagonal of the enclosing box, less an aspect-ratio
    term.

    Args:
        boxes1: Boxes `(..., 4)`.
        boxes2: Boxes `(..., 4)`, broadcastable against `boxes1`.
        bounding_box_format: Format of both.
        image_shape: (height, width, channels), for relative formats (Keras refuses those).

    Returns:
        The CIoU of each pair, shaped as the broadcast boxes without the last axis.
    """
    height, width = _image_hw(image_shape, bounding_box_format, "compute_ciou")
    boxes1 = convert_format(boxes1, bounding_box_format, "xyxy", height, width)
    boxes2 = convert_format(boxes2, bounding_box_format, "xyxy", height, width)
    eps = config.epsilon()
    x1a, y1a, x2a, y2a = (boxes1[..., i] for i in range(4))
    x1b, y1b, x2b, y2b = (boxes2[..., i] for i in range(4))
    wa, ha = x2a - x1a, y2a - y1a + eps
    wb, hb = x2b - x1b, y2b - y1b + eps
    intersection = (ops.maximum(ops.minimum(x2a, x2b) - ops.maximum(x1a, x1b), 0.0)
                    * ops.maximum(ops.minimum(y2a, y2b) - ops.maximum(y1a, y1b), 0.0))
    union = wa * ha + wb * hb - intersection + eps
    iou = intersection / (union + eps)
    diagonal2 = ((ops.maximum(x2a, x2b) - ops.minimum(x1a, x1b)) ** 2
                 + (ops.maximum(y2a, y2b) - ops.minimum(y1a, y1b)) ** 2 + eps)
    centres2 = ((x1a + x2a) / 2 - (x1b + x2b) / 2) ** 2 + ((y1a + y2a) / 2 - (y1b + y2b) / 2) ** 2
    v = (4 / math.pi ** 2) * (ops.arctan(wb / hb) - ops.arctan(wa / ha)) ** 2
    alpha = v / (v - iou + (1 + eps))
    return iou - (centres2 / diagonal2 + v * alpha)
