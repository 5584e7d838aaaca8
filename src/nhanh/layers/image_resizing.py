"""Resizing, CenterCrop and RandomCrop: the image layers that change the image size.

Each moves boxes by the same crop / scale it applies to the images (through
`boxes_through`, shared with image_warps.py) and resizes segmentation masks with nearest
interpolation, so class ids stay class ids.
"""

from __future__ import annotations

from nhanh import ops
from nhanh.layers.image_augmentation import ImageAugmentation
from nhanh.ops import image as image_ops
from nhanh.ops.image_geometry import RESIZE_INTERPOLATIONS


def boxes_through(layer, bounding_boxes: dict, in_hw, out_hw, move) -> dict:
    """Boxes in the layer's format, moved by `move(x1, y1, x2, y2) -> (x1, y1, x2, y2)` (in
    pixels, each (batch, n, 1)) from an image of size in_hw to one of out_hw, then clipped
    (boxes left with no area get label -1)."""
    from nhanh.utils.bounding_boxes import clip_to_image_size, convert_format

    fmt = layer.bounding_box_format
    boxes = convert_format(ops.convert_to_tensor(bounding_boxes["boxes"]), fmt, "xyxy",
                           height=in_hw[0], width=in_hw[1])
    x1, y1, x2, y2 = move(*ops.split(boxes, 4, axis=-1))
    result = clip_to_image_size({**bounding_boxes, "boxes": ops.concatenate(
        [x1, y1, x2, y2], axis=-1)}, height=out_hw[0], width=out_hw[1],
        bounding_box_format="xyxy")
    result["boxes"] = convert_format(result["boxes"], "xyxy", fmt, height=out_hw[0],
                                     width=out_hw[1])
    return result


def _size_arg(value, arg: str, layer: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{layer}: `{arg}` must be a positive int, got {arg}={value!r}.")
    return value


class _SizedLayer(ImageAugmentation):
    """A layer whose output images are (height, width)."""

    factor_bounds = None

    def __init__(self, height: int, width: int, **kwargs):
        super().__init__(**kwargs)
        self.height = _size_arg(height, "height", type(self).__name__)
        self.width = _size_arg(width, "width", type(self).__name__)

    def image_size(self, images) -> tuple[int, int]:
        h, w, _ = self.image_axes()
        shape = ops.shape(images)
        return shape[h], shape[w]

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h, w, _ = self.image_axes()
        if len(shape) == 3:
            h, w = h - 1, w - 1
        shape[h], shape[w] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width}


