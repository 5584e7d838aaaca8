"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization.

Weight names, shapes and `get_weights()` order follow Keras 3 (gamma, beta, then for batch
normalization moving_mean, moving_variance), so weights saved by Keras load with `set_weights`
and give the same outputs. Statistics are computed in the layer's dtype (float32 by default).
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

from nhanh import config, constraints, initializers, ops, regularizers
from nhanh.distribution import placement
from nhanh.layers.layer import InputSpec, Layer
from nhanh.ops.fused_normalization import batch_norm_training

Axis = int | Sequence[int]


# --- helpers shared by the normalization and preprocessing layers -----------------------------
def canonical_axes(layer: Layer, axis: Axis, shape: Sequence[int | None]) -> list[int]:
    """`axis` (an int or a list) as sorted non-negative indices into `shape`, or a ValueError
    naming the layer, the axis and the shape."""
    rank = len(shape)
    axes = [axis] if isinstance(axis, int) else list(axis)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, int):
            raise TypeError(f"Layer {layer.name!r} ({type(layer).__name__}): axis must be an int "
                            f"or a list of ints, got axis={axis!r}.")
        if not -rank <= a < rank:
            raise ValueError(
                f"Layer {layer.name!r} ({type(layer).__name__}): axis {a} is out of range for "
                f"inputs of rank {rank} (received shape {tuple(shape)}); axis must be in "
                f"[{-rank}, {rank}).")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}): axis {axis!r} names "
                         f"the same axis twice for inputs of shape {tuple(shape)}.")
    return sorted(out)


def known_sizes(layer: Layer, axes: Sequence[int], shape: Sequence[int | None]) -> list[int]:
    """The sizes of `shape` on `axes`, which weights depend on and so must be known."""
    sizes = [shape[a] for a in axes]
    if any(s is None for s in sizes):
        raise ValueError(
            f"Layer {layer.name!r} ({type(layer).__name__}) needs a known size on axis "
            f"{axes if len(axes) > 1 else axes[0]} to create its weights, but received input "
            f"shape {tuple(shape)}.")
    return [int(s) for s in sizes]


def axes_spec(axis: Axis, axes: Sequence[int], sizes: Sequence[int], rank: int) -> InputSpec:
    """An InputSpec fixing the normalized axes' sizes: any rank if every axis was given from
    the end (negative), else exactly the built rank."""
    given = [axis] if isinstance(axis, int) else list(axis)
    if all(a < 0 for a in given):
        return InputSpec(min_ndim=max(-a for a in given),
                         axes={a - rank: s for a, s in zip(axes, sizes)})
    return InputSpec(ndim=rank, axes=dict(zip(axes, sizes)))


def floating(layer: Layer, x):
    """Inputs in the layer's dtype (integer inputs, e.g. pixels, are cast)."""
    return x if ops.dtype(x) == layer.dtype else ops.cast(x, layer.dtype)


def to_compute_dtype(layer: Layer, y):
    """Outputs in the layer's compute dtype (they were computed in its variable dtype)."""
    return y if ops.dtype(y) == layer.compute_dtype else ops.cast(y, layer.compute_dtype)


def _serialized(module, value):
    return None if value is None else module.serialize(value)


class _AffineNormalization(Layer):
    """Shared arguments of the layers that normalize, then scale by gamma and shift by beta."""

    supports_masking = True
    # As in Keras, statistics are computed in the variable dtype (float32 under a mixed
    # policy: float16 sums overflow) and only the output is in the compute dtype; the
    # weights are read as stored. LayerNormalization and GroupNormalization take their
    # inputs uncast too; BatchNormalization casts them (Keras's choices).
    autocast = False

    def __init__(self, epsilon: float, center: bool, scale: bool, beta_initializer,
                 gamma_initializer, beta_regularizer, gamma_regularizer, beta_constraint,
                 gamma_constraint, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or epsilon < 0:
            raise ValueError(f"{type(self).__name__}: epsilon must be a non-negative float, "
                             f"got epsilon={epsilon!r}.")
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = self.beta = None

    def _add_affine(self, shape: tuple, gamma: bool, beta: bool) -> None:
        if gamma:
            self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, autocast=False)
        if beta:
            self.beta = self.add_weight(shape, self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, autocast=False)

    def _affine_config(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": _serialized(regularizers, self.beta_regularizer),
                "gamma_regularizer": _serialized(regularizers, self.gamma_regularizer),
                "beta_constraint": _serialized(constraints, self.beta_constraint),
                "gamma_constraint": _serialized(constraints, self.gamma_constraint)}

    def _normalize(self, x, mean, variance, broadcast_shape):
        """(x - mean) / sqrt(variance + epsilon) * gamma + beta, folded into one multiply-add."""
        inv = ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * ops.reshape(self.gamma.value, broadcast_shape)
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + ops.reshape(self.beta.value, broadcast_shape)
        return to_compute_dtype(self, x * inv + shift)


