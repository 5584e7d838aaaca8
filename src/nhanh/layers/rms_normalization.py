"""RMSNormalization: scale by the root mean square over some axes, no centring (Zhang and
Sennrich, 2019), as in Keras 3: outputs = x * rsqrt(mean(x**2) + epsilon) * scale.

Keras multiplies by `scale` as it is, which broadcasts only when the normalized axes are the
last ones; here the scale is reshaped to line up with its axes wherever they are, so the same
weights give Keras's numbers where Keras works and the right numbers where it would not.
"""

from __future__ import annotations

from typing import Sequence

from nhanh import ops
from nhanh.layers.layer import Layer
from nhanh.layers.normalization import axes_spec, canonical_axes, known_sizes


class RMSNormalization(Layer):
    """Divides inputs by their root mean square over `axis`, then multiplies by a learned
    `scale` (ones at first): cheaper than LayerNormalization and as good in transformers.

    Args:
        axis: Int or list of ints, the axes the mean square is taken over (and `scale` spans).
        epsilon: Small float added to the mean square, so zero inputs give zeros, not NaN.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon = axis, float(epsilon)
        self.scale = None

    def build(self, input_shape) -> None:
        axes = canonical_axes(self, self.axis, input_shape)
        sizes = known_sizes(self, axes, input_shape)
        rank = len(input_shape)
        self.scale = self.add_weight(tuple(sizes), "ones", name="scale")
        self.input_spec = axes_spec(self.axis, axes, sizes, rank)
        self._axes = tuple(axes)
        # Keras keeps a list of axes once built (sorted, as given), and says so in its config.
        self.axis = sorted(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]

    def call(self, inputs):
        dtype = ops.dtype(inputs)
        x = inputs if dtype in ("float32", "float64") else ops.cast(inputs, "float32")
        rank = len(x.shape)
        axes = tuple(a % rank for a in self._axes)
        inv_rms = ops.rsqrt(ops.mean(ops.square(x), axis=axes, keepdims=True) + self.epsilon)
        shape = tuple(x.shape[a] if a in axes else 1 for a in range(rank))
        scale = ops.reshape(ops.cast(self.scale.value, ops.dtype(x)), shape)
        outputs = x * inv_rms * scale
        return outputs if ops.dtype(outputs) == dtype else ops.cast(outputs, dtype)

    def compute_output_shape(self, input_shape):
        canonical_axes(self, self.axis, input_shape)  # an axis out of range fails here
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}

