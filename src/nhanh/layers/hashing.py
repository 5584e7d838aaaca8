"""Hashing: categorical values (strings, ints) to bins by a stable hash, on the host.

Runs on the host, NumPy in and NumPy out (see `nhanh.layers.host_layer`): call it on lists or
NumPy arrays, or apply it in the data pipeline (`BatchedDataset.map(layer)`, a generator);
called eagerly on an engine's tensor it returns that engine's tensor.

The bins are Keras's (TensorFlow's) bins, so a model trained with Keras hashes the same way:
- without a salt, FarmHash Fingerprint64 of the value's bytes (TF's `to_hash_bucket_fast`),
  from the `pyfarmhash` package (Google's FarmHash bindings);
- with a salt, keyed SipHash-2-4 with the two salt words as the 128-bit key, little-endian
  (TF's `to_hash_bucket_strong`), from the `siphash24` package;
then `hash % bins` on the unsigned 64-bit value. Integers are hashed as their decimal text and
floats are first truncated to integers, as TF does.
"""

from __future__ import annotations

import struct

import numpy as np

from nhanh import config
from nhanh.layers.host_layer import HostLayer, as_strings, encode, encoded_shape

_UINT64 = (1 << 64) - 1


def _packages():
    try:
        import farmhash
        import siphash24
    except ImportError:
        raise ImportError("Hashing, HashedCrossing and the lookup layers' OOV buckets need the "
                          "`pyfarmhash` and `siphash24` packages (TF-compatible FarmHash and "
                          "SipHash): run `pip install pyfarmhash siphash24`.") from None
    return farmhash, siphash24


def fingerprint64(data: bytes) -> int:
    """FarmHash Fingerprint64 of `data`, as an unsigned int (TF's `Fingerprint64`)."""
    return _packages()[0].fingerprint64(data)


def siphash64(data: bytes, key: tuple[int, int]) -> int:
    """SipHash-2-4 of `data` under the 128-bit key (k0, k1), as an unsigned int."""
    digest = _packages()[1].siphash24(data, key=struct.pack("<QQ", key[0] & _UINT64,
                                                            key[1] & _UINT64)).digest()
    return int.from_bytes(digest, "little")


def hash_to_bins(values, num_bins: int, salt: tuple[int, int] | None = None,
                 encoding: str = "utf-8") -> np.ndarray:
    """int64 bins in [0, num_bins) of an array of strings, bytes, ints or floats."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        array = array.astype("int64")
    if array.dtype.kind in "iub":
        keys = array.astype("int64")
        to_bytes = lambda v: str(int(v)).encode()  # noqa: E731
    else:
        keys = as_strings(array, encoding)
        to_bytes = lambda v: str(v).encode(encoding)  # noqa: E731
    unique, inverse = np.unique(keys.ravel(), return_inverse=True)
    if salt is None:
        hashes = [fingerprint64(to_bytes(v)) % num_bins for v in unique]
    else:
        hashes = [siphash64(to_bytes(v), salt) % num_bins for v in unique]
    return np.asarray(hashes, dtype="int64")[inverse].reshape(array.shape)


def canonical_salt(salt, layer: str) -> list[int] | None:
    """Keras's salt forms: None, one int (used for both key words), or two ints."""
    if salt is None:
        return None
    if isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    if isinstance(salt, (list, tuple)) and len(salt) == 2 and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in salt):
        return [int(s) for s in salt]
    raise ValueError(f"{layer}: salt must be None, an int, or a list/tuple of 2 ints, got "
                     f"salt={salt!r}.")


class Hashing(HostLayer):
    """Hashes strings or integers into `num_bins` bins (Keras's FarmHash/SipHash bins).

    Args:
        num_bins: Number of bins, including the mask bin when `mask_value` is set.
        mask_value: A value mapped to bin 0 (the others then share bins 1..num_bins-1);
            `None` for no mask bin.
        salt: `None` (FarmHash64), or an int / 2 ints: the key of SipHash64.
        output_mode: `"int"` (bin indices), `"one_hot"`, `"multi_hot"` or `"count"`.
        sparse: Must be False; sparse outputs are not supported.
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).
    """

    def __init__(self, num_bins: int, mask_value=None, salt=None, output_mode: str = "int",
                 sparse: bool = False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else config.floatx()
        super().__init__(**kwargs)
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or \
                num_bins <= 0:
            raise ValueError(f"Hashing: num_bins must be a positive int, got "
                             f"num_bins={num_bins!r}.")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError("Hashing: output_mode must be 'int', 'one_hot', 'multi_hot' or "
                             f"'count', got output_mode={output_mode!r}.")
        if output_mode == "int" and "int" not in self.dtype:
            raise ValueError(f"Hashing: with output_mode='int' the dtype must be an integer "
                             f"type ('int32' or 'int64'), got dtype={self.dtype!r}.")
        if sparse:
            raise ValueError("Hashing: sparse=True is not supported in nhanh; outputs are "
                             "dense. Use sparse=False.")
        self.num_bins, self.mask_value, self.output_mode = int(num_bins), mask_value, output_mode
        self.sparse = False
        self.salt = canonical_salt(salt, "Hashing")
        self.strong_hash = self.salt is not None

    def host_call(self, inputs):
        values = np.asarray(inputs) if not isinstance(inputs, np.ndarray) else inputs
        if values.dtype.kind == "O" or values.dtype.kind == "S":
            values = as_strings(values)
        bins, mask = self.num_bins, None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = values == self.mask_value
        out = hash_to_bins(values, bins, self.salt)
        if mask is not None:
            out = np.where(mask, 0, out + 1)
        if self.output_mode == "int":
            return out.astype(self.dtype)
        return encode(out, self.output_mode, self.num_bins, self.dtype)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode,
                "sparse": self.sparse}
