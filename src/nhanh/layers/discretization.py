"""Discretization: continuous values to bin indices, with bins given or learned by `adapt()`.

Called on host data (lists, NumPy arrays) it computes with NumPy and returns NumPy, like the
other preprocessing layers that run on the host (`BatchedDataset.map(layer)`, generators).
Unlike them it also runs on the device: called on an engine's tensor, or inside a model, it
compares against the boundaries with `nhanh.ops`, so it compiles into the training step.

`adapt()` learns quantile boundaries with Keras's approximate summary, step for step, so the
boundaries equal Keras's on the same batches: each batch is sorted and thinned to about
1/epsilon weighted points, merged with the running summary, re-thinned by interpolating the
cumulative weights, and finally read at the 1/num_bins quantiles. They are approximate: on
data small enough to be kept whole (fewer than 1/epsilon points per batch) they are
interpolated quantiles of the data, elsewhere they can be off by about epsilon in rank.
"""

from __future__ import annotations

import numpy as np

from nhanh import ops
from nhanh.layers import symbolic
from nhanh.layers.host_layer import adapt_batches, encode, encoded_shape
from nhanh.layers.layer import Layer


class Discretization(Layer):
    """Buckets values by ranges: with boundaries [b0, b1, ...], bin i holds b(i-1) <= x < b(i)
    (the outer bins reach -inf and +inf).

    Args:
        bin_boundaries: Sorted boundaries; then do not call `adapt()`.
        num_bins: How many bins `adapt()` learns (give this or `bin_boundaries`).
        epsilon: Error tolerance of adapt's quantile summary (smaller is more exact).
        output_mode: 'int' (bin indices), 'one_hot', 'multi_hot' or 'count'.
        sparse: Must be False; sparse outputs are not supported.
        dtype: Dtype of the inputs and of the encoded outputs (floatx by default).
        name: Layer name.
    """

    def __init__(self, bin_boundaries=None, num_bins: int | None = None, epsilon: float = 0.01,
                 output_mode: str = "int", sparse: bool = False, dtype=None, name=None,
                 **kwargs):
        super().__init__(dtype=dtype, name=name, **kwargs)
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError("Discretization: output_mode must be 'int', 'one_hot', "
                             f"'multi_hot' or 'count', got output_mode={output_mode!r}.")
        if sparse:
            raise ValueError("Discretization: sparse=True is not supported in nhanh; outputs "
                             "are dense. Use sparse=False.")
        if num_bins is not None and (isinstance(num_bins, bool) or num_bins < 0):
            raise ValueError(f"Discretization: num_bins must be an int >= 0, got "
                             f"num_bins={num_bins!r}.")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Discretization: give either num_bins (and adapt()) or "
                             f"bin_boundaries, not both; got num_bins={num_bins!r} and "
                             f"bin_boundaries={bin_boundaries!r}.")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization: give num_bins (then call adapt()) or "
                             "bin_boundaries.")
        if bin_boundaries is not None:
            bin_boundaries = [float(b) for b in bin_boundaries]
            if any(b > a for b, a in zip(bin_boundaries, bin_boundaries[1:])):
                raise ValueError("Discretization: bin_boundaries must be sorted ascending, got "
                                 f"{bin_boundaries}.")
        self.bin_boundaries, self.num_bins = bin_boundaries, num_bins
        self.epsilon, self.output_mode, self.sparse = epsilon, output_mode, False
        self.summary = None if bin_boundaries else _empty_summary()

    # --- adapt ---------------------------------------------------------------------------
    def adapt(self, data, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn `num_bins` quantile boundaries from an array or an iterable of batches."""
        if self.num_bins is None:
            raise ValueError(f"Layer {self.name!r} (Discretization) was given bin_boundaries; "
                             "adapt() learns them only for a layer made with num_bins.")
        self.summary = _empty_summary()
        for batch in adapt_batches(data, batch_size, steps, "Discretization"):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data) -> None:
        batch = _summarize(np.asarray(data, dtype="float32"), self.epsilon)
        merged = np.concatenate([batch, self.summary], axis=1)
        merged = merged[:, np.argsort(merged[0])]
        self.summary = _compress(merged, self.epsilon)

    def finalize_state(self) -> None:
        if self.num_bins is not None:
            self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self) -> None:
        if self.num_bins is not None:
            self.summary = _empty_summary()

    # --- calling -------------------------------------------------------------------------
    def _boundaries(self) -> list:
        if self.bin_boundaries is None:
            raise ValueError(f"Layer {self.name!r} (Discretization) has no bin boundaries yet: "
                             "give bin_boundaries, or call adapt() before calling it.")
        return self.bin_boundaries

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, (list, tuple, np.ndarray, float, int, np.generic)) and \
                not symbolic.is_symbolic(inputs):  # host data stays on the host
            self.built = True
            boundaries = self._boundaries()
            indices = np.digitize(np.asarray(inputs, dtype=self.dtype), boundaries)
            if self.output_mode == "int":
                return indices.astype("int32")
            return encode(indices, self.output_mode, len(boundaries) + 1, self.dtype)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs):
        boundaries = self._boundaries()
        depth = len(boundaries) + 1
        x = ops.cast(inputs, self.dtype)
        edges = ops.convert_to_tensor(np.asarray(boundaries, dtype=self.dtype))
        indices = ops.sum(ops.cast(ops.expand_dims(x, -1) >= edges, "int32"), axis=-1)
        if self.output_mode == "int":
            return indices
        if ops.ndim(indices) == 0:
            indices = ops.reshape(indices, (1,))
        shape = ops.shape(indices)
        if self.output_mode == "one_hot" and len(shape) > 1 and shape[-1] == 1:
            indices = ops.reshape(indices, shape[:-1])
        hot = ops.cast(ops.equal(ops.expand_dims(indices, -1),
                                 ops.arange(depth, dtype="int32")), self.dtype)
        if self.output_mode == "one_hot":
            return hot
        if self.output_mode == "multi_hot":
            return ops.max(hot, axis=-2)
        return ops.sum(hot, axis=-2)

    def compute_output_shape(self, input_shape):
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None \
            else self.num_bins
        return encoded_shape(input_shape, self.output_mode, depth)

    def get_config(self) -> dict:
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config_: dict) -> "Discretization":
        config_ = dict(config_)
        boundaries = config_.get("bin_boundaries")
        if boundaries is not None and config_.get("num_bins") is not None:
            del config_["bin_boundaries"]  # an adapted layer: num_bins, then its boundaries
            layer = cls(**config_)
            layer.bin_boundaries = list(boundaries)
            return layer
        return cls(**config_)


def _empty_summary() -> np.ndarray:
    return np.zeros((2, 0), dtype="float32")


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """Rows (values, weights): every step-th sorted value, each standing for `step` values,
    where step = n * epsilon (at least 1)."""
    ordered = np.sort(values.reshape(-1))
    step = max(ordered.size * epsilon, 1)
    kept = ordered[int(step - 1)::int(step)]
    return np.stack([kept, np.ones_like(kept) * step])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Re-thin a sorted weighted summary to the points at cumulative-weight fractions
    epsilon, 2 epsilon, ..., 1 (unchanged when it has fewer than 1/epsilon points)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    at = np.interp(fractions, cumulative / cumulative[-1], summary[0])
    weight_at = np.interp(fractions, cumulative / cumulative[-1], cumulative)
    return np.stack([at, np.diff(weight_at, prepend=0.0)]).astype("float32")
