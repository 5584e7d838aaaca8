"""Regularization layers: Dropout and its spatial and Gaussian variants, GaussianNoise,
ActivityRegularization. The random ones draw from a SeedGenerator, whose state the training
step carries, and act only when called with training=True."""

from __future__ import annotations

import math

from nhanh import config, ops, random, regularizers
from nhanh.layers.layer import InputSpec, Layer


class Dropout(Layer):
    """Zeroes a fraction `rate` of inputs while training, scaling the rest; identity otherwise.

    The kept entries are scaled by 1 / (1 - rate), so the expected sum is unchanged.

    Args:
        rate: Float in [0, 1], the fraction of entries to drop.
        noise_shape: Shape of the keep/drop mask, broadcast against the inputs (e.g. `(batch, 1,
            features)` drops the same features at every step); a `None` entry takes the input's
            size. `None` means the input's shape.
        seed: Int seed for repeatable draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Dropout rate must be in [0, 1], got {rate!r}.")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed
        self.seed_generator = random.SeedGenerator(seed, name=f"{self.name}/seed")

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            return random.dropout(inputs, self.rate, self.noise_shape, seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep/drop draw per sample and channel, shared by every
    position, so correlated neighbouring activations are dropped together."""

    _rank = 0

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _data_format(self, data_format)
        spatial = (1,) * (self._rank - 2)
        self.noise_shape = ((None, None, *spatial) if self.data_format == "channels_first"
                            else (None, *spatial, None))
        self.input_spec = InputSpec(ndim=self._rank)

    def get_config(self) -> dict:
        # Keras's spatial dropouts take no `trainable` (their constructors have no **kwargs),
        # so writing it would make Keras refuse the file; the layer has no weights to freeze.
        config_ = {k: v for k, v in Layer.get_config(self).items() if k != "trainable"}
        config_.update(rate=self.rate, seed=self.seed)
        if self._rank > 3:
            config_["data_format"] = self.data_format
        return config_


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of (batch, steps, channels) inputs.

    Args:
        rate: Float in [0, 1], the fraction of channels to drop.
        seed: Int seed for repeatable draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank = 3

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(rate, data_format="channels_last", seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole 2D feature maps (channels) of (batch, rows, cols, channels) images.

    Args:
        rate: Float in [0, 1], the fraction of channels to drop.
        data_format: `"channels_last"` or `"channels_first"`; `None` uses
            `nhanh.config.image_data_format()`.
        seed: Int seed for repeatable draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank = 4


class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole 3D feature maps (channels) of (batch, d1, d2, d3, channels) volumes.

    Args:
        rate: Float in [0, 1], the fraction of channels to drop.
        data_format: `"channels_last"` or `"channels_first"`; `None` uses
            `nhanh.config.image_data_format()`.
        seed: Int seed for repeatable draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank = 5


class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise of standard deviation `stddev` while training (a
    regularizer, or data augmentation for real-valued inputs); identity otherwise.

    Args:
        stddev: Float in [0, 1], standard deviation of the noise.
        seed: Int seed for repeatable draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, stddev: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(stddev, (int, float)) or isinstance(stddev, bool) or \
                not 0 <= stddev <= 1:
            raise ValueError(f"GaussianNoise: stddev must be a float in [0, 1], got "
                             f"stddev={stddev!r}.")
        self.stddev, self.seed = float(stddev), seed
        self.seed_generator = random.SeedGenerator(seed, name=f"{self.name}/seed")

    def call(self, inputs, training=None):
        if training and self.stddev > 0:
            return inputs + random.normal(ops.shape(inputs), 0.0, self.stddev, self.dtype,
                                          seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies inputs by Gaussian noise of mean 1 and standard deviation
    sqrt(rate / (1 - rate)) while training (the variance of Dropout at the same rate, without
    zeros); identity otherwise.

    Args:
        rate: Float in [0, 1), the dropout rate whose variance the noise matches.
        seed: Int seed for repeatable draws; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ValueError(f"GaussianDropout: rate must be a float in [0, 1), got "
                             f"rate={rate!r}.")
        self.rate, self.seed = float(rate), seed
        self.seed_generator = random.SeedGenerator(seed, name=f"{self.name}/seed")

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            return inputs * random.normal(ops.shape(inputs), 1.0, stddev, self.dtype,
                                          seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class ActivityRegularization(Layer):
    """Identity that adds (l1 * sum|x| + l2 * sum x²) / batch_size of its inputs to the loss,
    through the base Layer's activity-regularizer mechanism (see `Layer.losses`).

    Args:
        l1: Non-negative float, weight of the L1 term.
        l2: Non-negative float, weight of the L2 term.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...); an
            `activity_regularizer` among them is ignored, `l1` and `l2` decide.
    """

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)  # a saved config may carry it; l1/l2 rule
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = self.activity_regularizer.l1, self.activity_regularizer.l2

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


def _data_format(layer: Layer, data_format: str | None) -> str:
    value = config.image_data_format() if data_format is None else str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{type(layer).__name__}: data_format must be 'channels_last' or "
                         f"'channels_first', got data_format={data_format!r}.")
    return value