class BatchNormalization(_AffineNormalization):
    """Normalizes each feature with the batch's statistics while training, and with moving
    averages of them (updated on each training call) in inference.

    `moving = moving * momentum + batch_statistic * (1 - momentum)` (Keras's convention: a
    momentum near 1 moves slowly; PyTorch's `momentum` is `1 - ` this one), with the biased
    batch variance. The updates go through `Variable.assign`, so they are recorded by the
    training step's StatelessScope. A layer with `trainable=False` runs in inference mode, as in
    Keras. A mask of shape `inputs.shape[:-1]` leaves masked positions out of the batch
    statistics (channels-last inputs). Without a mask, and with the batch on one process,
    training goes through `batch_norm_training`: PyTorch's fused kernel for the statistics, the
    outputs and their gradients (about 1.5x faster than the ops written out).

    Args:
        axis: Int, the features axis (usually the channels); statistics are taken over every other
            axis.
        momentum: Float in [0, 1], how much of the old moving averages each update keeps.
        epsilon: Small float added to the variance to avoid dividing by zero.
        center: If True, add the learned offset `beta`.
        scale: If True, multiply by the learned `gamma`.
        beta_initializer: Initializer of `beta`.
        gamma_initializer: Initializer of `gamma`.
        moving_mean_initializer: Initializer of the moving mean.
        moving_variance_initializer: Initializer of the moving variance.
        beta_regularizer: Regularizer of `beta`, added to the loss.
        gamma_regularizer: Regularizer of `gamma`, added to the loss.
        beta_constraint: Constraint applied to `beta` after each update.
        gamma_constraint: Constraint applied to `gamma` after each update.
        synchronized: Must be False: cross-device synchronized statistics are not supported (True
            raises).
        renorm: Must be False: batch renormalization is not implemented (True raises).
        renorm_clipping: Accepted for Keras compatibility and ignored (only stored in the config).
        renorm_momentum: Accepted for Keras compatibility and ignored (only stored in the config).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    autocast = True  # inputs in the compute dtype first, then float32 (its weights: as stored)

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized: bool = False, renorm: bool = False, renorm_clipping=None,
                 renorm_momentum: float = 0.99, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"BatchNormalization: axis must be an int (the features axis), "
                            f"got axis={axis!r}.")
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got "
                             f"momentum={momentum!r}.")
        if synchronized:
            raise ValueError("BatchNormalization: synchronized=True is only meaningful with "
                             "TensorFlow's distribution strategies; nhanh does not support it. "
                             "Use synchronized=False.")
        if renorm:
            raise NotImplementedError("BatchNormalization: batch renormalization (renorm=True) "
                                      "is not implemented in nhanh; use renorm=False.")
        self.axis, self.momentum = axis, float(momentum)
        self.synchronized, self.renorm = False, False
        self.renorm_clipping, self.renorm_momentum = renorm_clipping, renorm_momentum
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.moving_mean = self.moving_variance = None

    def build(self, input_shape) -> None:
        (axis,) = canonical_axes(self, self.axis, input_shape)
        (dim,) = known_sizes(self, [axis], input_shape)
        self._add_affine((dim,), self.scale, self.center)
        self.moving_mean = self.add_weight((dim,), self.moving_mean_initializer,
                                           trainable=False, name="moving_mean", autocast=False)
        self.moving_variance = self.add_weight((dim,), self.moving_variance_initializer,
                                               trainable=False, name="moving_variance",
                                               autocast=False)
        rank = len(input_shape)
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: dim})
        self._reduction_axes = tuple(i for i in range(rank) if i != axis)
        self._broadcast_shape = tuple(dim if i == axis else 1 for i in range(rank))

    def call(self, inputs, training=None, mask=None):
        x = floating(self, inputs)
        outputs = None
        if training and self.trainable:
            if mask is None and not placement.batch_split_over_processes():
                # one fused kernel on PyTorch (statistics, outputs and their gradients)
                outputs, mean, variance = batch_norm_training(
                    x, self.axis, self.gamma, self.beta, self.epsilon)
            else:
                mean, variance = self._moments(x, mask)
            keep = self.momentum
            self.moving_mean.assign(self.moving_mean.value * keep
                                    + ops.stop_gradient(mean) * (1.0 - keep))
            self.moving_variance.assign(self.moving_variance.value * keep
                                        + ops.stop_gradient(variance) * (1.0 - keep))
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
        if outputs is not None:
            return to_compute_dtype(self, outputs)
        shape = self._broadcast_shape
        return self._normalize(x, ops.reshape(mean, shape), ops.reshape(variance, shape), shape)

    def _moments(self, x, mask):
        """The batch mean and (biased) variance per feature, over unmasked positions only, and
        over every process's rows when the batch is split (call() takes batch_norm_training
        otherwise)."""
        axes = self._reduction_axes
        if mask is None:
            weight = ops.ones_like(x)
        else:
            if ops.ndim(mask) != ops.ndim(x) - 1:
                raise ValueError(
                    f"Layer {self.name!r} (BatchNormalization): the mask must have one axis "
                    f"less than the inputs (one flag per feature vector), but received mask "
                    f"shape {ops.shape(mask)} for inputs of shape {ops.shape(x)}.")
            keep = ops.broadcast_to(ops.expand_dims(ops.cast(mask, "bool"), -1), ops.shape(x))
            weight = ops.cast(keep, ops.dtype(x))
        total = placement.sum_over_replicas  # the global batch's sums when it is split
        count = total(ops.sum(weight, axis=axes, keepdims=True)) + config.epsilon()
        mean = total(ops.sum(x * weight, axis=axes, keepdims=True)) / count
        variance = total(ops.sum(ops.square(x - mean) * weight, axis=axes, keepdims=True)) / count
        dim = self.moving_mean.shape
        return ops.reshape(mean, dim), ops.reshape(variance, dim)

    def compute_output_shape(self, input_shape):
        canonical_axes(self, self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                **self._affine_config(),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(
                    self.moving_variance_initializer),
                "synchronized": self.synchronized, "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum}


class LayerNormalization(_AffineNormalization):
    """Normalizes each sample over `axis` (by default its features) with its own mean and
    variance, then scales by gamma and shifts by beta (both of the normalized axes' shape).

    `rms_scaling=True` is Keras's deprecated mode, kept so Keras models give the same numbers:
    it divides by sqrt(variance + epsilon) without subtracting the mean and has no beta. It is
    not RMS normalization (which divides by the root mean square).

    Args:
        axis: Int or list of ints, the axes normalized over (and the shape of gamma and beta).
        epsilon: Small float added to the variance to avoid dividing by zero.
        center: If True, add the learned offset `beta`.
        scale: If True, multiply by the learned `gamma`.
        rms_scaling: If True, use Keras's deprecated mode described above (gamma only).
        beta_initializer: Initializer of `beta`.
        gamma_initializer: Initializer of `gamma`.
        beta_regularizer: Regularizer of `beta`, added to the loss.
        gamma_regularizer: Regularizer of `gamma`, added to the loss.
        beta_constraint: Constraint applied to `beta` after each update.
        gamma_constraint: Constraint applied to `gamma` after each update.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, axis: Axis = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, rms_scaling: bool = False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        self.axis = _axis_argument(self, axis)
        self.rms_scaling = bool(rms_scaling)
        if self.rms_scaling:
            warnings.warn("LayerNormalization(rms_scaling=True) follows Keras's deprecated mode: "
                          "it scales by the variance, not the root mean square.", stacklevel=2)

    def build(self, input_shape) -> None:
        axes = canonical_axes(self, self.axis, input_shape)
        sizes = known_sizes(self, axes, input_shape)
        self._add_affine(tuple(sizes), self.scale or self.rms_scaling,
                         self.center and not self.rms_scaling)
        self.input_spec = axes_spec(self.axis, axes, sizes, len(input_shape))

    def call(self, inputs):
        x = floating(self, inputs)
        shape = ops.shape(x)
        axes = tuple(canonical_axes(self, self.axis, shape))
        if not self.rms_scaling:  # (PyTorch's fused kernel where the axes are the last ones)
            return to_compute_dtype(self, ops.layer_normalization(
                x, self.gamma, self.beta, axis=axes, epsilon=self.epsilon))
        broadcast = tuple(d if i in axes else 1 for i, d in enumerate(shape))
        out = x * ops.rsqrt(ops.var(x, axis=axes, keepdims=True) + self.epsilon)
        return to_compute_dtype(self, out * ops.reshape(self.gamma.value, broadcast))

    def compute_output_shape(self, input_shape):
        canonical_axes(self, self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, **self._affine_config(),
                "rms_scaling": self.rms_scaling}


class GroupNormalization(_AffineNormalization):
    """Splits the channels (`axis`) into `groups` contiguous groups and normalizes each sample
    over each group (with all other non-batch axes). groups=-1 is instance normalization,
    groups=1 layer normalization over all non-batch axes.

    Args:
        groups: Positive int dividing the number of channels, or -1 for one group per channel.
        axis: Int, the channels axis.
        epsilon: Small float added to the variance to avoid dividing by zero.
        center: If True, add the learned offset `beta`.
        scale: If True, multiply by the learned `gamma`.
        beta_initializer: Initializer of `beta`.
        gamma_initializer: Initializer of `gamma`.
        beta_regularizer: Regularizer of `beta`, added to the loss.
        gamma_regularizer: Regularizer of `gamma`, added to the loss.
        beta_constraint: Constraint applied to `beta` after each update.
        gamma_constraint: Constraint applied to `gamma` after each update.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        if isinstance(groups, bool) or not isinstance(groups, int) or (
                groups <= 0 and groups != -1):
            raise ValueError("GroupNormalization: groups must be a positive integer (or -1 for "
                             f"instance normalization), got groups={groups!r}.")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"GroupNormalization: axis must be an int (the channels axis), got "
                            f"axis={axis!r}.")
        self.groups, self.axis = groups, axis

    def build(self, input_shape) -> None:
        (axis,) = canonical_axes(self, self.axis, input_shape)
        if axis == 0:
            raise ValueError(f"Layer {self.name!r} (GroupNormalization): axis {self.axis} is the "
                             f"batch axis of input shape {tuple(input_shape)}; give the channels "
                             "axis instead.")
        (dim,) = known_sizes(self, [axis], input_shape)
        groups = dim if self.groups == -1 else self.groups
        if groups > dim or dim % groups:
            raise ValueError(
                f"Layer {self.name!r} (GroupNormalization): {dim} channels (axis {self.axis} of "
                f"input shape {tuple(input_shape)}) cannot be split into {groups} equal groups; "
                "choose groups that divides the number of channels.")
        self._groups, self._axis = groups, axis
        self._add_affine((dim,), self.scale, self.center)
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: dim})

    def call(self, inputs):
        x = floating(self, inputs)
        shape, axis, groups = ops.shape(x), self._axis, self._groups
        grouped = (*shape[:axis], groups, shape[axis] // groups, *shape[axis + 1:])
        x = ops.reshape(x, grouped)
        axes = tuple(i for i in range(1, len(grouped)) if i != axis)
        mean = ops.mean(x, axis=axes, keepdims=True)
        variance = ops.var(x, axis=axes, keepdims=True)
        broadcast = tuple(grouped[i] if i in (axis, axis + 1) else 1 for i in range(len(grouped)))
        return ops.reshape(self._normalize(x, mean, variance, broadcast), shape)

    def compute_output_shape(self, input_shape):
        canonical_axes(self, self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                **self._affine_config()}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis`: x / max(||x||, 1e-12).

    Args:
        axis: Int or list of ints, the axes whose norm is made 1.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, axis: Axis = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_argument(self, axis)

    def call(self, inputs):
        x = floating(self, inputs)
        axes = tuple(canonical_axes(self, self.axis, ops.shape(x)))
        squares = ops.sum(ops.square(x), axis=axes, keepdims=True)
        # max(squares, eps**2) rather than max(norm, eps): same values, and a finite gradient
        # at an all-zero sample.
        return x * ops.rsqrt(ops.maximum(squares, 1e-24))

    def compute_output_shape(self, input_shape):
        canonical_axes(self, self.axis, input_shape)
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def _axis_argument(layer: Layer, axis: Axis) -> int | list[int]:
    if isinstance(axis, (list, tuple)) and axis and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return list(axis)
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    raise TypeError(f"{type(layer).__name__}: axis must be an int or a non-empty list of ints, "
                    f"got axis={axis!r}.")
