"""keras.utils.bounding_boxes: converting boxes between formats, clipping, cropping, padding,
affine warps, and the anchor-relative deltas of detection heads.

Why every format goes through "xyxy": a box is four numbers, and the nine formats differ only
in their order (x before y or not), in corners versus size (xyxy / xywh / centre), and in unit
(pixels versus fractions of the image, the "rel_" ones). So each conversion is "to absolute
corners, then to the target", written once. Between two relative formats no image size is
needed (the unit does not change), so nhanh, unlike Keras, accepts height/width=None there.

Everything is nhanh.ops, so these run on the device and inside a compiled step. Dict inputs
({"boxes", "labels"}) are not modified: a new dict comes back (Keras modifies the caller's).
"""

from __future__ import annotations

import math

from nhanh import config, ops

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
                     "rel_xyxy", "rel_yxyx", "rel_xywh", "rel_center_xywh")


def _check_format(fmt, arg: str) -> str:
    if not isinstance(fmt, str) or fmt.lower() not in SUPPORTED_FORMATS:
        raise ValueError(f"`{arg}` must be one of {SUPPORTED_FORMATS}, got {arg}={fmt!r}.")
    return fmt.lower()


def _layout_to_xyxy(boxes, layout: str):
    """Corners (x1, y1, x2, y2) of boxes in an unscaled layout (a format without "rel_")."""
    a, b, c, d = ops.split(boxes, 4, axis=-1)
    if layout == "xyxy":
        return a, b, c, d
    if layout == "yxyx":
        return b, a, d, c
    if layout == "xywh":
        return a, b, a + c, b + d
    if layout == "center_xywh":
        return a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0
    # center_yxhw
    return b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0


def _xyxy_to_layout(x1, y1, x2, y2, layout: str):
    if layout == "xyxy":
        parts = (x1, y1, x2, y2)
    elif layout == "yxyx":
        parts = (y1, x1, y2, x2)
    elif layout == "xywh":
        parts = (x1, y1, x2 - x1, y2 - y1)
    elif layout == "center_xywh":
        parts = (x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0, x2 - x1, y2 - y1)
    else:  # center_yxhw
        parts = (y1 + (y2 - y1) / 2.0, x1 + (x2 - x1) / 2.0, y2 - y1, x2 - x1)
    return ops.concatenate(parts, axis=-1)


def convert_format(boxes, source: str, target: str, height=None, width=None,
                   dtype: str = "float32"):
    """Converts boxes from one format to another.

    Formats (case-insensitive): "xyxy" [left, top, right, bottom], "yxyx", "xywh" [left, top,
    width, height], "center_xywh", "center_yxhw", and "rel_xyxy", "rel_yxyx", "rel_xywh",
    "rel_center_xywh" (the same as fractions of the image's height and width).

    Args:
        boxes: An array `(..., 4)`, or a dict whose "boxes" entry is one (a new dict comes
            back, other entries kept).
        source: Format of `boxes`.
        target: Format wanted.
        height: Image height; needed between a relative and an absolute format.
        width: Image width; likewise.
        dtype: Float dtype of the result.

    Returns:
        The boxes in `target` format (or the dict holding them).
    """
    if isinstance(boxes, dict):
        if "boxes" not in boxes:
            raise ValueError("convert_format: a dict `boxes` needs a 'boxes' entry, got keys "
                             f"{sorted(boxes)}.")
        return {**boxes, "boxes": convert_format(boxes["boxes"], source, target, height,
                                                 width, dtype)}
    source, target = _check_format(source, "source"), _check_format(target, "target")
    boxes = ops.convert_to_tensor(boxes)
    shape = tuple(ops.shape(boxes))
    if not shape or shape[-1] != 4:
        raise ValueError("convert_format: `boxes` must have a last axis of size 4 (one box per "
                         f"row), got boxes.shape={shape}.")
    src_rel, dst_rel = source.startswith("rel_"), target.startswith("rel_")
    if src_rel != dst_rel and (height is None or width is None):
        raise ValueError(
            f"convert_format from {source!r} to {target!r} converts between relative and "
            f"absolute coordinates, so it needs the image size; got height={height!r} and "
            f"width={width!r}. Pass both, e.g. convert_format(..., height=h, width=w).")
    boxes = ops.cast(boxes, dtype)
    if source == target:
        return boxes
    x1, y1, x2, y2 = _layout_to_xyxy(boxes, source.removeprefix("rel_"))
    if src_rel != dst_rel:
        sx, sy = ops.cast(width, dtype), ops.cast(height, dtype)
        if dst_rel:
            sx, sy = 1.0 / sx, 1.0 / sy
        x1, y1, x2, y2 = x1 * sx, y1 * sy, x2 * sx, y2 * sy
    return _xyxy_to_layout(x1, y1, x2, y2, target.removeprefix("rel_"))


