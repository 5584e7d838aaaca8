"""HashedCrossing: crosses categorical features with the hashing trick, on the host.

Runs on the host, NumPy in and NumPy out (see `nhanh.layers.host_layer`): call it on a tuple
of lists or NumPy arrays, or apply it in the data pipeline (`BatchedDataset.map(layer)`, a
generator); called eagerly on engine tensors it returns that engine's tensor.

The bins are TensorFlow's `sparse.cross_hashed` (what Keras uses): starting from the key
0xDECAFCAFFE, each feature's hash is folded in with FingerprintCat64, then `% num_bins`; a
string feature's hash is its FarmHash Fingerprint64, an integer feature's hash is the integer
itself (as an unsigned 64-bit value).
"""

from __future__ import annotations

import numpy as np

from nhanh import config
from nhanh.layers.hashing import fingerprint64
from nhanh.layers.host_layer import HostLayer, as_strings, encode

_HASH_KEY = 0xDECAFCAFFE
_MUL = np.uint64(0xC6A4A7935BD1E995)


def _shift_mix(v: np.ndarray) -> np.ndarray:
    return v ^ (v >> np.uint64(47))


def fingerprint_cat64(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """TF's FingerprintCat64 of two uint64 arrays (wrapping 64-bit arithmetic)."""
    with np.errstate(over="ignore"):
        out = first ^ _MUL
        out = out ^ (_shift_mix(second * _MUL) * _MUL)
        out = out * _MUL
        return _shift_mix(_shift_mix(out) * _MUL)


def _feature_hashes(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "iu":
        return values.astype("int64").view("uint64")
    strings = as_strings(values, what="HashedCrossing inputs")
    unique, inverse = np.unique(strings.ravel(), return_inverse=True)
    hashes = np.asarray([fingerprint64(s.encode("utf-8")) for s in unique.tolist()],
                        dtype="uint64")
    return hashes[inverse].reshape(strings.shape)


class HashedCrossing(HostLayer):
    """Crosses two or more scalar categorical features into `num_bins` hashed bins.

    Each input has shape `()`, `(batch,)` or `(batch, 1)` (all the same) and holds strings or
    integers.

    Args:
        num_bins: Number of hash bins.
        output_mode: 'int' (bin indices) or 'one_hot'.
        sparse: Must be False; sparse outputs are not supported.
        name: Layer name.
        dtype: Output dtype (int64 for 'int', floatx for 'one_hot' by default).
    """

    def __init__(self, num_bins: int, output_mode: str = "int", sparse: bool = False,
                 name: str | None = None, dtype=None, **kwargs):
        if output_mode not in ("int", "one_hot"):
            raise ValueError("HashedCrossing: output_mode must be 'int' or 'one_hot', got "
                             f"output_mode={output_mode!r}.")
        if dtype is None:
            dtype = "int64" if output_mode == "int" else config.floatx()
        super().__init__(name=name, dtype=dtype, **kwargs)
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or \
                num_bins <= 0:
            raise ValueError(f"HashedCrossing: num_bins must be a positive int, got "
                             f"num_bins={num_bins!r}.")
        if sparse:
            raise ValueError("HashedCrossing: sparse=True is not supported in nhanh; outputs "
                             "are dense. Use sparse=False.")
        self.num_bins, self.output_mode, self.sparse = int(num_bins), output_mode, False

    def host_call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"Layer {self.name!r} (HashedCrossing) takes a list or tuple of at "
                             f"least two features, got {type(inputs).__name__}.")
        features = [np.asarray(f) if not isinstance(f, np.ndarray) else f for f in inputs]
        shape = features[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(f"Layer {self.name!r} (HashedCrossing): each feature must have "
                             f"shape (), (batch,) or (batch, 1), got {shape}.")
        if any(f.shape != shape for f in features):
            raise ValueError(f"Layer {self.name!r} (HashedCrossing): all features must have "
                             f"the same shape, got {[f.shape for f in features]}.")
        if any(f.dtype.kind not in "iuUSO" for f in features):
            raise ValueError(f"Layer {self.name!r} (HashedCrossing): features must hold "
                             f"integers or strings, got dtypes {[str(f.dtype) for f in features]}.")
        crossed = np.full(shape, _HASH_KEY, dtype="uint64")
        for feature in features:
            crossed = fingerprint_cat64(crossed, _feature_hashes(feature))
        bins = (crossed % np.uint64(self.num_bins)).astype("int64")
        if self.output_mode == "int":
            return bins.astype(self.dtype)
        return encode(bins, "one_hot", self.num_bins, self.dtype)

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) < 2 or \
                not all(isinstance(s, tuple) for s in input_shape):
            raise ValueError("HashedCrossing expects a list/tuple of at least 2 input shapes, "
                             f"got {input_shape}.")
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if first and first[-1] == 1:
            return (*first[:-1], self.num_bins)
        return (*first, self.num_bins)

    def get_config(self) -> dict:
        return {"num_bins": self.num_bins, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype}
