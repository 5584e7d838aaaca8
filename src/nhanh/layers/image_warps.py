"""RandomFlip and the random warps: RandomRotation, RandomZoom, RandomTranslation, RandomShear,
RandomPerspective, RandomElasticTransform.

One mechanism for the geometric family: a layer draws its parameters and turns them into
the 8 numbers of a projective map from output pixels to input pixels (`affine_params` for
rotation / zoom / translation / shear, a homography for perspective), and `_RandomWarp` does
the rest once: ops.image.affine_transform on the images, the same warp with nearest
interpolation on segmentation masks, and box corners pushed through the inverse map. So each
layer is only its argument checks and its draw.
"""

from __future__ import annotations

import math

from nhanh import ops
from nhanh import random as nrandom
from nhanh.layers.image_augmentation import ImageAugmentation
from nhanh.layers.image_resizing import boxes_through
from nhanh.ops import image_warps

FILL_MODES = image_warps.FILL_MODES
INTERPOLATIONS = tuple(image_warps.ORDERS)


def affine_params(height, width, angle=None, zoom_x=None, zoom_y=None, translate_x=None,
                  translate_y=None, shear_x=None, shear_y=None, centred: bool = True):
    """(batch, 8) output-to-input maps: input = Z S R (output - c) + c + t, with Z the zooms,
    S = [[1, shear_x], [shear_y, 1]], R the rotation by `angle` (radians) and c the image
    centre ((w - 1) / 2, (h - 1) / 2), or the origin when not `centred`. Each parameter is a
    (batch,) tensor or None (its neutral value)."""
    given = next(p for p in (angle, zoom_x, zoom_y, translate_x, translate_y, shear_x, shear_y)
                 if p is not None)
    zero, one = ops.zeros_like(given), ops.ones_like(given)

    def value(p, default):
        return default if p is None else p

    cos, sin = ops.cos(value(angle, zero)), ops.sin(value(angle, zero))
    zx, zy = value(zoom_x, one), value(zoom_y, one)
    shx, shy = value(shear_x, zero), value(shear_y, zero)
    a0, a1 = zx * (cos + shx * sin), zx * (-sin + shx * cos)
    b0, b1 = zy * (shy * cos + sin), zy * (-shy * sin + cos)
    cx, cy = ((width - 1) / 2.0, (height - 1) / 2.0) if centred else (0.0, 0.0)
    a2 = value(translate_x, zero) + cx - cx * a0 - cy * a1
    b2 = value(translate_y, zero) + cy - cx * b0 - cy * b1
    return ops.stack([a0, a1, a2, b0, b1, b2, zero, zero], axis=1)