def _to_xyxy(boxes, fmt: str):
    """Boxes in xyxy (or rel_xyxy for a relative format), and how to convert back."""
    fmt = _check_format(fmt, "bounding_box_format")
    corners = "rel_xyxy" if fmt.startswith("rel_") else "xyxy"
    back = (lambda b: convert_format(b, corners, fmt, dtype=ops.dtype(b)))
    return convert_format(boxes, fmt, corners, dtype=_float_dtype(boxes)), corners, back


def _float_dtype(boxes) -> str:
    dtype = ops.dtype(ops.convert_to_tensor(boxes))
    return dtype if "float" in dtype else "float32"


def clip_to_image_size(bounding_boxes: dict, height=None, width=None,
                       bounding_box_format: str = "xyxy") -> dict:
    """Clips boxes to the image; every box left with no area gets the label -1.

    Args:
        bounding_boxes: A dict with "boxes" `(N, 4)` or `(batch, N, 4)` and optionally
            "labels" `(N,)` or `(batch, N)`; not modified.
        height: Image height (absolute formats).
        width: Image width (absolute formats).
        bounding_box_format: Format of the boxes; relative formats clip to [0, 1]. Keras
            takes only "xyxy" and "rel_xyxy"; nhanh takes any.

    Returns:
        A new dict with the clipped boxes and updated labels.
    """
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes:
        raise ValueError("clip_to_image_size: `bounding_boxes` must be a dict with 'boxes' "
                         "(and optionally 'labels'), got "
                         f"{type(bounding_boxes).__name__}.")
    fmt = _check_format(bounding_box_format, "bounding_box_format")
    relative = fmt.startswith("rel_")
    if not relative and (height is None or width is None):
        raise ValueError(f"clip_to_image_size: bounding_box_format={fmt!r} is in pixels, so "
                         f"`height` and `width` are needed; got height={height!r}, "
                         f"width={width!r}.")
    boxes = ops.convert_to_tensor(bounding_boxes["boxes"])
    if fmt not in ("xyxy", "rel_xyxy"):
        corners, _, back = _to_xyxy(boxes, fmt)
    else:
        corners, back = boxes, (lambda b: b)
    dtype = ops.dtype(corners)
    w = 1.0 if relative else ops.cast(width, dtype)
    h = 1.0 if relative else ops.cast(height, dtype)
    x1, y1, x2, y2 = ops.split(corners, 4, axis=-1)
    x1, x2 = ops.clip(x1, 0, w), ops.clip(x2, 0, w)
    y1, y2 = ops.clip(y1, 0, h), ops.clip(y2, 0, h)
    result = dict(bounding_boxes)
    result["boxes"] = back(ops.concatenate([x1, y1, x2, y2], axis=-1))
    if bounding_boxes.get("labels") is not None:
        area = ops.squeeze((x2 - x1) * (y2 - y1), -1)
        labels = ops.convert_to_tensor(bounding_boxes["labels"])
        result["labels"] = ops.where(area > 0, labels, ops.cast(-1, ops.dtype(labels)))
    return result


def _absolute_xyxy(boxes, fmt: str, function: str):
    fmt = _check_format(fmt, "bounding_box_format")
    if fmt.startswith("rel_"):
        raise ValueError(f"{function} works in pixels; got the relative "
                         f"bounding_box_format={fmt!r}. Convert the boxes first with "
                         "convert_format(..., height=h, width=w).")
    boxes = ops.convert_to_tensor(boxes)
    if fmt == "xyxy":
        return boxes, (lambda b: b)
    return _to_xyxy(boxes, fmt)[::2]


