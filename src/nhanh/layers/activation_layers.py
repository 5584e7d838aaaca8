"""The activation layers with arguments of their own: ReLU, LeakyReLU, PReLU, ELU, Softmax.

Each is a thin layer over the function of the same name in nhanh.activations, with Keras 3's
arguments, checks and configs; a mask passes through all of them (Softmax also uses it).
"""

from __future__ import annotations

import numbers
from typing import Sequence

from nhanh import activations, constraints, initializers, ops, regularizers
from nhanh.layers.layer import InputSpec, Layer


def _non_negative(layer: str, name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        none = " or None" if allow_none else ""
        raise ValueError(f"{layer}: `{name}` must be a number >= 0{none}, got {value!r}.")


class ReLU(Layer):
    """Rectified linear unit with Keras 3's options, as a layer.

    Output: `max_value` where x >= max_value, x where threshold <= x < max_value, and
    `negative_slope * (x - threshold)` below the threshold.

    Args:
        max_value: Float >= 0, the cap of the output; `None` for none.
        negative_slope: Float >= 0, the slope below the threshold.
        threshold: Float >= 0; inputs below it take the negative slope.
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).
    """

    supports_masking = True

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        _non_negative("ReLU", "max_value", max_value, allow_none=True)
        _non_negative("ReLU", "negative_slope", negative_slope)
        _non_negative("ReLU", "threshold", threshold)
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """x for x >= 0, negative_slope * x below: a ReLU that keeps a gradient for negatives.

    Args:
        negative_slope: Float >= 0, the slope for negative inputs (Keras 3's default 0.3).
        alpha: Keras 2's name for `negative_slope`; give one or the other.
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).
    """

    supports_masking = True

    def __init__(self, negative_slope: float = 0.3, alpha: float | None = None, **kwargs):
        if alpha is not None:
            if negative_slope != 0.3:
                raise ValueError("LeakyReLU: got both `negative_slope` and `alpha` (Keras 2's "
                                 "name for it); give only negative_slope.")
            negative_slope = alpha
        super().__init__(**kwargs)
        _non_negative("LeakyReLU", "negative_slope", negative_slope)
        self.negative_slope = negative_slope

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Leaky ReLU whose negative slope `alpha` is learned, one per input entry.

    Output: x for x >= 0, alpha * x below. `alpha` has the shape of one sample, with size 1
    on the `shared_axes` (share across space so each channel learns one slope).

    Args:
        alpha_initializer: Initializer of alpha (Keras's default: zeros, a plain ReLU).
        alpha_regularizer: Regularizer of alpha, added to the loss; `None` for none.
        alpha_constraint: Constraint applied to alpha after each update.
        shared_axes: An int or list of ints, the axes (1 = the first after the batch) along
            which alpha is shared, e.g. `[1, 2]` for the height and width of Conv2D outputs.
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).
    """

    supports_masking = True

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes: int | Sequence[int] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(f"PReLU: `shared_axes` must be an int or list of ints >= 1 (axis "
                                 f"1 is the first after the batch axis), got {shared_axes!r}.")
            self.shared_axes = axes

    def build(self, input_shape) -> None:
        rank = len(input_shape)
        shared = set(self.shared_axes or ())
        if shared and max(shared) >= rank:
            raise ValueError(f"PReLU: `shared_axes` {self.shared_axes} name an axis beyond the "
                             f"input's rank {rank} (input shape {tuple(input_shape)}).")
        shape = [1 if axis in shared else input_shape[axis] for axis in range(1, rank)]
        if None in shape:
            raise ValueError(f"PReLU needs the size of every axis it learns a slope for; input "
                             f"shape {tuple(input_shape)} has an unknown one. Put that axis in "
                             "`shared_axes` or give the input a fixed size there.")
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.input_spec = InputSpec(ndim=rank, axes={axis: input_shape[axis]
                                                     for axis in range(1, rank)
                                                     if axis not in shared})

    def call(self, inputs):
        return ops.relu(inputs) - self.alpha.value * ops.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": None if self.alpha_regularizer is None
                else regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": None if self.alpha_constraint is None
                else constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class ELU(Layer):
    """x for x > 0, alpha * (exp(x) - 1) below: smooth, with negative outputs down to -alpha.

    Args:
        alpha: Float, the slope scale of the negative part.
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).
    """

    supports_masking = True

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        # Keras 3 leaves alpha out of the config (so it is lost on reload); nhanh keeps it.
        return {**super().get_config(), "alpha": self.alpha}


def _large_negative(dtype: str) -> float:
    """What masked logits become: far below any real logit, yet finite in the dtype."""
    return -3e4 if dtype == "float16" else -1e9


class Softmax(Layer):
    """Softmax along `axis` (an int, or a list of axes normalized together).

    With a mask (1 or True keeps, 0 or False masks; broadcast against the inputs from the
    right), masked logits are replaced by a large negative number (-1e9; -3e4 for float16)
    before the softmax, and masked outputs are set to 0 after it, as in Keras 3.

    Args:
        axis: Int or list of ints, the axis or axes that sum to 1.
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).
    """

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, tuple) else axis

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = self._check_mask(inputs, mask)
            inputs = ops.where(mask, inputs, _large_negative(ops.dtype(inputs)))
        if isinstance(self.axis, list) and len(self.axis) > 1:
            axes = tuple(self.axis)
            outputs = ops.exp(inputs - ops.logsumexp(inputs, axis=axes, keepdims=True))
        else:
            axis = self.axis[0] if isinstance(self.axis, list) else self.axis
            outputs = activations.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = ops.where(mask, outputs, ops.zeros_like(outputs))
        return outputs

    def _check_mask(self, inputs, mask):
        in_shape, mask_shape = ops.shape(inputs), ops.shape(mask)
        fits = len(mask_shape) <= len(in_shape) and all(
            m in (1, i) for m, i in zip(mask_shape[::-1], in_shape[::-1]))
        if not fits:
            raise ValueError(f"Softmax layer {self.name!r}: the mask must broadcast to the "
                             f"inputs (each of its trailing axes 1 or the inputs' size, no more "
                             f"axes than they have); got inputs of shape {in_shape} and a mask "
                             f"of shape {mask_shape}.")
        if ops.dtype(mask) != "bool":
            mask = ops.greater(mask, 0.5)
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