def _forward_points(params, x, y):
    """Where input points (x, y), each (batch, n, 1), land in the output: the inverse of the
    projective map `params` (batch, 8)."""
    rows = ops.concatenate([params, ops.ones_like(params[:, :1])], axis=1)
    inverse = ops.inv(ops.reshape(rows, (-1, 3, 3)))
    m = [ops.reshape(inverse[:, i // 3, i % 3], (-1, 1, 1)) for i in range(9)]
    k = m[6] * x + m[7] * y + m[8]
    return (m[0] * x + m[1] * y + m[2]) / k, (m[3] * x + m[4] * y + m[5]) / k


class _RandomWarp(ImageAugmentation):
    """Images, masks and boxes through one drawn projective map (see the module docstring).
    Subclasses implement `draw(batch, height, width, seed) -> (batch, 8) params`."""

    factor_bounds = None

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 fill_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        if fill_mode not in FILL_MODES:
            raise ValueError(f"{name}: `fill_mode` must be one of {list(FILL_MODES)}, got "
                             f"fill_mode={fill_mode!r}.")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"{name}: `interpolation` must be one of {list(INTERPOLATIONS)}, "
                             f"got interpolation={interpolation!r}.")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def draw(self, batch: int, height: int, width: int, seed):
        raise NotImplementedError

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        shape = ops.shape(data["images"])
        h, w, _ = self.image_axes()
        params = self.draw(shape[0], shape[h], shape[w], self.generator if seed is None else seed)
        return {"params": ops.cast(params, "float32"), "size": (shape[h], shape[w])}

    def _warp(self, images, transformation, interpolation):
        if transformation is None:
            return images
        return image_warps.affine_transform(images, transformation["params"], interpolation,
                                            self.fill_mode, self.fill_value, self.data_format)

    def transform_images(self, images, transformation, training=True):
        return self._warp(images, transformation, self.interpolation)

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return self._warp(masks, transformation, "nearest")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if transformation is None:
            return bounding_boxes
        params = transformation["params"]

        def move(x1, y1, x2, y2):  # the box around the four moved corners
            xs, ys = zip(*[_forward_points(params, x, y)
                           for x, y in ((x1, y1), (x2, y1), (x1, y2), (x2, y2))])
            return (_reduce(ops.minimum, xs), _reduce(ops.minimum, ys),
                    _reduce(ops.maximum, xs), _reduce(ops.maximum, ys))

        size = transformation["size"]
        return boxes_through(self, bounding_boxes, size, size, move)

    def get_config(self) -> dict:
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


def _reduce(fn, values):
    out = values[0]
    for v in values[1:]:
        out = fn(out, v)
    return out


class RandomRotation(_RandomWarp):
    """Rotates each image by a random angle about its centre, in training.

    Args:
        factor: Fraction of a full turn: a number f (angles in [-f, f] * 360 degrees) or a
            pair (lower, upper); positive angles turn counter-clockwise.
        fill_mode: How points outside the input are filled: "constant", "nearest", "wrap",
            "mirror" or "reflect".
        interpolation: "bilinear" or "nearest".
        seed: Int seed of the layer's random generator.
        fill_value: The fill with fill_mode="constant".
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords (`name`, `dtype`, `bounding_box_format`).
    """

    def __init__(self, factor, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs):
        super().__init__(fill_mode, interpolation, fill_value, seed=seed,
                         data_format=data_format, **kwargs)
        self.factor = self._factor_range(factor, (-1.0, 1.0))

    def draw(self, batch, height, width, seed):
        low, high = self.factor
        turns = nrandom.uniform((batch,), low, high, seed=seed)
        return affine_params(height, width, angle=turns * (2.0 * math.pi))

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_RandomWarp):
    """Zooms each image in or out about its centre by a random amount, in training.

    Args:
        height_factor: A number f (zoom in [-f, f]) or a pair; the input read spans
            (1 + zoom) times the output's height, so positive values zoom out.
        width_factor: The same for the width; None keeps the aspect ratio (the height's
            zoom).
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        interpolation: "bilinear" or "nearest".
        seed: Int seed of the layer's random generator.
        fill_value: The fill with fill_mode="constant".
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords.
    """

    def __init__(self, height_factor, width_factor=None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs):
        super().__init__(fill_mode, interpolation, fill_value, seed=seed,
                         data_format=data_format, **kwargs)
        self.height_factor = self._factor_range(height_factor, (-1.0, 1.0), "height_factor")
        self.width_factor = None if width_factor is None else self._factor_range(
            width_factor, (-1.0, 1.0), "width_factor")

    def draw(self, batch, height, width, seed):
        zoom_y = 1.0 + nrandom.uniform((batch,), *self.height_factor, seed=seed)
        zoom_x = zoom_y if self.width_factor is None else 1.0 + nrandom.uniform(
            (batch,), *self.width_factor, seed=seed)
        return affine_params(height, width, zoom_x=zoom_x, zoom_y=zoom_y)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomTranslation(_RandomWarp):
    """Shifts each image by a random fraction of its size, in training.

    Args:
        height_factor: A number f (shift in [-f, f] * height; positive moves down) or a pair.
        width_factor: The same for the width (positive moves right).
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        interpolation: "bilinear" or "nearest".
        seed: Int seed of the layer's random generator.
        fill_value: The fill with fill_mode="constant".
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords.
    """

    def __init__(self, height_factor, width_factor, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs):
        super().__init__(fill_mode, interpolation, fill_value, seed=seed,
                         data_format=data_format, **kwargs)
        self.height_factor = self._factor_range(height_factor, (-1.0, 1.0), "height_factor")
        self.width_factor = self._factor_range(width_factor, (-1.0, 1.0), "width_factor")

    def draw(self, batch, height, width, seed):
        dy = nrandom.uniform((batch,), *self.height_factor, seed=seed) * height
        dx = nrandom.uniform((batch,), *self.width_factor, seed=seed) * width
        return affine_params(height, width, translate_x=-dx, translate_y=-dy)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomShear(_RandomWarp):
    """Shears each image by random amounts along x and y (about the top-left corner, as in
    Keras), in training; each image's shear has a random sign.

    Args:
        x_factor: A number f in [0, 1] (shear in [0, f]) or a pair, along x.
        y_factor: The same along y.
        interpolation: "bilinear" or "nearest".
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: The fill with fill_mode="constant".
        data_format: "channels_last" or "channels_first".
        seed: Int seed of the layer's random generator.
        **kwargs: Base-layer keywords.
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation: str = "bilinear",
                 fill_mode: str = "reflect", fill_value: float = 0.0,
                 data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(fill_mode, interpolation, fill_value, seed=seed,
                         data_format=data_format, **kwargs)
        self.x_factor = self._shear_range(x_factor, "x_factor")
        self.y_factor = self._shear_range(y_factor, "y_factor")

    def _shear_range(self, factor, arg):
        if isinstance(factor, (tuple, list)):
            return self._factor_range(factor, (0.0, 1.0), arg)
        low, high = self._factor_range(factor, (0.0, 1.0), arg)
        return -high, high

    def draw(self, batch, height, width, seed):
        sign = ops.where(nrandom.uniform((batch,), seed=seed) > 0.5, -1.0, 1.0)
        shear_y = nrandom.uniform((batch,), *self.y_factor, seed=seed) * sign
        shear_x = nrandom.uniform((batch,), *self.x_factor, seed=seed) * sign
        return affine_params(height, width, shear_x=shear_x, shear_y=shear_y, centred=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor}


class RandomPerspective(_RandomWarp):
    """Moves each image's corners by random amounts (a perspective warp), in training, with
    probability drawn from `factor`.

    Args:
        factor: Probability of warping an image: a number in [0, 1] or a pair (the
            probability is drawn from it per image).
        scale: How far corners move, as a fraction of the image size ([-scale/2, scale/2]).
        interpolation: "bilinear" or "nearest".
        fill_value: The value of pixels that come from outside the input.
        seed: Int seed of the layer's random generator.
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords.
    """

    def __init__(self, factor=1.0, scale: float = 1.0, interpolation: str = "bilinear",
                 fill_value: float = 0.0, seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__("constant", interpolation, fill_value, seed=seed,
                         data_format=data_format, **kwargs)
        self.factor = self._factor_range(factor, (0.0, 1.0))
        if not isinstance(scale, (int, float)) or not 0.0 <= scale <= 1.0:
            raise ValueError(f"RandomPerspective: `scale` must be a number in [0, 1], got "
                             f"scale={scale!r}.")
        self.scale = float(scale)

    def draw(self, batch, height, width, seed):
        probability = nrandom.uniform((batch,), *self.factor, seed=seed)
        apply = nrandom.uniform((batch,), seed=seed) < probability
        moves = nrandom.uniform((batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale, seed=seed)
        corners = ops.convert_to_tensor([[[0.0, 0.0], [width - 1.0, 0.0], [0.0, height - 1.0],
                                          [width - 1.0, height - 1.0]]], dtype="float32")
        start = ops.broadcast_to(corners, (batch, 4, 2))
        end = ops.where(apply[:, None, None], start + start * moves, start)
        return image_warps.compute_homography_matrix(start, end)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["fill_mode"]
        return {**config, "factor": self.factor, "scale": self.scale}


class RandomElasticTransform(ImageAugmentation):
    """Distorts each image by a smooth random displacement field, in training, with
    probability drawn from `factor`.

    The field is Gaussian noise blurred by a Gaussian of sigma = 0.05 * s * min(h, w),
    scaled by alpha = 0.1 * s * max(h, w), where s is drawn from `scale` once per batch (as
    Keras). The blur has int(6 * sigma_max) | 1 taps so it compiles once.

    Args:
        factor: Probability of distorting an image: a number in [0, 1] or a pair.
        scale: Strength s: a number in [0, 1] or a pair.
        interpolation: "bilinear" or "nearest".
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: The fill with fill_mode="constant".
        value_range: (low, high) of the images; results are clipped to it.
        seed: Int seed of the layer's random generator.
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords.
    """

    factor_bounds = (0.0, 1.0)

    def __init__(self, factor=1.0, scale=1.0, interpolation: str = "bilinear",
                 fill_mode: str = "reflect", fill_value: float = 0.0,
                 value_range=(0, 255), seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__(factor=factor, seed=seed, data_format=data_format, **kwargs)
        self.scale = self._factor_range(scale, (0.0, 1.0), "scale")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"RandomElasticTransform: `interpolation` must be one of "
                             f"{list(INTERPOLATIONS)}, got interpolation={interpolation!r}.")
        if fill_mode not in FILL_MODES:
            raise ValueError(f"RandomElasticTransform: `fill_mode` must be one of "
                             f"{list(FILL_MODES)}, got fill_mode={fill_mode!r}.")
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError("RandomElasticTransform: `value_range` must be (low, high), got "
                             f"value_range={value_range!r}.")
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value
        self.value_range = tuple(value_range)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training or self.scale[1] == 0 or self.factor[1] == 0:
            return None
        seed = self.generator if seed is None else seed
        shape = ops.shape(data["images"])
        h, w, _ = self.image_axes()
        batch, height, width = shape[0], shape[h], shape[w]
        probability = nrandom.uniform((batch,), *self.factor, seed=seed)
        apply = nrandom.uniform((batch,), seed=seed) < probability
        strength = nrandom.uniform((), *self.scale, seed=seed)
        sigma = 0.05 * strength * min(height, width)
        noise = nrandom.normal((2, batch, height, width), seed=seed) * sigma
        return {"apply": apply, "noise": noise, "sigma": sigma,
                "alpha": 0.1 * strength * max(height, width),
                "taps": int(6 * 0.05 * self.scale[1] * min(height, width)) | 1}

    def _distort(self, images, transformation, interpolation):
        if transformation is None:
            return images
        t = transformation
        out = image_warps.elastic_warp(images, t["noise"], t["alpha"],
                                       ops.maximum(t["sigma"], 1e-3), t["taps"], interpolation,
                                       self.fill_mode, self.fill_value, self.data_format)
        return ops.where(ops.reshape(t["apply"], (-1, 1, 1, 1)), out, images)

    def transform_images(self, images, transformation, training=True):
        out = self._distort(images, transformation, self.interpolation)
        if transformation is None:
            return out
        return ops.clip(out, self.value_range[0], self.value_range[1])

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return self._distort(masks, transformation, "nearest")

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale,
                "interpolation": self.interpolation, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "value_range": self.value_range}


class RandomFlip(ImageAugmentation):
    """Flips each image left-right and/or up-down with probability 1/2, in training.

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical" (both flips, decided
            together, as in Keras).
        seed: Int seed of the layer's random generator.
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords (`name`, `dtype`, `bounding_box_format`).
    """

    factor_bounds = None
    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in self.MODES:
            raise ValueError(f"RandomFlip: `mode` must be one of {list(self.MODES)}, got "
                             f"mode={mode!r}.")
        self.mode = mode

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        shape = ops.shape(data["images"])
        h, w, _ = self.image_axes()
        flips = nrandom.uniform((shape[0],), seed=self.generator if seed is None else seed)
        return {"flips": flips <= 0.5, "size": (shape[h], shape[w])}

    def _flip(self, images, transformation):
        if transformation is None:
            return images
        h, w, _ = self.image_axes()
        flipped = images
        if self.mode != "vertical":
            flipped = ops.flip(flipped, axis=w)
        if self.mode != "horizontal":
            flipped = ops.flip(flipped, axis=h)
        return ops.where(ops.reshape(transformation["flips"], (-1, 1, 1, 1)), flipped, images)

    def transform_images(self, images, transformation, training=True):
        return self._flip(images, transformation)

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return self._flip(masks, transformation)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        if transformation is None:
            return bounding_boxes
        height, width = transformation["size"]
        flips = ops.reshape(transformation["flips"], (-1, 1, 1))
        horizontal, vertical = self.mode != "vertical", self.mode != "horizontal"

        def move(x1, y1, x2, y2):
            if horizontal:
                x1, x2 = ops.where(flips, width - x2, x1), ops.where(flips, width - x1, x2)
            if vertical:
                y1, y2 = ops.where(flips, height - y2, y1), ops.where(flips, height - y1, y2)
            return x1, y1, x2, y2

        return boxes_through(self, bounding_boxes, (height, width), (height, width), move)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}
