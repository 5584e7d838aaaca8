"""Initializers that draw random values: plain distributions, variance scaling, orthogonal.

Draws happen on the host (NumPy's default generator), so a seed means the same weights on every
backend; see `RandomInitializer`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from nhanh.initializers.initializer import (
    RandomInitializer, Shape, float_dtype, standardize_shape, to_backend, truncated_normal,
)

# Standard deviation of a standard normal truncated to [-2, 2], as Keras rounds it.
_TRUNCATED_STDDEV = 0.87962566103423978


class RandomNormal(RandomInitializer):
    """Normal draws with the given mean and standard deviation.

    Args:
        mean: Float, the mean of the draws.
        stddev: Float, their standard deviation.
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape: Shape, dtype: str | None = None):
        shape, dtype = standardize_shape(shape), float_dtype(dtype, type(self).__name__)
        return to_backend(self.mean + self.stddev * self._rng().standard_normal(shape), dtype)

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomNormal):
    """Normal draws, those more than 2 standard deviations from the mean redrawn.

    Args:
        mean: Float, the mean of the normal before truncation.
        stddev: Float, its standard deviation before truncation.
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
    """

    def __call__(self, shape: Shape, dtype: str | None = None):
        shape, dtype = standardize_shape(shape), float_dtype(dtype, type(self).__name__)
        return to_backend(self.mean + self.stddev * truncated_normal(self._rng(), shape), dtype)


