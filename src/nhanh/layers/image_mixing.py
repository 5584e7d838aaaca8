"""Augmentations that mix or erase parts of images: CutMix, MixUp, RandomErasing.

CutMix and MixUp pair each image of the batch with another one of the same batch (a random
permutation) and mix their labels in the proportion their pixels were mixed, so labels must be
one-hot (or any per-class scores), not class indices. Decision: CutMix weighs the labels by the
fraction of pixels actually pasted (Keras uses the continuous rectangle's area, which differs
from what the picture shows by up to a row and a column), so a label says exactly how much of
each image the mixed picture holds.
"""

from __future__ import annotations

from nhanh import ops, random
from nhanh.layers.image_augmentation import ImageAugmentation


def _rectangles(layer: ImageAugmentation, images, width_ratio, height_ratio):
    """Per-image boolean masks (batch, H, W, 1) / (batch, 1, H, W) of a rectangle that covers
    the given fractions of the width and height, placed uniformly at random."""
    h_axis, w_axis, _ = layer.image_axes()
    shape = ops.shape(images)
    batch, height, width = shape[0], shape[h_axis], shape[w_axis]
    dtype = layer.compute_dtype

    def bounds(length, ratio):
        size = ratio * length
        start = random.uniform((batch,), dtype=dtype, seed=layer.generator) * (length - size)
        return start[:, None, None], (start + size)[:, None, None]

    x0, x1 = bounds(width, width_ratio)
    y0, y1 = bounds(height, height_ratio)
    xs = ops.arange(width, dtype=dtype)[None, None, :]
    ys = ops.arange(height, dtype=dtype)[None, :, None]
    inside = ops.logical_and(ops.logical_and(xs >= x0, xs < x1),
                             ops.logical_and(ys >= y0, ys < y1))  # (batch, H, W)
    return ops.expand_dims(inside, 1 if layer.data_format == "channels_first" else -1)


def _mask_like(layer, mask, target):
    """The rectangle mask, broadcastable against `target`, which may lack the channel axis
    (segmentation masks of shape (batch, H, W))."""
    if len(ops.shape(target)) == 3:
        return ops.squeeze(mask, 1 if layer.data_format == "channels_first" else -1)
    return mask


def _weights_like(weight, target):
    """`weight` (batch,) reshaped to broadcast over `target`'s trailing axes."""
    return ops.reshape(ops.cast(weight, ops.dtype(target)),
                       (-1,) + (1,) * (len(ops.shape(target)) - 1))


def _check_mixable_labels(layer, labels):
    labels = ops.convert_to_tensor(labels)
    if len(ops.shape(labels)) < 2:
        raise ValueError(
            f"{type(layer).__name__} mixes labels, so they must be one-hot (batch, classes); "
            f"got labels of shape {tuple(ops.shape(labels))}. Convert class indices with "
            "nhanh.ops.one_hot(labels, num_classes).")
    return labels if "float" in ops.dtype(labels) else ops.cast(labels, "float32")


