"""keras.utils.bounding_boxes: box formats, clipping, IoU and anchor deltas (see
converters.py for the design)."""

from nhanh.utils.bounding_boxes.converters import (
    SUPPORTED_FORMATS, affine_transform, clip_to_image_size, convert_format, crop,
    decode_deltas_to_boxes, encode_box_to_deltas, pad,
)
from nhanh.utils.bounding_boxes.iou import compute_ciou, compute_iou
from nhanh.utils.bounding_boxes.validation import densify_bounding_boxes, validate_bounding_boxes

__all__ = ["affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou",
           "convert_format", "crop", "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]
