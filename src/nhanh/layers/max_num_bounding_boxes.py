"""MaxNumBoundingBoxes: gives every image of a batch the same number of boxes.

Why a layer: detection losses and compiled steps need one rectangle of boxes per batch, while
images hold different numbers of boxes; this layer truncates or pads each image's boxes (and
their labels) to `max_number`, the padding filled with `fill_value` (-1: "no box").
Images, labels and masks pass unchanged.
"""

from __future__ import annotations

from nhanh import ops
from nhanh.layers.image_augmentation import ImageAugmentation


class MaxNumBoundingBoxes(ImageAugmentation):
    """Pads or truncates a dict input's `bounding_boxes` to `max_number` boxes per image.

    Args:
        max_number: Number of boxes per image in the output.
        fill_value: Value of the padded boxes' coordinates and labels. Defaults to -1.
        **kwargs: Base-layer keywords (`name`, `dtype`, `bounding_box_format`, ...).
    """

    factor_bounds = None
    random = False

    def __init__(self, max_number: int, fill_value: int = -1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(max_number, bool) or not isinstance(max_number, int) or max_number < 1:
            raise ValueError("MaxNumBoundingBoxes: `max_number` must be a positive int, got "
                             f"max_number={max_number!r}.")
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)

    def transform_images(self, images, transformation, training=True):
        return images

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        boxes = ops.convert_to_tensor(bounding_boxes["boxes"])
        labels = ops.convert_to_tensor(bounding_boxes["labels"])
        extra = max(self.max_number - int(ops.shape(boxes)[1]), 0)
        boxes = ops.pad(boxes[:, :self.max_number], ((0, 0), (0, extra), (0, 0)),
                        constant_values=self.fill_value)
        label_pad = ((0, 0), (0, extra)) + ((0, 0),) * (len(ops.shape(labels)) - 2)
        labels = ops.pad(labels[:, :self.max_number], label_pad,
                         constant_values=self.fill_value)
        return {**bounding_boxes, "boxes": boxes, "labels": labels}

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, dict) or "bounding_boxes" not in input_shape:
            return input_shape
        boxes = input_shape["bounding_boxes"]
        unknown = set(boxes) - {"boxes", "labels"}
        if unknown:
            raise ValueError(f"MaxNumBoundingBoxes: bounding_boxes may hold only 'boxes' and "
                             f"'labels', got also {sorted(unknown)}.")
        resized = {key: (shape[0], self.max_number, *shape[2:]) for key, shape in boxes.items()}
        return {**input_shape, "bounding_boxes": resized}

    def get_config(self) -> dict:
        return {**super().get_config(), "max_number": self.max_number,
                "fill_value": self.fill_value}