class CutMix(ImageAugmentation):
    """CutMix (Yun et al., 2019): pastes a random rectangle of another image of the batch into
    each image, and mixes the one-hot labels by the pasted area.

    Args:
        factor: The Beta(a, a) concentration `a` of the mixing weight is drawn per batch from
            [0, factor] (a number in [0, 1]) or from a (low, high) range. Defaults to 1.
        seed: Int seed for repeatable draws.
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).

    A dict input's "labels" are mixed and its "segmentation_masks" get the same rectangles;
    bounding boxes are not supported (as in Keras).
    """

    factor_bounds = (0.0, 1.0)

    def __init__(self, factor=1.0, seed: int | None = None, data_format: str | None = None,
                 **kwargs):
        super().__init__(factor=factor, seed=seed, data_format=data_format, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"]
        batch = ops.shape(images)[0]
        dtype = self.compute_dtype
        concentration = random.uniform((), self.factor[0], self.factor[1], dtype=dtype,
                                       seed=self.generator) + 1e-6
        lam = random.beta((batch,), concentration, concentration, dtype=dtype,
                          seed=self.generator)
        side = ops.sqrt(1.0 - lam)  # the rectangle covers (1 - lam) of the area
        mask = _rectangles(self, images, side, side)
        pasted = ops.mean(ops.cast(mask, dtype), axis=(1, 2, 3))
        order = random.shuffle_indices(batch, seed=self.generator)
        return {"permutation_order": order, "batch_masks": mask, "mix_weight": 1.0 - pasted}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        other = ops.take(images, transformation["permutation_order"], axis=0)
        return ops.where(transformation["batch_masks"], other, images)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        labels = _check_mixable_labels(self, labels)
        other = ops.take(labels, transformation["permutation_order"], axis=0)
        weight = _weights_like(transformation["mix_weight"], labels)
        return weight * labels + (1.0 - weight) * other

    def transform_segmentation_masks(self, masks, transformation, training=True):
        if not training or transformation is None:
            return masks
        other = ops.take(masks, transformation["permutation_order"], axis=0)
        return ops.where(_mask_like(self, transformation["batch_masks"], masks), other, masks)


class MixUp(ImageAugmentation):
    """MixUp (Zhang et al., 2018): each image becomes w * itself + (1 - w) * another image of
    the batch, w ~ Beta(alpha, alpha) per image; one-hot labels and segmentation masks mix with
    the same w, and bounding boxes of both images are kept (concatenated).

    Args:
        alpha: Beta concentration (> 0); small values mix little. Defaults to 0.2.
        data_format: "channels_last" or "channels_first".
        seed: Int seed for repeatable draws.
        **kwargs: Base-layer keywords (`name`, `dtype`, `bounding_box_format`, ...).
    """

    factor_bounds = None

    def __init__(self, alpha: float = 0.2, data_format: str | None = None,
                 seed: int | None = None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha <= 0:
            raise ValueError(f"MixUp: `alpha` must be a positive number, got alpha={alpha!r}.")
        self.alpha = alpha

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = ops.shape(data["images"])[0]
        weight = random.beta((batch,), self.alpha, self.alpha, dtype=self.compute_dtype,
                             seed=self.generator)
        order = random.shuffle_indices(batch, seed=self.generator)
        return {"mix_weight": weight, "permutation_order": order}

    def _mix(self, x, transformation):
        x = ops.convert_to_tensor(x)
        other = ops.take(x, transformation["permutation_order"], axis=0)
        weight = _weights_like(transformation["mix_weight"], x)
        return weight * x + (1.0 - weight) * other

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        return self._mix(images, transformation)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        return self._mix(_check_mixable_labels(self, labels), transformation)

    def transform_segmentation_masks(self, masks, transformation, training=True):
        if not training or transformation is None:
            return masks
        return self._mix(ops.cast(masks, self.compute_dtype), transformation)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if not training or transformation is None:
            return bounding_boxes
        order = transformation["permutation_order"]
        boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
        # Keras concatenates the labels along the batch axis; per image (axis 1) is what
        # keeps each box with its label.
        return {**bounding_boxes,
                "boxes": ops.concatenate([boxes, ops.take(boxes, order, axis=0)], axis=1),
                "labels": ops.concatenate([labels, ops.take(labels, order, axis=0)], axis=1)}

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


class RandomErasing(ImageAugmentation):
    """Random Erasing (Zhong et al., 2017): with a per-image probability, replaces a random
    rectangle with a constant or with noise.

    Args:
        factor: The erasing probability is drawn per image from [0, factor] (a number in
            [0, 1]) or from a (low, high) range. As in Keras, the default 1.0 thus erases
            about half the images; (1.0, 1.0) erases every image.
        scale: (low, high) range, within [0, 1], of the fraction of the width and of the
            height (each drawn separately, then square-rooted, as Keras does) the rectangle
            spans. Defaults to (0.02, 0.33).
        fill_value: A number, one number per channel (3 of them), or `None` (the default)
            for Gaussian noise scaled by `value_range[1]`; clipped to `value_range`.
        value_range: (low, high) range of the image values. Defaults to (0, 255).
        seed: Int seed for repeatable draws.
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).

    Labels, bounding boxes and segmentation masks pass unchanged (as in Keras).
    """

    factor_bounds = (0.0, 1.0)

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed: int | None = None, data_format: str | None = None, **kwargs):
        super().__init__(factor=factor, seed=seed, data_format=data_format, **kwargs)
        self.scale = self._factor_range(scale, arg="scale")
        if fill_value is not None and not (
                isinstance(fill_value, (int, float)) and not isinstance(fill_value, bool)
                or isinstance(fill_value, (list, tuple)) and len(fill_value) == 3):
            raise ValueError("RandomErasing: `fill_value` must be None, a number or a list of "
                             f"3 numbers (one per channel), got fill_value={fill_value!r}.")
        if not isinstance(value_range, (list, tuple)) or len(value_range) != 2:
            raise ValueError("RandomErasing: `value_range` must be a pair (low, high), got "
                             f"value_range={value_range!r}.")
        self.fill_value = fill_value
        self.value_range = tuple(value_range)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"]
        batch = ops.shape(images)[0]
        dtype = self.compute_dtype
        ratios = ops.sqrt(random.uniform((batch, 2), self.scale[0], self.scale[1],
                                         dtype=dtype, seed=self.generator))
        mask = _rectangles(self, images, ratios[:, 0], ratios[:, 1])
        probability = random.uniform((batch,), self.factor[0], self.factor[1], dtype=dtype,
                                     seed=self.generator)
        apply = random.uniform((batch,), dtype=dtype, seed=self.generator) < probability
        return {"apply_erasing": apply, "batch_masks": mask,
                "fill_value": self._fill(images)}

    def _fill(self, images):
        low, high = self.value_range
        shape, dtype = tuple(ops.shape(images)), self.compute_dtype
        if self.fill_value is None:
            fill = random.normal(shape, dtype=dtype, seed=self.generator) * high
        elif isinstance(self.fill_value, (list, tuple)):
            channels = [1, 1, 1, 1]
            channels[self.image_axes()[2]] = 3
            fill = ops.reshape(ops.convert_to_tensor(self.fill_value, dtype), channels)
        else:
            fill = ops.convert_to_tensor(self.fill_value, dtype)
        return ops.clip(fill, low, high)

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        erase = ops.logical_and(transformation["batch_masks"],
                                transformation["apply_erasing"][:, None, None, None])
        fill = ops.broadcast_to(ops.cast(transformation["fill_value"], ops.dtype(images)),
                                tuple(ops.shape(images)))
        return ops.where(erase, fill, images)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "fill_value": self.fill_value,
                "value_range": self.value_range}