def crop(boxes, top, left, height, width, bounding_box_format: str = "xyxy"):
    """Boxes in the frame of a crop of the image, clipped to it.

    Args:
        boxes: Boxes `(N, 4)` or `(batch, N, 4)`.
        top: Row of the crop's top-left corner.
        left: Column of the crop's top-left corner.
        height: Height of the crop.
        width: Width of the crop.
        bounding_box_format: Format of the boxes (an absolute one).

    Returns:
        The boxes in the crop's coordinates, in `bounding_box_format`.
    """
    boxes, back = _absolute_xyxy(boxes, bounding_box_format, "crop")
    x1, y1, x2, y2 = ops.split(boxes, 4, axis=-1)
    x1, x2 = ops.clip(x1 - left, 0, width), ops.clip(x2 - left, 0, width)
    y1, y2 = ops.clip(y1 - top, 0, height), ops.clip(y2 - top, 0, height)
    return back(ops.concatenate([x1, y1, x2, y2], axis=-1))


def pad(boxes, top, left, height=None, width=None, bounding_box_format: str = "xyxy"):
    """Boxes in the frame of the image padded by `top` rows and `left` columns.

    Args:
        boxes: Boxes `(N, 4)` or `(batch, N, 4)`.
        top: Rows added above the image.
        left: Columns added left of the image.
        height: Accepted for Keras's signature (padding below moves no box).
        width: Accepted for Keras's signature (padding on the right moves no box).
        bounding_box_format: Format of the boxes (an absolute one).

    Returns:
        The shifted boxes, in `bounding_box_format`.
    """
    boxes, back = _absolute_xyxy(boxes, bounding_box_format, "pad")
    shift = ops.stack([ops.cast(left, ops.dtype(boxes)), ops.cast(top, ops.dtype(boxes))] * 2)
    return back(boxes + shift)


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y,
                     height, width, center_x=None, center_y=None,
                     bounding_box_format: str = "xyxy"):
    """The axis-aligned hulls of boxes warped by a per-image affine map.

    The map is the one Keras's RandomRotation / RandomTranslation / RandomZoom apply to
    images (TF's convention): p -> c + A (p - c - t), with c the centre and t the
    translation in pixels. Each parameter is a `(batch,)` array or a number.

    Args:
        boxes: Boxes `(batch, N, 4)` (or `(N, 4)`).
        angle: Rotation in degrees.
        translate_x: Horizontal shift, a fraction of the width.
        translate_y: Vertical shift, a fraction of the height.
        scale: Scale factor.
        shear_x: Shear angle along x, in degrees.
        shear_y: Shear angle along y, in degrees.
        height: Image height.
        width: Image width.
        center_x: Centre of the map, a fraction of the width (default 0.5).
        center_y: Centre of the map, a fraction of the height (default 0.5).
        bounding_box_format: Format of the boxes (an absolute one).

    Returns:
        The transformed boxes, shaped as `boxes`.
    """
    boxes, back = _absolute_xyxy(boxes, bounding_box_format, "affine_transform")
    rank = len(ops.shape(boxes))
    if rank == 2:
        boxes = boxes[None]
    elif rank != 3:
        raise ValueError("affine_transform: `boxes` must have shape (N, 4) or (batch, N, 4), "
                         f"got {tuple(ops.shape(boxes))}.")
    dtype = ops.dtype(boxes)

    def param(v):  # (batch, 1, 1) so it broadcasts over boxes and corners
        return ops.reshape(ops.cast(v, dtype), (-1, 1, 1))

    to_rad = math.pi / 180.0
    rot, sx, sy = (-param(angle) * to_rad, -param(shear_x) * to_rad, -param(shear_y) * to_rad)
    s = param(scale)
    cx = param(0.5 if center_x is None else center_x) * (width - 1)
    cy = param(0.5 if center_y is None else center_y) * (height - 1)
    tx, ty = -param(translate_x) * (width - 1), -param(translate_y) * (height - 1)
    # rotation and shear (determinant 1), then its inverse scaled by `scale`
    a = ops.cos(rot - sy) / ops.cos(sy)
    b = a * ops.tan(sx) + ops.sin(rot)
    c = -ops.sin(rot - sy) / ops.cos(sy)
    d = ops.cos(rot) - c * ops.tan(sx)
    m00, m01, m10, m11 = d * s, -b * s, -c * s, a * s
    x1, y1, x2, y2 = ops.split(boxes, 4, axis=-1)  # each (batch, N, 1)
    xs = ops.concatenate([x1, x2, x2, x1], axis=-1) - (cx + tx)  # the four corners
    ys = ops.concatenate([y1, y1, y2, y2], axis=-1) - (cy + ty)
    new_x = cx + m00 * xs + m01 * ys
    new_y = cy + m10 * xs + m11 * ys
    out = ops.stack([ops.min(new_x, -1), ops.min(new_y, -1), ops.max(new_x, -1),
                     ops.max(new_y, -1)], axis=-1)
    return back(out[0] if rank == 2 else out)


