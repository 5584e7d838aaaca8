"""HDF5 weight storage in Keras 3's layout, and a reader that trusts nothing in the file.

Layout (Keras 3's `.weights.h5`, also `model.weights.h5` inside a `.keras` archive): every object
with variables has a group `<keras path>/vars` (the root object's is plain `vars`) carrying an
attribute `name`, holding one dataset per variable named "0", "1", ... in the object's variable
order. bfloat16 variables are stored as 2-byte HDF5 opaque data with an attribute
`dtype="bfloat16"`, exactly as Keras 3 writes them, so each library reads the other's files.

Reading a file from a stranger (CVE-2026-1669, CVE-2026-0897 and their relatives): `H5Reader`
walks the whole object tree once when it opens, before any data is read, and refuses the file
when any object could make reading touch something outside the file or allocate memory the file
does not pay for:

- links other than hard links (soft, external, user-defined), and any object reached twice
  (hard-link cycles or aliases), so the walk is finite and every object has one path;
- datasets with external storage (their bytes live in another file: CVE-2026-1669), virtual
  datasets (their bytes come from other datasets or files), committed datatypes, named
  datatype objects, and dtypes that are not plain numbers (only bool, (u)int8-64, float16/32/64,
  complex64/128, and Keras's opaque bfloat16);
- paths deeper than `MAX_DEPTH` components, or more than `MAX_OBJECTS` objects;
- the size rule (CVE-2026-0897, shape and decompression bombs): a dataset may declare at most
  `stored + SLACK_BYTES` bytes when it has no filters, and `stored * MAX_INFLATION + SLACK_BYTES`
  when it is chunked and compressed with gzip or lzf (no other filter is accepted), where
  `stored` is the storage HDF5 reports for it and must itself fit in the file. Genuine
  weights are written in full (declared == stored); only never-written datasets read as fill
  values, and those are allowed only when small. DEFLATE cannot expand more than about 1032:1,
  so `MAX_INFLATION = 1100` refuses only what no real compressor produced. A chunk may not be
  larger than its dataset plus `SLACK_BYTES`, since reading one chunk inflates all of it.

Attributes are never read, except a dataset's `dtype` tag (at most 64 bytes); HDF5 keeps
attribute data uncompressed in the file, so opening one costs at most the file's own size.
`count` accepts a vars group only when it holds datasets named exactly "0".."n-1" and nothing
else. `read` then checks each dataset's shape against the variable before reading it, and its
dtype for a safe conversion (never float -> int, never out-of-range ints), so the model,
which knows what it needs, has the last word: a file can never make nhanh allocate more than
the variables it is loading into.
"""

from __future__ import annotations

import math
import os
from typing import Any, BinaryIO, Iterable

import h5py
import numpy as np

from nhanh.saving.archive import source_size

MAX_DEPTH = 64
MAX_OBJECTS = 1_000_000
SLACK_BYTES = 64 * 1024
MAX_INFLATION = 1100
ALIGNMENT = 64  # bytes; what XLA needs to use a host buffer without copying it
ALIGN_FROM = 1 << 16  # smaller datasets are read as they come
# HDF5 filter ids accepted on chunked datasets: gzip, shuffle, fletcher32, lzf.
ALLOWED_FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}
_ITEMSIZES = {"b": (1,), "i": (1, 2, 4, 8), "u": (1, 2, 4, 8), "f": (2, 4, 8), "c": (8, 16)}
_FIX = "Load only files saved by nhanh or Keras 3, or save the weights again from the source model."


def _bfloat16():
    try:
        import ml_dtypes
    except ImportError as e:  # ml_dtypes comes with jax; a torch-only install may lack it
        raise ImportError("Reading or writing bfloat16 weights needs the `ml_dtypes` package: "
                          "`pip install ml_dtypes`.") from e
    return np.dtype(ml_dtypes.bfloat16)


def _target_dtype(dtype: Any) -> np.dtype:
    if str(dtype) == "bfloat16":
        return _bfloat16()
    return np.dtype(dtype)


def _vars_group(path: str) -> str:
    return f"{path}/vars" if path else "vars"


def _check_path(path: str) -> None:
    if not isinstance(path, str) or path.startswith("/") or (path and any(
            p in ("", ".", "..") for p in path.split("/"))):
        raise ValueError(f"`path` must be a Keras variable path such as 'layers/dense' (or '' "
                         f"for the root object), with no empty, '.' or '..' parts; got {path!r}.")


