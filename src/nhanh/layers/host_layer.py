"""The base of the preprocessing layers that compute on the host (strings, vocabularies,
hashes): NumPy in, NumPy out.

Why a separate base: strings never reach a JAX or PyTorch device, and a vocabulary lookup or a
hash is a Python/NumPy computation, not an op an engine can compile. So these layers do not go
through `Layer.__call__`'s tensor conversion. Called on host data (lists, NumPy arrays of str,
bytes or numbers) they return NumPy arrays; called on an engine's tensor they copy it to the
host, compute there, and hand back a tensor of that engine (eagerly only: inside a compiled
step they raise, saying to apply the layer in the data pipeline, e.g.
`BatchedDataset.map(layer)` or a generator). On symbolic inputs they record a node as any
layer does, with shapes from `compute_output_shape`.

A Sequential or functional model that *begins* with host layers takes raw strings in fit,
evaluate, predict and eager calls: it is split at the host/device boundary and its host
prefix runs before the compiled step (nhanh/training/host_prefix.py; `summary()` shows
where). A host layer after a device layer is refused there, naming both.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from nhanh import config, ops
from nhanh.layers import symbolic
from nhanh.layers.layer import Layer

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


class HostLayer(Layer):
    """A layer whose `host_call(inputs)` runs on NumPy data (see the module docstring)."""

    def __call__(self, inputs, *args, **kwargs):
        if symbolic.is_symbolic(inputs):
            return super().__call__(inputs, *args, **kwargs)
        on_device = any(ops.is_tensor(t) for t in _leaves(inputs))
        host = _map_leaves(inputs, lambda t: self._to_host(t))
        self.built = True
        object.__setattr__(self, "_called", True)
        outputs = self.host_call(host, *args, **kwargs)
        if on_device and isinstance(outputs, np.ndarray) and outputs.dtype.kind in "iufb":
            return ops.convert_to_tensor(outputs)
        return outputs

    def host_call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement host_call().")

    def call(self, inputs, *args, **kwargs):
        return self.host_call(self._to_host(inputs), *args, **kwargs)

    def _to_host(self, x):
        if ops.is_tensor(x):
            try:
                return ops.convert_to_numpy(x)
            except Exception as e:  # a traced value inside a compiled step has no host copy
                raise RuntimeError(
                    f"Layer {self.name!r} ({type(self).__name__}) computes on the host and "
                    "cannot run inside a compiled model step. Put it first in a Sequential "
                    "or functional model (which runs it on the host, before the step), or "
                    "apply it to the data before the model (e.g. `dataset.map(layer)`, or in "
                    f"a generator), or call the model eagerly. ({type(e).__name__}: {e})"
                ) from None
        if hasattr(x, "value") and ops.is_tensor(getattr(x, "value")):
            return ops.convert_to_numpy(x.value)  # a Variable
        return x


def _leaves(x) -> list:
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _leaves(item)]
    return [x]


def _map_leaves(x, fn):
    if isinstance(x, tuple):
        return tuple(_map_leaves(i, fn) for i in x)
    if isinstance(x, list) and any(ops.is_tensor(t) for t in _leaves(x)):
        return [_map_leaves(i, fn) for i in x]
    return fn(x)


# --- strings -------------------------------------------------------------------------------------
def as_strings(data, encoding: str = "utf-8", what: str = "inputs") -> np.ndarray:
    """A NumPy array of `str` from str/bytes data of any rank (bytes decoded with `encoding`)."""
    array = np.asarray(data, dtype=object) if not isinstance(data, np.ndarray) else data
    if array.dtype.kind == "U":
        return array
    if array.dtype.kind == "S":
        return np.char.decode(array, encoding)
    if array.dtype.kind == "O":
        flat = [_one_string(v, encoding, what) for v in array.ravel()]
        return np.asarray(flat, dtype=str).reshape(array.shape) if flat else \
            np.zeros(array.shape, dtype=str)
    raise TypeError(f"Expected strings as {what}, got an array of dtype {array.dtype}. Give "
                    "str or bytes values (convert numbers with `.astype(str)` if meant).")


def _one_string(value, encoding: str, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode(encoding)
    raise TypeError(f"Expected strings as {what}, got {type(value).__name__} {value!r}. "
                    "Give str or bytes values.")


# --- categorical encoding --------------------------------------------------------------------------
def encode(indices: np.ndarray, output_mode: str, depth: int, dtype: str,
           idf_weights: np.ndarray | None = None) -> np.ndarray:
    """Keras's categorical encodings of integer indices, on the host.

    'one_hot' encodes each element (a trailing axis of size 1 is replaced); 'multi_hot',
    'count' and 'tf_idf' reduce the last axis (one sample per row; a 1-D input is one
    sample). Indices outside [0, depth) (e.g. a dropped mask token) encode as zeros.
    """
    x = np.asarray(indices)
    if output_mode == "int":
        return x
    if x.ndim == 0:
        x = x.reshape(1)
    if output_mode == "one_hot":
        if x.ndim > 1 and x.shape[-1] == 1:
            x = x[..., 0]
        lead, rows = x.shape, x.reshape(-1, 1)
    else:
        lead, rows = x.shape[:-1], x.reshape(-1, x.shape[-1]) if x.shape[-1] else \
            np.zeros((int(np.prod(x.shape[:-1])), 0), x.dtype)
    return encode_rows(rows, output_mode, depth, dtype, idf_weights).reshape(*lead, depth)


def encode_rows(rows, output_mode: str, depth: int, dtype: str,
                idf_weights: np.ndarray | None = None) -> np.ndarray:
    """One encoded row of length `depth` per row of indices (rows may differ in length)."""
    counts = np.zeros((len(rows), depth), dtype="float64")
    row_ids = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)]) if len(rows) \
        else np.zeros(0, int)
    cols = np.concatenate([np.asarray(r, dtype="int64").ravel() for r in rows]) if len(rows) \
        else np.zeros(0, int)
    keep = (cols >= 0) & (cols < depth)
    np.add.at(counts, (row_ids[keep], cols[keep]), 1.0)
    if output_mode in ("one_hot", "multi_hot"):
        counts = np.minimum(counts, 1.0)
    elif output_mode == "tf_idf":
        counts = counts * np.asarray(idf_weights, dtype="float64")[:depth]
    return counts.astype(dtype)


def encoded_shape(input_shape, output_mode: str, depth) -> tuple:
    """The output shape of `encode` for an input shape (Keras's rule)."""
    shape = tuple(input_shape)
    if output_mode == "int":
        return shape
    if not shape:
        return (depth,)
    if output_mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            return (*shape[:-1], depth)
        return (*shape, depth)
    return (*shape[:-1], depth)


def float_dtype(dtype: str | None) -> str:
    return dtype if dtype and "float" in str(dtype) else config.floatx()


# --- adapt() data ----------------------------------------------------------------------------------
def adapt_batches(data, batch_size: int | None = None, steps: int | None = None,
                  layer: str = "layer") -> Iterator:
    """The batches `adapt()` reads: a whole array/list (cut in `batch_size` pieces if given), or
    each item of any other iterable (a generator, a `BatchedDataset`, a DataLoader); of an
    `(x, y)` batch only x is used. `steps` caps the number of batches."""
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) != batch_size
                                   or batch_size < 1):
        raise ValueError(f"{layer}.adapt(): batch_size must be a positive int or None, got "
                         f"batch_size={batch_size!r}.")
    if steps is not None and (isinstance(steps, bool) or int(steps) != steps or steps < 1):
        raise ValueError(f"{layer}.adapt(): steps must be a positive int or None, got "
                         f"steps={steps!r}.")
    if isinstance(data, (list, tuple, np.ndarray, str, bytes)) or ops.is_tensor(data):
        array = ops.convert_to_numpy(data) if ops.is_tensor(data) else data
        if batch_size is None:
            batches: Iterable = [array]
        else:
            batches = (array[i:i + int(batch_size)] for i in range(0, len(array),
                                                                    int(batch_size)))
    elif hasattr(data, "__iter__"):
        batches = data
    else:
        raise TypeError(f"{layer}.adapt() expects an array, a list, a tensor or an iterable of "
                        f"batches, got {type(data).__name__}.")
    for i, batch in enumerate(batches):
        if steps is not None and i >= steps:
            break
        if isinstance(batch, tuple) and batch and (
                isinstance(batch[0], np.ndarray) or ops.is_tensor(batch[0])):
            batch = batch[0]  # (x, y) or (x, y, sample_weight)
        yield ops.convert_to_numpy(batch) if ops.is_tensor(batch) else batch
