"""Augmentation policies built from the other image layers: RandAugment and AugMix.

Both pick, at random, which of their sub-layers act. The pick is a tensor drawn from the
layer's SeedGenerator and applied with `ops.switch`, so inside a compiled training step it
changes from step to step and only the chosen sub-layer runs on JAX. (Keras's AugMix picks
its operations with Python's `random` when the step is traced, so a compiled step repeats
one choice forever.) Every sub-layer's random draw uses the policy's own generator, so one
`seed` makes the whole policy repeatable.
"""

from __future__ import annotations

from nhanh import ops, random
from nhanh.layers.image_augmentation import ImageAugmentation, is_number
from nhanh.layers.image_color_layers import (RandomBrightness, RandomColorDegeneration,
                                             RandomContrast, RandomSharpness, value_range_of)
from nhanh.layers.image_histogram_layers import (AutoContrast, Equalization,
                                                 RandomPosterization, Solarization)
from nhanh.layers.image_warps import RandomRotation, RandomShear, RandomTranslation

_GEOMETRIC = ("random_shear", "random_translation", "random_rotation")
_LEVEL = ("random_posterization", "solarization", "auto_contrast", "equalization")
_COLOUR = ("random_brightness", "random_color_degeneration", "random_contrast",
           "random_sharpness")


class _Policy(ImageAugmentation):
    """Owns the sub-layers, all made with strength `factor` (a range within [0, 1])."""

    factor_bounds = (0.0, 1.0)

    def __init__(self, value_range, factor, interpolation: str, seed, data_format, names,
                 **kwargs):
        super().__init__(factor=factor, data_format=data_format, seed=seed, **kwargs)
        self.value_range = value_range_of(value_range, type(self).__name__)
        self.interpolation = interpolation
        f, common = self.factor, dict(seed=seed, data_format=self.data_format)
        make = {
            "random_shear": lambda: RandomShear(x_factor=f, y_factor=f,
                                                interpolation=interpolation, **common),
            "random_translation": lambda: RandomTranslation(f, f, interpolation=interpolation,
                                                            **common),
            "random_rotation": lambda: RandomRotation(f, interpolation=interpolation, **common),
            "random_posterization": lambda: RandomPosterization(
                max(1, int(8 * f[1])), value_range=self.value_range, **common),
            "solarization": lambda: Solarization(f, f, value_range=self.value_range,
                                                 seed=seed),
            "auto_contrast": lambda: AutoContrast(self.value_range,
                                                  data_format=self.data_format),
            "equalization": lambda: Equalization(self.value_range,
                                                 data_format=self.data_format),
            "random_brightness": lambda: RandomBrightness(f, self.value_range, **common),
            "random_color_degeneration": lambda: RandomColorDegeneration(
                f, self.value_range, **common),
            "random_contrast": lambda: RandomContrast(f, self.value_range, **common),
            "random_sharpness": lambda: RandomSharpness(f, self.value_range, **common),
        }
        self.op_names = tuple(names)
        self.ops_layers = [make[name]() for name in names]
        for name, layer in zip(self.op_names, self.ops_layers):
            object.__setattr__(self, name, layer)  # Keras's attribute names, tracked once

    def draw_ops(self, data, seed):
        """One transformation per sub-layer, from the policy's generator."""
        return [layer.get_random_transformation(data, True, seed) for layer in self.ops_layers]

    def apply(self, index, images, transformations, method: str, with_identity: bool = False):
        """The sub-layer number `index` (a tensor) applied to `images` through `method`."""
        dtype = images.dtype

        def branch(layer, t):
            return lambda x: ops.cast(getattr(layer, method)(x, t, True), dtype)

        branches = [branch(layer, t) for layer, t in zip(self.ops_layers, transformations)]
        if with_identity:
            branches.append(lambda x: x)
        return ops.switch(index, branches, images)

    def get_config(self) -> dict:
        return {**super().get_config(), "value_range": self.value_range,
                "interpolation": self.interpolation}