class RandomUniform(RandomInitializer):
    """Uniform draws in [minval, maxval).

    Args:
        minval: Float, the lower bound (included).
        maxval: Float, the upper bound (excluded).
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape: Shape, dtype: str | None = None):
        shape, dtype = standardize_shape(shape), float_dtype(dtype, type(self).__name__)
        return to_backend(self._rng().uniform(self.minval, self.maxval, shape), dtype)

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


def compute_fans(shape: Shape, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None) -> tuple[int, int]:
    """(fan_in, fan_out) as Keras computes them.

    A kernel of shape (..., in, out) (Dense (in, out), Conv2D (h, w, in, out)) has
    fan_in = in * receptive field and fan_out = out * receptive field, unless the axes that
    hold the input and output units are given (an EinsumDense kernel, say).

    Args:
        shape: Shape of the weight; a 1-D shape gives (n, n), an empty one (1, 1).
        input_axes: Axes whose sizes multiply to fan_in (with `output_axes`).
        output_axes: Axes whose sizes multiply to fan_out (with `input_axes`).

    Returns:
        The pair `(fan_in, fan_out)` of ints.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[a] for a in input_axes),
                math.prod(shape[a] for a in output_axes))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class VarianceScaling(RandomInitializer):
    """Draws with variance scale / n, n the fan_in, fan_out or their mean.

    Keeping the variance of activations (fan_in) or of gradients (fan_out) constant from layer to
    layer is what lets deep networks train from the start.

    Args:
        scale: Positive float, the numerator of the variance.
        mode: `"fan_in"`, `"fan_out"` or `"fan_avg"`, the n the variance is divided by.
        distribution: `"truncated_normal"` (Keras 2's `"normal"` means this too; rescaled so the
            variance after truncation is the target), `"untruncated_normal"` or `"uniform"`.
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
        input_axes: Axes of the weight that hold its input units, for fan_in (with
            `output_axes`); `None` reads them from the shape (..., in, out).
        output_axes: Axes that hold its output units, for fan_out.
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None,
                 input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None):
        super().__init__(seed)
        self.input_axes, self.output_axes = input_axes, output_axes
        if not scale > 0:
            raise ValueError(f"VarianceScaling: `scale` must be positive, got {scale!r}.")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling: `mode` must be one of {self._MODES}, "
                             f"got {mode!r}.")
        distribution = distribution.lower()
        if distribution == "normal":  # Keras 2's name for it
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: `distribution` must be one of "
                             f"{self._DISTRIBUTIONS}, got {distribution!r}.")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def variance(self, shape: Shape) -> float:
        """The variance of the values this initializer makes for `shape`."""
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        return self.scale / max(1.0, fan)

    def __call__(self, shape: Shape, dtype: str | None = None):
        shape, dtype = standardize_shape(shape), float_dtype(dtype, type(self).__name__)
        variance, rng = self.variance(shape), self._rng()
        if self.distribution == "truncated_normal":
            values = math.sqrt(variance) / _TRUNCATED_STDDEV * truncated_normal(rng, shape)
        elif self.distribution == "untruncated_normal":
            values = math.sqrt(variance) * rng.standard_normal(shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, shape)
        return to_backend(values, dtype)

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config(), **self._axes_config()}

    def _axes_config(self) -> dict[str, Any]:
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """VarianceScaling with fixed settings, configured by its seed alone."""

    _settings: tuple[float, str, str]

    def __init__(self, seed: int | None = None, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None):
        super().__init__(*self._settings, seed=seed, input_axes=input_axes,
                         output_axes=output_axes)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, **self._axes_config()}


class GlorotUniform(_Preset):
    """Uniform in ±sqrt(6 / (fan_in + fan_out)) (Xavier); Dense's default kernel.

    Args:
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
        input_axes: Axes of the weight that hold its input units, for fan_in (with
            `output_axes`); `None` reads them from the shape (..., in, out).
        output_axes: Axes that hold its output units, for fan_out.
    """

    _settings = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Truncated normal with variance 2 / (fan_in + fan_out) (Xavier).

    Args:
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
        input_axes: Axes of the weight that hold its input units, for fan_in (with
            `output_axes`); `None` reads them from the shape (..., in, out).
        output_axes: Axes that hold its output units, for fan_out.
    """

    _settings = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """Uniform in ±sqrt(6 / fan_in): keeps the variance of ReLU activations.

    Args:
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
        input_axes: Axes of the weight that hold its input units, for fan_in (with
            `output_axes`); `None` reads them from the shape (..., in, out).
        output_axes: Axes that hold its output units, for fan_out.
    """

    _settings = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """Truncated normal with variance 2 / fan_in: keeps the variance of ReLU activations.

    Args:
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
        input_axes: Axes of the weight that hold its input units, for fan_in (with
            `output_axes`); `None` reads them from the shape (..., in, out).
        output_axes: Axes that hold its output units, for fan_out.
    """

    _settings = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """Uniform in ±sqrt(3 / fan_in): the start SELU networks assume.

    Args:
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
        input_axes: Axes of the weight that hold its input units, for fan_in (with
            `output_axes`); `None` reads them from the shape (..., in, out).
        output_axes: Axes that hold its output units, for fan_out.
    """

    _settings = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Truncated normal with variance 1 / fan_in: the start SELU networks assume.

    Args:
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
        input_axes: Axes of the weight that hold its input units, for fan_in (with
            `output_axes`); `None` reads them from the shape (..., in, out).
        output_axes: Axes that hold its output units, for fan_out.
    """

    _settings = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """A random orthogonal matrix times `gain` (the last axis against all others flattened).

    Orthogonal recurrent kernels neither shrink nor blow up what they carry across time steps.

    Args:
        gain: Float multiplying the orthogonal matrix.
        seed: Int for the same values on every call (and every backend); `None` takes a fresh seed
            per call from the global generator (see `nhanh.utils.set_random_seed`).
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape: Shape, dtype: str | None = None):
        shape, dtype = standardize_shape(shape), float_dtype(dtype, "Orthogonal")
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank 2 or more, got {shape}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        draws = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(draws)
        q = q * np.sign(np.diag(r))  # makes the decomposition unique, so q is uniform
        if rows < cols:
            q = q.T
        return to_backend(self.gain * q.reshape(shape), dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, **super().get_config()}


OrthogonalInitializer = Orthogonal
