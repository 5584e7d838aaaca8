"""The colour augmentation layers: RandomBrightness, RandomContrast, RandomSaturation, RandomHue,
RandomGrayscale, RandomColorDegeneration, RandomSharpness, RandomGaussianBlur and
RandomColorJitter.

One mechanism serves most of them: draw a factor per image, then move each image toward (or
past) a "degenerate" version of itself, `images + amount * (degenerate - images)`, and clip to
`value_range` (BlendAugmentation). Contrast degenerates to the image's mean, colour
degeneration to its grayscale, sharpness to a smoothed copy; a layer names only those two
parts. Hue and saturation work in HSV on images rescaled to [0, 1], so `value_range` may be
anything, e.g. (-1, 1).

Transformations keep Keras 3's structure (e.g. {"contrast_factor": (batch, 1, 1, 1)}), so
`transform_images` accepts a transformation built for Keras's layer.

Where Keras's code and its documentation disagree we follow the documentation (and say so in
the layer's docstring): RandomContrast(f) draws from [1 - f, 1 + f], RandomSaturation(f) and
RandomColorDegeneration(f) from [0, f].
"""

from __future__ import annotations

from nhanh import ops, random
from nhanh.layers.image_augmentation import ImageAugmentation, is_number
from nhanh.ops import image_color


def value_range_of(value_range, layer: str) -> tuple[float, float]:
    """A validated (low, high) pair of pixel bounds.

    Args:
        value_range: The pair the user gave, in either order.
        layer: The layer's name, for the error message.
    """
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(is_number(v) for v in value_range) or value_range[0] == value_range[1]):
        raise ValueError(f"{layer}: `value_range` must be a pair of two different numbers "
                         f"(low, high), e.g. (0, 255) or (0, 1), got value_range={value_range!r}.")
    low, high = sorted(float(v) for v in value_range)
    return low, high


def rescale(images, source: tuple[float, float], target: tuple[float, float]):
    """Map pixel values linearly from the range `source` to the range `target`.

    Args:
        images: Pixel values.
        source: (low, high) they are in now.
        target: (low, high) they are mapped to.
    """
    if tuple(source) == tuple(target):
        return images
    scale = (target[1] - target[0]) / (source[1] - source[0])
    return (images - source[0]) * scale + target[0]