def _check_deltas_args(variance, fmt: str, arg: str):
    if fmt not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"`{arg}` must be 'center_xywh' or 'center_yxhw', got {arg}={fmt!r}.")
    if variance is None:
        return None
    variance = ops.convert_to_tensor(variance, "float32")
    if tuple(ops.shape(variance))[-1:] != (4,):
        raise ValueError("`variance` must hold 4 numbers (one per box coordinate), got "
                         f"shape {tuple(ops.shape(variance))}.")
    return variance


def _image_hw(image_shape):
    if image_shape is None:
        return None, None
    return image_shape[0], image_shape[1]


def encode_box_to_deltas(anchors, boxes, anchor_format: str, box_format: str,
                         encoding_format: str = "center_yxhw", variance=None,
                         image_shape=None):
    """The deltas that move anchors onto boxes: centre offsets in anchor sizes and log size
    ratios, divided by `variance` if given.

    Args:
        anchors: Anchor boxes `(N, 4)`.
        boxes: Boxes `(N, 4)` or `(batch, N, 4)`.
        anchor_format: Format of `anchors`.
        box_format: Format of `boxes`.
        encoding_format: "center_yxhw" (default) or "center_xywh": the order of the deltas.
        variance: Optional 4 numbers that divide the deltas.
        image_shape: (height, width, channels), for relative formats.

    Returns:
        The deltas, shaped as `boxes`.
    """
    variance = _check_deltas_args(variance, encoding_format, "encoding_format")
    height, width = _image_hw(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    eps = config.epsilon()
    anchor_size = ops.maximum(anchors[..., 2:], eps)
    box_size = ops.maximum(boxes[..., 2:], eps)
    deltas = ops.concatenate([(boxes[..., :2] - anchors[..., :2]) / anchor_size,
                              ops.log(box_size / anchor_size)], axis=-1)
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance=None,
                           image_shape=None):
    """The inverse of encode_box_to_deltas: boxes from anchors and deltas.

    Args:
        anchors: Anchor boxes `(N, 4)`, or a dict of them (one entry per feature level).
        boxes_delta: Deltas `(N, 4)` or `(batch, N, 4)`, or a dict like `anchors`.
        anchor_format: Format of `anchors`.
        box_format: Format wanted for the boxes.
        encoded_format: "center_yxhw" (default) or "center_xywh": the order of the deltas.
        variance: Optional 4 numbers that multiply the deltas.
        image_shape: (height, width, channels), for relative formats.

    Returns:
        The boxes in `box_format` (a dict when dicts came).
    """
    variance = _check_deltas_args(variance, encoded_format, "encoded_format")
    height, width = _image_hw(image_shape)

    def decode(anchor, delta):
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = ops.convert_to_tensor(delta)
        if variance is not None:
            delta = delta * variance
        box = ops.concatenate([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                               ops.exp(delta[..., 2:]) * anchor[..., 2:]], axis=-1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)
