"""Layers that remap pixel values by their level: RandomPosterization, RandomInvert,
Solarization, and the histogram-based Equalization, AutoContrast and
ContrastLimitedAdaptiveHistogramEqualization (CLAHE).

They all think in 8-bit levels: an image is rescaled from `value_range` to [0, 255], remapped,
and rescaled back, so `value_range` may be (0, 1) or (-1, 1) as well.

Histograms are built per image and channel with one-hot sums (no data-dependent shapes), so
they run inside a compiled step on both engines. Equalization equalizes each image on its own
(PIL's and TF-addons' meaning); Keras 3's pools the whole batch's pixels into one histogram per
channel, which makes an image's result depend on the rest of its batch.
"""

from __future__ import annotations

from nhanh import ops, random
from nhanh.layers.image_augmentation import ImageAugmentation, is_number
from nhanh.layers.image_color_layers import ColorAugmentation, rescale, value_range_of

_LEVELS = (0.0, 255.0)


class RandomPosterization(ColorAugmentation):
    """Keeps only the top b bits of each 8-bit level, b drawn per image from [low, high).

    Args:
        factor: Bits to keep: a number f in [1, 8] (b drawn from [1, f), or 1 when f is 1) or a
            pair (low, high); equal bounds keep exactly that many bits.
        value_range: (low, high) of the pixel values.
        data_format: "channels_last" or "channels_first".
        seed: Int seed for the draws.
    """

    factor_bounds = (1.0, 8.0)

    def __init__(self, factor, value_range=(0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs):
        super().__init__(factor=factor, value_range=value_range, data_format=data_format,
                         seed=seed, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        batch = ops.shape(data["images"])[0]
        low, high = int(self.factor[0]), int(self.factor[1])
        if low == high:
            bits = ops.full((batch,), low, dtype="int32")
        else:
            bits = random.randint((batch,), low, high,
                                  seed=self.generator if seed is None else seed)
        return {"shift_factor": 8 - ops.cast(bits, "int32")}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        shift = ops.reshape(ops.cast(transformation["shift_factor"], images.dtype), (-1, 1, 1, 1))
        step = ops.power(2.0, shift)  # dropping s low bits = flooring to a multiple of 2**s
        levels = ops.floor(ops.clip(rescale(images, self.value_range, _LEVELS), *_LEVELS))
        return rescale(ops.floor(levels / step) * step, _LEVELS, self.value_range)


class RandomInvert(ColorAugmentation):
    """Inverts each image (`low + high - x` in `value_range`) with probability p drawn from
    `factor`. (Keras computes `high - x`, the same for ranges starting at 0.)

    Args:
        factor: A number f in [0, 1] (p drawn from [0, f]) or a pair.
        value_range: (low, high) of the pixel values.
        seed: Int seed for the draws.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, factor=1.0, value_range=(0, 255), seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        super().__init__(factor=factor, value_range=value_range, data_format=data_format,
                         seed=seed, **kwargs)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images, seed = data["images"], self.generator if seed is None else seed
        probability = self.draw(images, *self.factor, seed=seed, shape=())
        return {"apply_inversion": self.draw(images, 0.0, 1.0, seed=seed, shape=())
                < probability}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        apply = ops.reshape(transformation["apply_inversion"], (-1, 1, 1, 1))
        return ops.where(apply, self.value_range[0] + self.value_range[1] - images, images)


class Solarization(ColorAugmentation):
    """Adds a random amount a to each image's 8-bit levels (clipped to 255), then inverts the
    levels at or above a random threshold t: `x' = x + a; x' if x' < t else 255 - x'`.

    Args:
        addition_factor: Fraction of 255 for a: a number f in [0, 1] (drawn from [0, f]) or a
            pair.
        threshold_factor: Fraction of 255 for t, likewise. With the default 0 every level is
            inverted. (Keras scales only the upper bound of a pair by 255; here both are.)
        value_range: (low, high) of the pixel values.
        seed: Int seed for the draws.
    """

    factor_bounds = None

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed: int | None = None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        self.addition_factor = self._factor_range(addition_factor, (0.0, 1.0),
                                                  "addition_factor")
        self.threshold_factor = self._factor_range(threshold_factor, (0.0, 1.0),
                                                   "threshold_factor")

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images, seed = data["images"], self.generator if seed is None else seed
        a, t = self.addition_factor, self.threshold_factor
        return {"additions": self.draw(images, a[0] * 255.0, a[1] * 255.0, seed=seed),
                "thresholds": self.draw(images, t[0] * 255.0, t[1] * 255.0, seed=seed)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        levels = rescale(images, self.value_range, _LEVELS)
        levels = ops.clip(levels + ops.cast(transformation["additions"], images.dtype), *_LEVELS)
        levels = ops.where(levels < ops.cast(transformation["thresholds"], images.dtype), levels,
                           255.0 - levels)
        return rescale(levels, _LEVELS, self.value_range)

    def get_config(self) -> dict:
        return {**super().get_config(), "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor}


class _LevelLayer(ImageAugmentation):
    """A deterministic layer working on 8-bit levels of images in `value_range`."""

    factor_bounds = None
    random = False

    def __init__(self, value_range=(0, 255), data_format: str | None = None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range_of(value_range, type(self).__name__)

    def channels_last(self, images):
        return ops.moveaxis(images, 1, -1) if self.data_format == "channels_first" else images

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes

    def back(self, images):
        return ops.moveaxis(images, -1, 1) if self.data_format == "channels_first" else images

    def get_config(self) -> dict:
        return {**super().get_config(), "value_range": self.value_range}


def _histograms(indices, bins: int, axis):
    """Counts of each bin over `axis` of integer `indices` (bins become the last axis)."""
    return ops.sum(ops.one_hot(indices, bins, dtype="float32"), axis=axis)


class Equalization(_LevelLayer):
    """Histogram equalization of each image and channel: levels are remapped through the
    normalized cumulative histogram, spreading them over [0, 255]. A channel with a single
    level is left as it is. Applied only while training (as Keras).

    Args:
        value_range: (low, high) of the pixel values.
        bins: Number of histogram bins.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, value_range=(0, 255), bins: int = 256, data_format: str | None = None,
                 **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        if not isinstance(bins, int) or isinstance(bins, bool) or bins < 2:
            raise ValueError(f"Equalization: `bins` must be an int >= 2, got bins={bins!r}.")
        self.bins = bins

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        levels = rescale(self.channels_last(images), self.value_range, _LEVELS)
        index = ops.cast(ops.clip(levels * ((self.bins - 1) / 255.0), 0, self.bins - 1), "int32")
        hist = _histograms(index, self.bins, axis=(1, 2))  # (batch, channels, bins)
        cdf = ops.cumsum(hist, axis=-1)
        cdf_min = ops.min(ops.where(cdf > 0, cdf, float("inf")), axis=-1, keepdims=True)
        span = cdf[..., -1:] - cdf_min
        table = ops.clip(ops.round((cdf - cdf_min) * 255.0 / ops.where(span == 0, 1.0, span)),
                         0.0, 255.0)
        b, h, w, c = ops.shape(index)
        looked_up = ops.take_along_axis(table, ops.reshape(ops.transpose(index, (0, 3, 1, 2)),
                                                           (b, c, h * w)), axis=-1)
        equalized = ops.transpose(ops.reshape(looked_up, (b, c, h, w)), (0, 2, 3, 1))
        flat = ops.sum(ops.cast(hist > 0, "int32"), axis=-1)[:, None, None, :] <= 1
        out = ops.where(flat, levels, ops.cast(equalized, levels.dtype))
        return self.back(rescale(out, _LEVELS, self.value_range))

    def get_config(self) -> dict:
        return {**super().get_config(), "bins": self.bins}


class AutoContrast(_LevelLayer):
    """Stretches each image and channel linearly so that its darkest pixel becomes the low end
    of `value_range` and its brightest the high end (a constant channel is left as it is).
    Applied in training and inference alike, as Keras.

    Args:
        value_range: (low, high) of the pixel values.
        data_format: "channels_last" or "channels_first".
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).
    """

    def transform_images(self, images, transformation, training=True):
        height, width, _ = self.image_axes()
        low = ops.min(images, axis=(height, width), keepdims=True)
        high = ops.max(images, axis=(height, width), keepdims=True)
        span = high - low
        v_low, v_high = self.value_range
        stretched = v_low + (images - low) * ((v_high - v_low) / ops.where(span > 0, span, 1.0))
        return ops.where(span > 0, ops.clip(stretched, v_low, v_high), images)


class ContrastLimitedAdaptiveHistogramEqualization(_LevelLayer):
    """CLAHE: equalizes each tile of a `tile_grid_size` grid with its own clipped histogram and
    blends the four nearest tiles' mappings bilinearly, so contrast is enhanced locally without
    tile seams. Applied in training and inference alike, as Keras.

    A tile's histogram is clipped at `clip_limit` times the mean bin count and the excess is
    spread evenly over all bins, which limits how much noise in flat regions is amplified.
    Images whose size is not a multiple of the grid are mirrored at the bottom and right edges.

    Args:
        value_range: (low, high) of the pixel values.
        clip_limit: Contrast limit (<= 0: plain adaptive equalization).
        tile_grid_size: (rows, columns) of tiles.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, value_range=(0, 255), clip_limit: float = 4.0, tile_grid_size=(8, 8),
                 data_format: str | None = None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        if not is_number(clip_limit):
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization: `clip_limit` must "
                             f"be a number, got clip_limit={clip_limit!r}.")
        if (not isinstance(tile_grid_size, (tuple, list)) or len(tile_grid_size) != 2
                or not all(isinstance(g, int) and g > 0 for g in tile_grid_size)):
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization: `tile_grid_size` "
                             f"must be a pair of positive ints (rows, columns), got "
                             f"tile_grid_size={tile_grid_size!r}.")
        self.clip_limit, self.tile_grid_size = float(clip_limit), tuple(tile_grid_size)

    def transform_images(self, images, transformation, training=True):
        levels = rescale(ops.cast(self.channels_last(images), "float32"), self.value_range,
                         _LEVELS)
        batch, height, width, channels = ops.shape(levels)
        grid_h, grid_w = self.tile_grid_size
        tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
        padded = _mirror_pad(levels, tile_h * grid_h - height, tile_w * grid_w - width)
        pixels = ops.cast(ops.clip(padded, *_LEVELS), "int32")

        tiles = ops.reshape(pixels, (batch, grid_h, tile_h, grid_w, tile_w, channels))
        hist = _histograms(tiles, 256, axis=(2, 4))  # (batch, grid_h, grid_w, channels, 256)
        area = float(tile_h * tile_w)
        if self.clip_limit > 0:
            clipped = ops.minimum(hist, self.clip_limit * area / 256.0)
            hist = clipped + ops.sum(hist - clipped, axis=-1, keepdims=True) / 256.0
        cdf = ops.cumsum(hist, axis=-1)
        cdf_min = cdf[..., :1]
        span = area - cdf_min
        table = ops.clip((cdf - cdf_min) * 255.0 / ops.where(span == 0, 1.0, span), *_LEVELS)
        # a border of copied tiles, so every pixel has four neighbouring tile centres
        table = ops.concatenate([table[:, :1], table, table[:, -1:]], axis=1)
        table = ops.concatenate([table[:, :, :1], table, table[:, :, -1:]], axis=2)

        rows0, rows1, wy = _tile_neighbours(tile_h * grid_h, tile_h, grid_h)
        cols0, cols1, wx = _tile_neighbours(tile_w * grid_w, tile_w, grid_w)
        flat = ops.reshape(table, (-1,))
        strides = ((grid_h + 2) * (grid_w + 2) * channels * 256, (grid_w + 2) * channels * 256,
                   channels * 256, 256)
        base = (ops.reshape(ops.arange(batch, dtype="int32"), (-1, 1, 1, 1)) * strides[0]
                + ops.reshape(ops.arange(channels, dtype="int32"), (1, 1, 1, -1)) * 256 + pixels)

        def lookup(rows, cols):
            return ops.take(flat, base + ops.reshape(rows, (1, -1, 1, 1)) * strides[1]
                            + ops.reshape(cols, (1, 1, -1, 1)) * strides[2])

        wy, wx = ops.reshape(wy, (1, -1, 1, 1)), ops.reshape(wx, (1, 1, -1, 1))
        top = lookup(rows0, cols0) * (1.0 - wx) + lookup(rows0, cols1) * wx
        bottom = lookup(rows1, cols0) * (1.0 - wx) + lookup(rows1, cols1) * wx
        out = (top * (1.0 - wy) + bottom * wy)[:, :height, :width, :]
        out = rescale(out, _LEVELS, self.value_range)
        return self.back(ops.cast(out, images.dtype))

    def get_config(self) -> dict:
        return {**super().get_config(), "clip_limit": self.clip_limit,
                "tile_grid_size": self.tile_grid_size}


def _tile_neighbours(size: int, tile: int, grid: int):
    """For each pixel row (or column): the padded-grid indices of the tiles whose centres are
    just before and after it, and the weight of the second."""
    position = (ops.arange(size, dtype="float32") - tile / 2.0) / tile + 1.0
    first = ops.floor(position)
    weight = position - first
    first = ops.clip(first, 0, grid + 1)
    second = ops.clip(first + 1.0, 0, grid + 1)
    return ops.cast(first, "int32"), ops.cast(second, "int32"), weight


def _mirror_pad(images, pad_h: int, pad_w: int):
    """Reflect the last `pad_h` rows and `pad_w` columns (edge included) past the border."""
    if pad_h:
        images = ops.concatenate([images, ops.flip(images[:, -pad_h:], axis=1)], axis=1)
    if pad_w:
        images = ops.concatenate([images, ops.flip(images[:, :, -pad_w:], axis=2)], axis=2)
    return images