class ColorAugmentation(ImageAugmentation):
    """A random image layer whose pixels live in `value_range`; draws per-image factors.

    Args:
        factor: The layer's strength (see ImageAugmentation), within `factor_bounds`.
        value_range: (low, high) of the pixel values.
        data_format: "channels_last" or "channels_first".
        seed: Int seed for the draws.
        **kwargs: Base-layer keywords.
    """

    factor_bounds = (0.0, 1.0)

    def __init__(self, factor=None, value_range=(0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs):
        super().__init__(factor=factor, data_format=data_format, seed=seed, **kwargs)
        self.value_range = value_range_of(value_range, type(self).__name__)

    def draw(self, images, low, high, seed=None, shape: tuple = (1, 1, 1)):
        """Uniform numbers in [low, high), one per image of the batch (shape (batch, *shape))."""
        batch = ops.shape(images)[0]
        return random.uniform((batch, *shape), low, high, dtype=self.compute_dtype,
                              seed=self.generator if seed is None else seed)

    def clip(self, images):
        return ops.clip(images, self.value_range[0], self.value_range[1])

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes  # pixel values change, positions do not

    def get_config(self) -> dict:
        return {**super().get_config(), "value_range": self.value_range}


class BlendAugmentation(ColorAugmentation):
    """`images + amount * (degenerate(images) - images)`, clipped to `value_range`, with the
    amount computed from a factor drawn per image from `self.factor`.

    A subclass names `factor_key` (Keras's transformation key) and implements `amount` and
    `degenerate`.

    Args:
        factor: The range the per-image factor is drawn from (see `draw_range`).
        value_range: (low, high) of the pixel values.
        data_format: "channels_last" or "channels_first".
        seed: Int seed for the draws.
        **kwargs: Base-layer keywords.
    """

    factor_key = "factor"

    def get_random_transformation(self, data: dict, training: bool = True, seed=None):
        if not training:
            return None
        return {self.factor_key: self.draw(data["images"], *self.draw_range(), seed=seed)}

    def draw_range(self) -> tuple[float, float]:
        return self.factor

    def amount(self, factor):
        return factor

    def degenerate(self, images):
        raise NotImplementedError

    def transform_images(self, images, transformation, training: bool = True):
        if not training or transformation is None:
            return images
        factor = ops.cast(transformation[self.factor_key], images.dtype)
        amount = ops.reshape(self.amount(factor), (-1, 1, 1, 1))
        return self.clip(images + amount * (self.degenerate(images) - images))


class RandomContrast(BlendAugmentation):
    """Scales each image's deviation from its mean (per channel) by a random factor c drawn from
    [1 - lower, 1 + upper]: `(x - mean) * c + mean`, clipped to `value_range`.

    Args:
        factor: A number f in [0, 1] (c drawn from [1 - f, 1 + f], as Keras documents; Keras's
            code draws from [1, 1 + f]) or a pair (lower, upper).
        value_range: (low, high) of the pixel values; the output is clipped to it.
        seed: Int seed for the draws.
        **kwargs: `data_format`, `name`, `dtype`, ...
    """

    factor_key = "contrast_factor"

    def __init__(self, factor, value_range=(0, 255), seed: int | None = None, **kwargs):
        super().__init__(factor=factor, value_range=value_range, seed=seed, **kwargs)

    def _factor_range(self, factor, bounds=None, arg="factor"):
        if is_number(factor):
            if not 0 <= factor <= 1:
                raise ValueError(f"RandomContrast: `factor` must be a number in [0, 1] or a pair "
                                 f"(lower, upper), got factor={factor!r}.")
            return float(factor), float(factor)
        return super()._factor_range(factor, bounds, arg)

    def draw_range(self):
        return 1.0 - self.factor[0], 1.0 + self.factor[1]

    def amount(self, contrast):
        return 1.0 - contrast

    def degenerate(self, images):
        height, width, _ = self.image_axes()
        return ops.mean(images, axis=(height, width), keepdims=True)


class RandomColorDegeneration(BlendAugmentation):
    """Blends each image toward its grayscale version by a random amount in `factor`
    (0: unchanged, 1: fully gray).

    Args:
        factor: A number f in [0, 1] (amount drawn from [0, f], as Keras documents) or a pair.
        value_range: (low, high) of the pixel values; the output is clipped to it.
        data_format: "channels_last" or "channels_first".
        seed: Int seed for the draws.
    """

    def __init__(self, factor, value_range=(0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs):
        super().__init__(factor=factor, value_range=value_range, data_format=data_format,
                         seed=seed, **kwargs)

    def degenerate(self, images):
        return image_color.rgb_to_grayscale(images, data_format=self.data_format)


class RandomSharpness(BlendAugmentation):
    """Sharpens or blurs each image by a random factor s in `factor`: 0 gives the smoothed
    image, 0.5 the original, 1 the original pushed away from the smoothed one.

    The smoothed image is PIL's 3x3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 with zero
    padding at the borders (as Keras).

    Args:
        factor: A number f in [0, 1] (s drawn from [0, f]) or a pair.
        value_range: (low, high) of the pixel values; the output is clipped to it.
        data_format: "channels_last" or "channels_first".
        seed: Int seed for the draws.
    """

    def __init__(self, factor, value_range=(0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs):
        super().__init__(factor=factor, value_range=value_range, data_format=data_format,
                         seed=seed, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        return {"factor": self.draw(data["images"], *self.factor, seed=seed, shape=())}

    def amount(self, factor):
        return 1.0 - 2.0 * factor

    def degenerate(self, images):
        kernel = ops.convert_to_tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]],
                                       dtype=images.dtype) / 13.0
        return image_color._depthwise(images, kernel, self.data_format, "same")


class RandomBrightness(ColorAugmentation):
    """Adds a random offset per image, `factor * (high - low)` of `value_range`, and clips.

    Args:
        factor: A number f in [0, 1] (offset fraction drawn from [-f, f]) or a pair in
            [-1, 1], e.g. (0, 0.3) to only brighten.
        value_range: (low, high) of the pixel values; the output is clipped to it.
        seed: Int seed for the draws.
        **kwargs: `data_format`, `name`, `dtype`, ...
    """

    factor_bounds = (-1.0, 1.0)

    def __init__(self, factor, value_range=(0, 255), seed: int | None = None, **kwargs):
        super().__init__(factor=factor, value_range=value_range, seed=seed, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        span = self.value_range[1] - self.value_range[0]
        return {"rgb_delta": self.draw(data["images"], *self.factor, seed=seed) * span}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        return self.clip(images + ops.cast(transformation["rgb_delta"], images.dtype))


class RandomSaturation(ColorAugmentation):
    """Scales each image's HSV saturation by k = f / (1 - f), f drawn from `factor`: 0 gives
    grayscale, 0.5 the original, 1 fully saturated colours.

    Args:
        factor: A number f in [0, 1] (drawn from [0, f], as Keras documents) or a pair.
        value_range: (low, high) of the pixel values (the image is rescaled to [0, 1] for HSV).
        data_format: "channels_last" or "channels_first".
        seed: Int seed for the draws.
    """

    def __init__(self, factor, value_range=(0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs):
        super().__init__(factor=factor, value_range=value_range, data_format=data_format,
                         seed=seed, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        f = self.draw(data["images"], *self.factor, seed=seed, shape=())
        return {"factor": f / (1.0 - f + 1e-7)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        k = ops.cast(transformation["factor"], images.dtype)

        def scale_saturation(h, s, v):
            return h, ops.clip(s * ops.reshape(k, (-1, 1, 1)), 0.0, 1.0), v

        return _in_hsv(self, images, scale_saturation)


class RandomHue(ColorAugmentation):
    """Rotates each image's hue by a random fraction of a turn, up to half a turn in either
    direction (a draw d from `factor` gives a shift of +-d/2).

    Args:
        factor: A number f in [0, 1] (d drawn from [0, f]) or a pair.
        value_range: (low, high) of the pixel values (the image is rescaled to [0, 1] for HSV).
        data_format: "channels_last" or "channels_first".
        seed: Int seed for the draws.
    """

    def __init__(self, factor, value_range=(0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs):
        super().__init__(factor=factor, value_range=value_range, data_format=data_format,
                         seed=seed, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"]
        seed = self.generator if seed is None else seed
        sign = ops.where(self.draw(images, 0.0, 1.0, seed=seed, shape=()) > 0.5, -1.0, 1.0)
        return {"factor": sign * self.draw(images, *self.factor, seed=seed, shape=()) * 0.5}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        shift = ops.reshape(ops.cast(transformation["factor"], images.dtype), (-1, 1, 1))

        def rotate_hue(h, s, v):
            return h + shift, s, v  # hsv_to_rgb takes the hue modulo one turn

        return _in_hsv(self, images, rotate_hue)


def _in_hsv(layer: ColorAugmentation, images, change):
    """Apply `change(h, s, v) -> (h, s, v)` to images of `layer.value_range`."""
    axis = layer.image_axes()[2]
    x = rescale(images, layer.value_range, (0.0, 1.0))
    hsv = image_color.rgb_to_hsv(x, data_format=layer.data_format)
    planes = change(*[ops.squeeze(p, axis) for p in ops.split(hsv, 3, axis=axis)])
    rgb = image_color.hsv_to_rgb(ops.stack(planes, axis=axis), data_format=layer.data_format)
    return rescale(ops.clip(rgb, 0.0, 1.0), (0.0, 1.0), layer.value_range)


class RandomGrayscale(ImageAugmentation):
    """Turns each image to grayscale (kept in 3 channels) with probability `factor`.

    Args:
        factor: Probability in [0, 1] that an image becomes gray.
        data_format: "channels_last" or "channels_first".
        seed: Int seed for the draws.
    """

    factor_bounds = None

    def __init__(self, factor: float = 0.5, data_format: str | None = None,
                 seed: int | None = None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        if not is_number(factor) or not 0 <= factor <= 1:
            raise ValueError(f"RandomGrayscale: `factor` (a probability) must be a number in "
                             f"[0, 1], got factor={factor!r}.")
        self.factor = float(factor)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = ops.shape(data["images"])[0]
        u = random.uniform((batch, 1, 1, 1), seed=self.generator if seed is None else seed)
        return u < self.factor

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        gray = image_color.rgb_to_grayscale(images, data_format=self.data_format)
        return ops.where(transformation, gray, images)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomGaussianBlur(ColorAugmentation):
    """Blurs each image with probability p drawn from `factor`, with a Gaussian kernel whose
    sigma (along height and along width) is drawn from `sigma` once per batch.

    Args:
        factor: Blur probability: a number f in [0, 1] (p drawn from [0, f]) or a pair.
        kernel_size: Odd int or pair of odd ints (height, width).
        sigma: A number s > 0 (sigma drawn from [0, s]) or a pair (Keras limits it to 1).
        value_range: (low, high) of the pixel values; the output is clipped to it.
        data_format: "channels_last" or "channels_first".
        seed: Int seed for the draws.
    """

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs):
        super().__init__(factor=factor, value_range=value_range, data_format=data_format,
                         seed=seed, **kwargs)
        sizes = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,
                                                                                   kernel_size)
        if len(sizes) != 2 or not all(isinstance(s, int) and s > 0 and s % 2 for s in sizes):
            raise ValueError(f"RandomGaussianBlur: `kernel_size` must be an odd positive int or "
                             f"a pair of them, got kernel_size={kernel_size!r}.")
        self.kernel_size = sizes
        self.sigma = self._factor_range(sigma, (0.0, float("inf")), "sigma")

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = data["images"]
        seed = self.generator if seed is None else seed
        probability = self.draw(images, *self.factor, seed=seed, shape=())
        apply = self.draw(images, 0.0, 1.0, seed=seed, shape=()) < probability
        sigma = random.uniform((2,), *self.sigma, dtype=self.compute_dtype, seed=seed) + 1e-6
        return {"should_apply_blur": apply, "blur_factor": sigma}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        blurred = image_color.gaussian_blur(images, self.kernel_size,
                                            transformation["blur_factor"], self.data_format)
        apply = ops.reshape(transformation["should_apply_blur"], (-1, 1, 1, 1))
        return self.clip(ops.where(apply, blurred, images))

    def get_config(self) -> dict:
        return {**super().get_config(), "kernel_size": self.kernel_size, "sigma": self.sigma}


class RandomColorJitter(ColorAugmentation):
    """Brightness, contrast, saturation and hue changes in that order, each only if its factor
    is given (see RandomBrightness, RandomContrast, RandomSaturation, RandomHue).

    Args:
        value_range: (low, high) of the pixel values.
        brightness_factor: RandomBrightness's `factor`, or None to skip.
        contrast_factor: RandomContrast's `factor`, or None to skip.
        saturation_factor: RandomSaturation's `factor`, or None to skip.
        hue_factor: RandomHue's `factor`, or None to skip.
        seed: Int seed; every draw comes from this layer's generator.
        data_format: "channels_last" or "channels_first".
    """

    factor_bounds = None

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, seed=seed, **kwargs)
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        common = dict(value_range=value_range, data_format=self.data_format, seed=seed,
                      dtype=self.dtype)
        steps = [(RandomBrightness, brightness_factor), (RandomContrast, contrast_factor),
                 (RandomSaturation, saturation_factor), (RandomHue, hue_factor)]
        self.steps = [cls(factor, **common) for cls, factor in steps if factor is not None]

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        seed = self.generator if seed is None else seed
        return [step.get_random_transformation(data, training, seed) for step in self.steps]

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        for step, t in zip(self.steps, transformation):
            images = step.transform_images(images, t, training)
        return images

    def get_config(self) -> dict:
        return {**super().get_config(), "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor, "hue_factor": self.hue_factor}