class RandAugment(_Policy):
    """RandAugment (Cubuk et al., 2019): `num_ops` operations, each picked at random per batch
    among shear, translation, rotation, brightness, colour degeneration, contrast, sharpness,
    posterization, solarization, auto-contrast and equalization, all of strength `factor`.

    Args:
        value_range: (low, high) of the pixel values.
        num_ops: How many operations to apply in a row.
        factor: Strength: a number f in [0, 1] (sub-layers draw from [0, f]) or a pair.
        interpolation: Interpolation of the geometric operations ("bilinear" or "nearest").
        seed: Int seed; all draws come from this layer's generator.
        data_format: "channels_last" or "channels_first".
    """

    ORDER = (*_GEOMETRIC, "random_brightness", "random_color_degeneration", "random_contrast",
             "random_sharpness", "random_posterization", "solarization", "auto_contrast",
             "equalization")

    def __init__(self, value_range=(0, 255), num_ops: int = 2, factor=0.5,
                 interpolation: str = "bilinear", seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        if not isinstance(num_ops, int) or isinstance(num_ops, bool) or num_ops < 0:
            raise ValueError(f"RandAugment: `num_ops` must be an int >= 0, got "
                             f"num_ops={num_ops!r}.")
        super().__init__(value_range, factor, interpolation, seed, data_format, self.ORDER,
                         **kwargs)
        self.num_ops = num_ops

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        seed = self.generator if seed is None else seed
        picks = random.randint((max(self.num_ops, 1),), 0, len(self.ops_layers), seed=seed)
        return {"layer_idxes": picks, "transforms": self.draw_ops(data, seed)}

    def _apply_all(self, images, transformation, method):
        for i in range(self.num_ops):
            images = self.apply(transformation["layer_idxes"][i], images,
                                transformation["transforms"], method)
        return images

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        return self._apply_all(images, transformation, "transform_images")

    def transform_segmentation_masks(self, masks, transformation, training=True):
        if not training or transformation is None:
            return masks
        return self._apply_all(masks, transformation, "transform_segmentation_masks")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        raise NotImplementedError(
            "RandAugment does not move bounding boxes yet (Keras's does, through its geometric "
            "operations). Pass data without 'bounding_boxes', or augment boxes with "
            "RandomRotation / RandomTranslation / RandomShear directly.")

    def get_config(self) -> dict:
        return {**super().get_config(), "num_ops": self.num_ops}


class AugMix(_Policy):
    """AugMix (Hendrycks et al., 2020): `num_chains` chains of up to `chain_depth` random
    operations each (a step may also do nothing), mixed with Dirichlet(alpha) weights, then
    blended with the original image by a Beta(alpha, alpha) weight and clipped to
    `value_range`.

    Args:
        value_range: (low, high) of the pixel values.
        num_chains: Number of augmentation chains.
        chain_depth: Operations per chain (each step picks one, or none).
        factor: Strength of the operations: a number f in [0, 1] or a pair.
        alpha: Concentration of the Dirichlet and Beta draws.
        all_ops: Also use brightness, colour degeneration, contrast and sharpness (which the
            paper leaves out because they overlap common test corruptions).
        interpolation: Interpolation of the geometric operations.
        seed: Int seed; all draws come from this layer's generator.
        data_format: "channels_last" or "channels_first".
    """

    def __init__(self, value_range=(0, 255), num_chains: int = 3, chain_depth: int = 3,
                 factor=0.3, alpha: float = 1.0, all_ops: bool = True,
                 interpolation: str = "bilinear", seed: int | None = None,
                 data_format: str | None = None, **kwargs):
        for arg, value in (("num_chains", num_chains), ("chain_depth", chain_depth)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"AugMix: `{arg}` must be an int >= 1, got {arg}={value!r}.")
        if not is_number(alpha) or alpha <= 0:
            raise ValueError(f"AugMix: `alpha` must be a positive number, got alpha={alpha!r}.")
        names = (*_GEOMETRIC, *_LEVEL, *(_COLOUR if all_ops else ()))
        super().__init__(value_range, factor, interpolation, seed, data_format, names, **kwargs)
        self.num_chains, self.chain_depth = num_chains, chain_depth
        self.alpha, self.all_ops = float(alpha), bool(all_ops)

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        seed = self.generator if seed is None else seed
        gammas = random.gamma((self.num_chains,), self.alpha, seed=seed)
        steps = [[{"pick": random.randint((), 0, len(self.ops_layers) + 1, seed=seed),
                   "transforms": self.draw_ops(data, seed)}
                  for _ in range(self.chain_depth)] for _ in range(self.num_chains)]
        return {"chain_mixing_weights": gammas / ops.sum(gammas),
                "weight_sample": random.beta((), self.alpha, self.alpha, seed=seed),
                "chain_transforms": steps}

    def _mix(self, images, transformation, method):
        weights = ops.cast(transformation["chain_mixing_weights"], images.dtype)
        mixed = ops.zeros_like(images)
        for c, chain in enumerate(transformation["chain_transforms"]):
            chained = images
            for step in chain:
                chained = self.apply(step["pick"], chained, step["transforms"], method,
                                     with_identity=True)
            mixed = mixed + weights[c] * chained
        keep = ops.cast(transformation["weight_sample"], images.dtype)
        return keep * images + (1.0 - keep) * mixed

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        mixed = self._mix(images, transformation, "transform_images")
        return ops.clip(mixed, self.value_range[0], self.value_range[1])

    def transform_segmentation_masks(self, masks, transformation, training=True):
        if not training or transformation is None:
            return masks
        return self._mix(ops.cast(masks, self.compute_dtype), transformation,
                         "transform_segmentation_masks")

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        return bounding_boxes  # as Keras: a blend of moved images has no single box

    def get_config(self) -> dict:
        return {**super().get_config(), "num_chains": self.num_chains,
                "chain_depth": self.chain_depth, "alpha": self.alpha, "all_ops": self.all_ops}
