"""The base of the image preprocessing and augmentation layers (Resizing, RandomFlip, ...).

Why one base: every such layer takes the same inputs and follows the same rules, and only
"what random transformation" and "how it acts on images / labels / boxes / masks" differ. So
the base owns the rest, once:

- Inputs: a batch of images (rank 4) or one image (rank 3), or a dict with "images" and any of
  "labels", "bounding_boxes" ({"boxes", "labels"}) and "segmentation_masks", as in Keras 3. A
  single image is handled as a batch of one. The caller's dict is not modified.
- Images are cast to the layer's compute dtype (uint8 pictures become float32).
- `training`: augmentation happens only while training. The default is True, as in Keras, so
  calling a layer directly augments; `predict` and `evaluate` pass False. Inside a model the
  flag follows the enclosing call.
- Randomness: each random layer owns a SeedGenerator (`self.generator`), whose state is a
  Variable; a compiled training step carries it, so draws differ at each step and repeat with
  the same `seed`. Everything is nhanh.ops, so it runs on the device inside the compiled step.

A subclass sets `factor_bounds` (None when it takes no `factor`) and implements
`get_random_transformation(data, training, seed)` and `transform_images(images,
transformation, training)`, plus the label / box / mask hooks where they mean something.
"""

from __future__ import annotations

from nhanh import ops
from nhanh.layers.cropping_padding import data_format_of
from nhanh.layers.layer import Layer
from nhanh.random import SeedGenerator
from nhanh.utils.bounding_boxes.validation import densify_bounding_boxes


class ImageAugmentation(Layer):
    """Base of the image preprocessing layers (see the module docstring).

    Args:
        factor: The layer's strength: a number f in `factor_bounds` (meaning the range
            [-f, f], clipped to the bounds) or a pair (lower, upper); only for layers whose
            `factor_bounds` is not None.
        bounding_box_format: Format of the boxes in a dict input's "bounding_boxes"
            ("xyxy", "xywh", "center_xywh", "rel_xyxy", ...); required when boxes are given.
        data_format: "channels_last" (default from `nhanh.config.image_data_format()`) or
            "channels_first".
        seed: Int seed of the layer's SeedGenerator (random layers); `None` draws one.
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).
    """

    factor_bounds: tuple[float, float] | None = (-1.0, 1.0)
    random: bool = True  # draws from self.generator
    supports_masking = False

    def __init__(self, factor=None, bounding_box_format: str | None = None,
                 data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.bounding_box_format = bounding_box_format
        self.data_format = data_format_of(data_format, type(self).__name__)
        if self.factor_bounds is not None:
            self.factor = self._factor_range(0.0 if factor is None else factor)
        elif factor is not None:
            raise ValueError(f"{type(self).__name__} takes no `factor` argument, got "
                             f"factor={factor!r}.")
        self.seed = seed
        if self.random:
            self.generator = SeedGenerator(seed, name=f"{self.name}/seed_generator")

    def _factor_range(self, factor, bounds: tuple[float, float] | None = None,
                      arg: str = "factor") -> tuple[float, float]:
        """(lower, upper) from a number f (the range [-f, f] within the bounds) or a pair."""
        low, high = bounds or self.factor_bounds
        message = (f"{type(self).__name__}: `{arg}` must be a number or a pair of numbers in "
                   f"[{low}, {high}], got {arg}={factor!r}.")
        if isinstance(factor, (tuple, list)):
            if len(factor) != 2 or not all(is_number(f) for f in factor):
                raise ValueError(message)
            lower, upper = sorted(float(f) for f in factor)
            if lower > high or upper < low:
                raise ValueError(message)
            return lower, upper
        if not is_number(factor) or not low <= factor <= high:
            raise ValueError(message)
        factor = abs(float(factor))
        return max(-factor, low), factor

    # --- what subclasses implement ---------------------------------------------------------
    def get_random_transformation(self, data: dict, training: bool = True, seed=None):
        """The random draw for this batch (any structure), or None; `data` is the batched
        input dict. `seed` defaults to the layer's generator."""
        return None

    def transform_images(self, images, transformation, training: bool = True):
        raise NotImplementedError(f"{type(self).__name__} must implement transform_images().")

    def transform_labels(self, labels, transformation, training: bool = True):
        return labels  # most transformations leave a class label as it is

    def transform_bounding_boxes(self, bounding_boxes: dict, transformation,
                                 training: bool = True) -> dict:
        raise NotImplementedError(
            f"{type(self).__name__} does not transform bounding boxes (Keras's does not "
            "either); pass data without 'bounding_boxes'.")

    def transform_segmentation_masks(self, masks, transformation, training: bool = True):
        return masks

    # --- the shared mechanism --------------------------------------------------------------
    def call(self, data, training=True):
        given_dict = isinstance(data, dict)
        data = dict(data) if given_dict else {"images": data}
        if "images" not in data:
            raise ValueError(f"{type(self).__name__}: a dict input needs an 'images' entry, got "
                             f"keys {sorted(data)}.")
        images = ops.convert_to_tensor(data["images"])
        rank = len(ops.shape(images))
        if rank not in (3, 4):
            raise ValueError(f"{type(self).__name__} expects images of rank 3 (one image) or 4 "
                             f"(a batch), got shape {tuple(ops.shape(images))}.")
        batched = rank == 4
        data["images"] = ops.cast(images, self.compute_dtype)
        if "bounding_boxes" in data:
            if not self.bounding_box_format:
                raise ValueError(
                    f"{type(self).__name__} received 'bounding_boxes' but no "
                    f"bounding_box_format. Pass one, e.g. "
                    f"{type(self).__name__}(..., bounding_box_format='xyxy').")
            # ragged per-image box lists -> arrays padded with -1 (box and label: "no box")
            data["bounding_boxes"] = densify_bounding_boxes(
                data["bounding_boxes"], is_batched=batched, boxes_default_value=-1)
        if not batched:
            data = {key: _add_batch_axis(value) for key, value in data.items()}
        transformation = self.get_random_transformation(data, training=training)
        out = {"images": self.transform_images(data["images"], transformation, training)}
        if "labels" in data:
            out["labels"] = self.transform_labels(ops.convert_to_tensor(data["labels"]),
                                                  transformation, training)
        if "bounding_boxes" in data:
            out["bounding_boxes"] = self.transform_bounding_boxes(
                data["bounding_boxes"], transformation, training)
        if "segmentation_masks" in data:
            out["segmentation_masks"] = self.transform_segmentation_masks(
                ops.convert_to_tensor(data["segmentation_masks"]), transformation, training)
        for key, value in data.items():  # entries the layer does not know pass through
            out.setdefault(key, value)
        if not batched:
            out = {key: _drop_batch_axis(value) for key, value in out.items()}
        return out if given_dict else out["images"]

    def image_axes(self) -> tuple[int, int, int]:
        """(height, width, channels) axes of a batch of images in this layer's data format."""
        return (2, 3, 1) if self.data_format == "channels_first" else (1, 2, 3)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = {**super().get_config(), "data_format": self.data_format}
        if self.factor_bounds is not None:
            config["factor"] = self.factor
        if self.random:
            config["seed"] = self.seed
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _add_batch_axis(value):
    if isinstance(value, dict):  # bounding boxes: {"boxes": (n, 4), "labels": (n,)}
        return {k: _add_batch_axis(v) for k, v in value.items()}
    return ops.expand_dims(ops.convert_to_tensor(value), 0)


def _drop_batch_axis(value):
    if isinstance(value, dict):
        return {k: _drop_batch_axis(v) for k, v in value.items()}
    return ops.squeeze(value, 0)
