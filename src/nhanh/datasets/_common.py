"""What the dataset loaders share: fetching a published file, and reading pickles safely.

Pickles (CIFAR's batches, the object arrays inside imdb.npz and reuters.npz) are read only from a
file whose hash has just matched the published one: `fetch_verified` refuses to run without a
hash, and `get_file` checks it on every call, for a cached file too, before returning the path.
The unpickler is restricted as well (numpy arrays and plain containers, nothing else), so even a
file that passed its hash cannot run code.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

from nhanh.utils.file_utils import get_file

GCS_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct

# What an array pickle may name (numpy 1 and 2 spell the module differently).
_ALLOWED = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
            ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct}


class SafeUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, lists, dicts, strings and numbers; refuses any other global."""

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"Refusing to unpickle `{module}.{name}` from a dataset file: only numpy arrays "
                f"are expected. The file is corrupted or malicious; delete it from the cache."
            ) from None


def fetch_verified(folder: str, remote_name: str, file_hash: str | None,
                   fname: str | None = None, **kwargs) -> str:
    """get_file for `folder + remote_name`, which must have a published hash to check."""
    if not file_hash:
        raise ValueError(f"No published hash for {remote_name}: refusing to read pickled data "
                         f"from a file that cannot be verified.")
    return get_file(fname or remote_name, origin=folder + remote_name, file_hash=file_hash,
                    **kwargs)


def _read_npy(fp: io.BytesIO) -> np.ndarray:
    version = np.lib.format.read_magic(fp)
    read_header = (np.lib.format.read_array_header_1_0 if version[0] == 1
                   else np.lib.format.read_array_header_2_0)  # 3.0 differs only in encoding
    _, _, dtype = read_header(fp)
    if not dtype.hasobject:
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    array = SafeUnpickler(fp).load()
    if not isinstance(array, np.ndarray):
        raise ValueError(f"Expected a pickled numpy array in the .npy member, found "
                         f"{type(array).__name__}.")
    return array


def load_npz(path: str) -> dict[str, np.ndarray]:
    """np.load(path, allow_pickle=True) for a verified file, with `SafeUnpickler` for objects."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".npy"):
                with archive.open(name) as member:
                    arrays[name[:-4]] = _read_npy(io.BytesIO(member.read()))
    return arrays


def load_npz_plain(path: str, *keys: str) -> list[np.ndarray]:
    """The named arrays of a numeric .npz, with pickles refused outright."""
    with np.load(path, allow_pickle=False) as f:
        return [f[k] for k in keys]


def check_test_split(test_split) -> None:
    if not 0 <= test_split < 1:
        raise ValueError(f"`test_split` must be in [0, 1): the fraction of samples kept for "
                         f"testing; got {test_split!r}.")


def shuffled(rng: np.random.RandomState, *arrays: np.ndarray) -> list[np.ndarray]:
    """The arrays in one permutation, `rng.shuffle` of their indices (Keras's order)."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return [a[indices] for a in arrays]


def split_at(fraction_train: float, x: np.ndarray, y: np.ndarray):
    cut = int(len(x) * fraction_train)
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))
