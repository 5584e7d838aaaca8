"""Checking and densifying a {"boxes", "labels"} dict.

Why densify: images hold different numbers of boxes, so a batch's boxes arrive as ragged
per-image lists; arrays (and compiled steps) need one rectangle. Densifying pads every image's
list to the longest (or truncates to `max_boxes`) with boxes of `boxes_default_value` and
labels of `labels_default_value` (-1, "no box"), on the host with NumPy, before anything
reaches a device. Dense arrays pass through (converted to tensors).
"""

from __future__ import annotations

import numpy as np

from nhanh import ops


def validate_bounding_boxes(bounding_boxes) -> None:
    """Raises a ValueError that says what is wrong unless `bounding_boxes` is a dict with
    matching 'boxes' and 'labels'."""
    if not isinstance(bounding_boxes, dict) or not {"boxes", "labels"} <= set(bounding_boxes):
        got = (f"a dict with keys {sorted(bounding_boxes)}" if isinstance(bounding_boxes, dict)
               else type(bounding_boxes).__name__)
        raise ValueError("bounding boxes must be a dict with 'boxes' and 'labels', got "
                         f"{got}.")
    boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
    if _is_ragged(boxes) or _is_ragged(labels):
        if not isinstance(boxes, (list, tuple)) or not isinstance(labels, (list, tuple)):
            raise ValueError("bounding_boxes['boxes'] and ['labels'] must both be lists when "
                             f"either is; got {type(boxes).__name__} and "
                             f"{type(labels).__name__}.")
        if len(boxes) != len(labels):
            raise ValueError("bounding_boxes['boxes'] and ['labels'] must have the same "
                             f"length, got {len(boxes)} and {len(labels)}.")
        return
    boxes_rank = len(np.shape(boxes)) if isinstance(boxes, (list, tuple)) else len(
        ops.shape(boxes))
    labels_rank = len(np.shape(labels)) if isinstance(labels, (list, tuple)) else len(
        ops.shape(labels))
    if boxes_rank not in (2, 3):
        raise ValueError("bounding_boxes['boxes'] must have shape (num_boxes, 4) or "
                         f"(batch, num_boxes, 4), got rank {boxes_rank}.")
    if labels_rank not in (boxes_rank - 1, boxes_rank):
        raise ValueError(f"bounding_boxes['boxes'] has rank {boxes_rank}, so ['labels'] must "
                         f"have rank {boxes_rank - 1} (or {boxes_rank}), got {labels_rank}.")


def _is_ragged(value) -> bool:
    """A list whose per-image entries differ in length (NumPy cannot make one array)."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    try:
        np.asarray(value, dtype="float64")
        return False
    except (ValueError, TypeError):  # inhomogeneous
        return True


def densify_bounding_boxes(bounding_boxes: dict, is_batched: bool = False,
                           max_boxes: int | None = None, boxes_default_value=0,
                           labels_default_value=-1) -> dict:
    """`bounding_boxes` with dense "boxes" (float32) and "labels": ragged per-image lists are
    padded to the longest list (or to `max_boxes`, truncating longer ones)."""
    validate_bounding_boxes(bounding_boxes)
    boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
    result = dict(bounding_boxes)
    if is_batched and isinstance(boxes, (list, tuple)):
        per_image = [np.asarray(b, "float32").reshape(-1, 4) for b in boxes]
        per_labels = [np.asarray(lab).reshape(len(b), *np.shape(lab)[1:])
                      for b, lab in zip(per_image, labels)]
        size = max_boxes if max_boxes is not None else max([len(b) for b in per_image] + [0])
        out_boxes = np.full((len(per_image), size, 4), boxes_default_value, "float32")
        label_tail = next((lab.shape[1:] for lab in per_labels if lab.size), ())
        out_labels = np.full((len(per_image), size, *label_tail), labels_default_value,
                             "int32")
        for i, (b, lab) in enumerate(zip(per_image, per_labels)):
            n = min(len(b), size)
            out_boxes[i, :n] = b[:n]
            out_labels[i, :n] = lab[:n]
        result["boxes"] = ops.convert_to_tensor(out_boxes)
        result["labels"] = ops.convert_to_tensor(out_labels)
        return result
    if not is_batched and max_boxes is not None and isinstance(boxes, (list, tuple)):
        dense = densify_bounding_boxes({"boxes": [boxes], "labels": [labels]}, True, max_boxes,
                                       boxes_default_value, labels_default_value)
        result["boxes"], result["labels"] = dense["boxes"][0], dense["labels"][0]
        return result
    if isinstance(boxes, (list, tuple, np.ndarray)):  # tensors (symbolic too) pass as they are
        result["boxes"] = ops.convert_to_tensor(np.asarray(boxes, "float32"))
    if isinstance(labels, (list, tuple)):
        result["labels"] = ops.convert_to_tensor(np.asarray(labels, "int32"))
    elif isinstance(labels, np.ndarray):
        result["labels"] = ops.convert_to_tensor(labels)
    return result