class Resizing(_SizedLayer):
    """Resizes images to (height, width), in training and inference alike.

    Args:
        height: Output height.
        width: Output width.
        interpolation: "bilinear", "nearest", "bicubic", "lanczos3", "lanczos5" or "area".
        crop_to_aspect_ratio: Crop the largest centred window of the target's aspect ratio
            first, so nothing is stretched.
        pad_to_aspect_ratio: Pad to the target's aspect ratio first (with `fill_value`).
        fill_mode: How padding fills; only "constant".
        fill_value: The padding value.
        antialias: Widen the kernel when downsampling.
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords (`name`, `dtype`, `bounding_box_format`).
    """

    random = False

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None, **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)
        if interpolation not in RESIZE_INTERPOLATIONS:
            raise ValueError(f"Resizing: `interpolation` must be one of "
                             f"{list(RESIZE_INTERPOLATIONS)}, got {interpolation!r}.")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: pass at most one of crop_to_aspect_ratio and "
                             "pad_to_aspect_ratio, got both True.")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = antialias

    def _resize(self, images, interpolation):
        return image_ops.resize(images, (self.height, self.width), interpolation,
                                antialias=self.antialias,
                                crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                                pad_to_aspect_ratio=self.pad_to_aspect_ratio,
                                fill_mode=self.fill_mode, fill_value=self.fill_value,
                                data_format=self.data_format)

    def get_random_transformation(self, data, training=True, seed=None):
        return {"size": self.image_size(data["images"])}

    def transform_images(self, images, transformation, training=True):
        return self._resize(images, self.interpolation)

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return self._resize(masks, "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        height, width = transformation["size"]
        top = left = 0.0
        src_h, src_w = height, width  # the window that is scaled to the output
        if self.crop_to_aspect_ratio:
            src_h = max(min(height, int(width * self.height / self.width)), 1)
            src_w = max(min(width, int(height * self.width / self.height)), 1)
            top, left = -int((height - src_h) / 2), -int((width - src_w) / 2)
        elif self.pad_to_aspect_ratio:
            pad_h = max(height, int(width * self.height / self.width))
            pad_w = max(width, int(height * self.width / self.height))
            top, left = int((pad_h - height) / 2), int((pad_w - width) / 2)
            src_h, src_w = height + 2 * top, width + 2 * left
        sy, sx = self.height / src_h, self.width / src_w

        def move(x1, y1, x2, y2):
            return ((x1 + left) * sx, (y1 + top) * sy, (x2 + left) * sx, (y2 + top) * sy)

        return boxes_through(self, bounding_boxes, (height, width), (self.height, self.width),
                             move)

    def get_config(self) -> dict:
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(_SizedLayer):
    """Crops the central (height, width) window, in training and inference alike; an image
    smaller than that is resized instead (cropped to the aspect ratio, then scaled), as in
    Keras.

    Args:
        height: Output height.
        width: Output width.
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords (`name`, `dtype`, `bounding_box_format`).
    """

    random = False

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        return {"size": self.image_size(data["images"])}

    def _crop(self, images, interpolation):
        height, width = self.image_size(images)
        if height >= self.height and width >= self.width:
            return image_ops.crop_images(images, (height - self.height) // 2,
                                         (width - self.width) // 2, target_height=self.height,
                                         target_width=self.width, data_format=self.data_format)
        return image_ops.resize(images, (self.height, self.width), interpolation,
                                crop_to_aspect_ratio=True, data_format=self.data_format)

    def transform_images(self, images, transformation, training=True):
        return self._crop(images, "bilinear")

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return self._crop(masks, "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        height, width = transformation["size"]
        if height >= self.height and width >= self.width:
            top, left = (height - self.height) // 2, (width - self.width) // 2
            return boxes_through(self, bounding_boxes, (height, width),
                                 (self.height, self.width),
                                 lambda x1, y1, x2, y2: (x1 - left, y1 - top, x2 - left,
                                                         y2 - top))
        resize = Resizing(self.height, self.width, crop_to_aspect_ratio=True,
                          bounding_box_format=self.bounding_box_format,
                          data_format=self.data_format)
        return resize.transform_bounding_boxes(bounding_boxes, transformation, training)


class RandomCrop(_SizedLayer):
    """Crops a random (height, width) window in training (one window for the whole batch,
    as Keras); in inference the images pass through unchanged, as in Keras 3.

    Args:
        height: Output height.
        width: Output width.
        seed: Int seed of the layer's random generator.
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords (`name`, `dtype`, `bounding_box_format`).
    """

    def __init__(self, height: int, width: int, seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__(height, width, seed=seed, data_format=data_format, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        height, width = self.image_size(data["images"])
        seed = self.generator if seed is None else seed
        if height >= self.height and width >= self.width:
            from nhanh import random

            top = ops.cast(random.uniform((), 0, height - self.height + 1, seed=seed), "int32")
            left = ops.cast(random.uniform((), 0, width - self.width + 1, seed=seed), "int32")
            return {"size": (height, width), "top": top, "left": left, "crop": True}
        return {"size": (height, width), "crop": False}

    def _crop(self, images, transformation, interpolation):
        if transformation is None:
            return images
        if not transformation["crop"]:  # smaller than the window: resize, as Keras does
            return image_ops.resize(images, (self.height, self.width), interpolation,
                                    data_format=self.data_format)
        h, w, c = self.image_axes()
        start = [0, 0, 0, 0]
        start[h], start[w] = transformation["top"], transformation["left"]
        shape = list(ops.shape(images))
        shape[h], shape[w] = self.height, self.width
        return ops.slice(images, [ops.cast(s, "int32") for s in start], shape)

    def transform_images(self, images, transformation, training=True):
        return self._crop(images, transformation, "bilinear")

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return self._crop(masks, transformation, "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if transformation is None:
            return bounding_boxes
        height, width = transformation["size"]
        if transformation["crop"]:
            top = ops.cast(transformation["top"], "float32")
            left = ops.cast(transformation["left"], "float32")

            def move(x1, y1, x2, y2):
                return x1 - left, y1 - top, x2 - left, y2 - top
        else:
            sy, sx = self.height / height, self.width / width

            def move(x1, y1, x2, y2):
                return x1 * sx, y1 * sy, x2 * sx, y2 * sy
        return boxes_through(self, bounding_boxes, (height, width), (self.height, self.width),
                             move)