class _Refused(ValueError):
    """The file was read correctly and holds something a weights file must not."""


class H5Writer:
    """Writes variables in Keras 3's HDF5 layout, one array at a time."""

    def __init__(self, target: str | os.PathLike | BinaryIO):
        self._file = h5py.File(target, "w")

    def write_vars(self, path: str, arrays: Iterable[Any] | dict, name: str | None = None) -> None:
        """Create group `<path>/vars` (attribute `name`) with datasets "0", "1", ... (or, for a
        dict, one dataset per key: what a layer's save_own_variables stores, as Keras's
        lookup layers store "idf_weights").

        Each array is converted with `np.asarray` just before it is written, so a lazy iterable
        keeps peak memory at one variable.
        """
        _check_path(path)
        gpath = _vars_group(path)
        if gpath in self._file:
            raise ValueError(f"Group {gpath!r} was already written; each object's variables are "
                             f"written once (two objects share the path {path!r}).")
        group = self._file.create_group(gpath)
        if name is not None:
            group.attrs["name"] = name
        items = arrays.items() if isinstance(arrays, dict) else enumerate(arrays)
        for i, value in items:
            array = np.asarray(value)
            if array.dtype.name == "bfloat16":
                dataset = group.create_dataset(str(i), data=array)
                dataset.attrs["dtype"] = "bfloat16"
            elif array.dtype.kind in _ITEMSIZES:
                group.create_dataset(str(i), data=array)
            else:
                raise ValueError(f"Variable {i} of {path or 'the root object'!r} has dtype "
                                 f"{array.dtype}; only numeric arrays can be saved as weights.")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "H5Writer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class H5Reader:
    """Reads a weights file from anyone: the whole file is checked when it opens."""

    def __init__(self, source: str | os.PathLike | BinaryIO, *, label: str):
        self.label = label
        self._file = None
        self._datasets: dict[str, np.dtype] = {}  # dataset path -> dtype it holds
        self._vars: dict[str, list[str]] = {}  # object path -> dataset names in its vars group
        size = source_size(source)
        try:
            self._file = h5py.File(source, "r")
        except (OSError, ValueError, RuntimeError) as e:
            raise ValueError(f"{label}: not a readable HDF5 file (truncated, corrupt or not HDF5): "
                             f"{e}. {_FIX}") from None
        try:
            self._walk(size)
        except _Refused:
            self.close()
            raise
        except (OSError, KeyError, ValueError, RuntimeError) as e:  # UnicodeError is a ValueError
            self.close()
            raise ValueError(f"{label}: the HDF5 file is corrupt or truncated ({e}). "
                             f"{_FIX}") from None

    def _refuse(self, path: str, why: str) -> ValueError:
        return _Refused(f"{self.label}: object {path!r} {why}; refusing the whole file. {_FIX}")

    def _walk(self, file_size: int) -> None:
        root = self._file
        seen = {self._object_key(root.id)}
        stack = [("", root.id)]
        while stack:
            prefix, gid = stack.pop()
            names = []
            gid.links.iterate(lambda n: names.append(n))
            for raw in names:
                name = raw.decode("utf-8")
                path = f"{prefix}/{name}" if prefix else name
                if path.count("/") + 1 > MAX_DEPTH:
                    raise self._refuse(path, f"is nested deeper than {MAX_DEPTH} levels")
                kind = gid.links.get_info(raw).type
                if kind == h5py.h5l.TYPE_SOFT:
                    raise self._refuse(path, "is a soft link (it could point anywhere in the file)")
                if kind == h5py.h5l.TYPE_EXTERNAL:
                    raise self._refuse(path, "is an external link (it points into another file)")
                if kind != h5py.h5l.TYPE_HARD:
                    raise self._refuse(path, f"is a user-defined link (type {kind})")
                oid = h5py.h5o.open(gid, raw)
                key = self._object_key(oid)
                if key in seen:
                    raise self._refuse(path, "is reached by a second path (a hard-link cycle or "
                                             "alias)")
                seen.add(key)
                if len(seen) > MAX_OBJECTS:
                    raise self._refuse(path, f"is past the limit of {MAX_OBJECTS} objects")
                if isinstance(oid, h5py.h5g.GroupID):
                    stack.append((path, oid))
                    if name == "vars":
                        self._vars.setdefault(prefix, [])
                    if prefix == "vars" or prefix.endswith("/vars"):  # count() refuses it
                        self._vars.setdefault(prefix[:-len("vars")].rstrip("/"), []).append(
                            name + "/")
                elif isinstance(oid, h5py.h5d.DatasetID):
                    self._datasets[path] = self._check_dataset(path, h5py.Dataset(oid), file_size)
                    if prefix == "vars" or prefix.endswith("/vars"):
                        self._vars.setdefault(prefix[:-len("vars")].rstrip("/"), []).append(name)
                elif isinstance(oid, h5py.h5t.TypeID):
                    raise self._refuse(path, "is a named datatype (only groups and numeric "
                                             "datasets belong in a weights file)")
                else:
                    raise self._refuse(path, "is neither a group nor a dataset")

    @staticmethod
    def _object_key(oid) -> tuple:
        info = h5py.h5o.get_info(oid)
        return info.fileno, info.addr

    def _check_dataset(self, path: str, dataset: h5py.Dataset, file_size: int) -> np.dtype:
        if dataset.external:
            files = sorted({str(e[0]) for e in dataset.external})
            raise self._refuse(path, f"keeps its data in external storage ({', '.join(files)}) "
                                     "outside this file (CVE-2026-1669)")
        if dataset.is_virtual:
            raise self._refuse(path, "is a virtual dataset (its data come from other datasets "
                                     "or files)")
        if dataset.id.get_type().committed():
            raise self._refuse(path, "uses a named (committed) datatype")
        dtype = self._numeric_dtype(path, dataset)
        if dataset.shape is None:
            raise self._refuse(path, "has a null dataspace (no shape)")
        declared = math.prod(dataset.shape) * dtype.itemsize
        stored = dataset.id.get_storage_size()
        if stored > file_size:
            raise self._refuse(path, f"claims {stored} bytes of storage but the whole file has "
                                     f"{file_size}")
        plist = dataset.id.get_create_plist()
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
        for f in filters:
            if f not in ALLOWED_FILTERS:
                raise self._refuse(path, f"uses HDF5 filter {f}; only gzip, lzf, shuffle and "
                                         "fletcher32 are accepted")
        inflation = MAX_INFLATION if filters else 1
        if declared > stored * inflation + SLACK_BYTES:
            raise self._refuse(
                path, f"declares shape {dataset.shape} ({declared} bytes) but stores only "
                      f"{stored} bytes in a {file_size}-byte file: a shape or decompression bomb "
                      "(CVE-2026-0897)")
        if dataset.chunks is not None:
            chunk = math.prod(dataset.chunks) * dtype.itemsize
            if chunk > declared + SLACK_BYTES:
                raise self._refuse(path, f"has chunks of {chunk} bytes, larger than the "
                                         f"dataset's {declared} bytes")
        return dtype

    def _numeric_dtype(self, path: str, dataset: h5py.Dataset) -> np.dtype:
        dtype = dataset.dtype
        if dtype.kind == "V" and dtype.itemsize == 2 and dtype.fields is None \
                and dtype.subdtype is None and self._is_bfloat16(dataset):
            return _bfloat16()
        if (dtype.kind in _ITEMSIZES and dtype.itemsize in _ITEMSIZES[dtype.kind]
                and dtype.fields is None and dtype.subdtype is None
                and h5py.check_string_dtype(dtype) is None and h5py.check_vlen_dtype(dtype) is None
                and h5py.check_ref_dtype(dtype) is None):
            return dtype
        raise self._refuse(path, f"has dtype {dtype} ({dataset.id.get_type().__class__.__name__}); "
                                 "weights must be bool, int8-64, uint8-64, float16/32/64, "
                                 "complex64/128 or Keras's bfloat16")

    @staticmethod
    def _is_bfloat16(dataset: h5py.Dataset) -> bool:
        if "dtype" not in dataset.attrs:
            return False
        attr = h5py.h5a.open(dataset.id, b"dtype")
        if attr.shape != () or attr.get_storage_size() > 64:
            return False
        value = dataset.attrs["dtype"]
        return (value.decode() if isinstance(value, bytes) else str(value)) == "bfloat16"

    # -- queries ---------------------------------------------------------------------------

    def has(self, path: str) -> bool:
        """Whether the object at `path` has a `vars` group in the file."""
        return path in self._vars

    def paths(self) -> list[str]:
        """Every object path with a `vars` group ('' is the root object)."""
        return sorted(self._vars)

    def count(self, path: str) -> int:
        """Number of variables saved for the object at `path` (datasets "0".."n-1")."""
        if path not in self._vars:
            raise ValueError(f"{self.label}: no group {_vars_group(path)!r} in the file; it holds "
                             f"variables for {self.paths()}.")
        names = self._vars[path]
        n = len(names)
        if sorted(names) != sorted(str(i) for i in range(n)):
            raise ValueError(f"{self.label}: group {_vars_group(path)!r} holds datasets "
                             f"{sorted(names)}; Keras's layout names them '0'..'{n - 1}'. {_FIX}")
        return n

    def names(self, path: str) -> list[str]:
        """The names of the datasets saved for the object at `path`."""
        return sorted(self._vars.get(path, ()))

    def read_named(self, path: str, name: str, dtype: str, what: str) -> np.ndarray:
        """Dataset `name` of `path` whatever its shape (a layer's own store, checked by the
        layer), converted safely to `dtype`."""
        if name not in self._vars.get(path, ()):
            raise ValueError(f"{self.label}: {what}: no dataset "
                             f"{_vars_group(path) + '/' + name!r} in the file.")
        dataset = self._file[f"{_vars_group(path)}/{name}"]
        return self.read(path, name, dataset.shape, dtype, what)

    def check(self, path: str, index: int | str, shape: tuple, dtype: str, what: str) -> None:
        """`read`'s shape and dtype checks alone (no data read), so a loader can check every
        variable before it changes any."""
        self._checked(path, index, shape, dtype, what)

    def read(self, path: str, index: int | str, shape: tuple, dtype: str, what: str) -> np.ndarray:
        """Read variable `index` of `path`, after checking its shape and dtype against the target.

        `what` names the variable in messages, e.g. "layers/dense/vars/0 (variable dense/kernel)".
        """
        dataset, source, target = self._checked(path, index, shape, dtype, what)
        return self._read_checked(dataset, source, target, what)

    def _checked(self, path: str, index: int | str, shape: tuple, dtype: str, what: str):
        name = f"{_vars_group(path)}/{index}"
        if name not in self._datasets:
            raise ValueError(f"{self.label}: {what}: no dataset {name!r} in the file.")
        dataset = self._file[name]
        shape = tuple(int(s) for s in shape)
        if tuple(dataset.shape) != shape:
            raise ValueError(f"{self.label}: {what}: the file holds shape "
                             f"{tuple(dataset.shape)} but the variable has shape {shape}; the "
                             "file was saved from a different model (or a differently built one).")
        source = self._datasets[name]
        target = _target_dtype(dtype)
        if not _safe_cast(source, target):
            raise ValueError(f"{self.label}: {what}: the file holds {source.name} values, which do "
                             f"not convert safely to the variable's {target.name}.")
        return dataset, source, target

    def _read_checked(self, dataset, source: np.dtype, target: np.dtype, what: str) -> np.ndarray:
        try:
            if dataset.dtype.kind in _ITEMSIZES and dataset.size * source.itemsize >= ALIGN_FROM:
                array = _aligned_empty(dataset.shape, dataset.dtype)
                dataset.read_direct(array)
            else:
                array = np.asarray(dataset[()])
        except (OSError, RuntimeError) as e:
            raise ValueError(f"{self.label}: {what}: the data are corrupt or truncated "
                             f"({e}).") from None
        if source.name == "bfloat16":
            array = array.view(source)
        if target.kind in "iu" and array.size and source != target:
            info = np.iinfo(target)
            if array.min() < info.min or array.max() > info.max:
                raise ValueError(f"{self.label}: {what}: values from {array.min()} to "
                                 f"{array.max()} do not fit the variable's {target.name}.")
        return array.astype(target, copy=False)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "H5Reader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _aligned_empty(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An empty array whose data start on a 64-byte boundary. XLA on a CPU adopts such a host
    buffer as it is (jax.device_put aliases it) instead of copying it in the background, so a
    loaded variable costs one buffer, not two (malloc gives only 16-byte alignment)."""
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def _safe_cast(source: np.dtype, target: np.dtype) -> bool:
    """bool -> any number; int -> int, float, complex; float -> float, complex; complex ->
    complex. Never float -> int (silent truncation) nor anything from strings or objects."""
    kind = "f" if source.name == "bfloat16" else source.kind
    into = "f" if target.name == "bfloat16" else target.kind
    allowed = {"b": "biufc", "i": "iufc", "u": "iufc", "f": "fc", "c": "c"}
    return into in allowed.get(kind, "")
