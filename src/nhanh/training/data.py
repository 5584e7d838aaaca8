"""In-memory data for fit / evaluate / predict: checks, validation split, class weights, batches.

Every check runs before training starts, so bad data changes nothing.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from nhanh import backend as _backend
from nhanh import config, ops
from nhanh.distribution import placement
from nhanh.training import host_prefix

DEVICE_SHARE = 0.5  # of the device's free memory that in-memory data may take


def _from_pandas(value):
    """A pandas DataFrame as one (samples, columns) array; a Series as (samples, 1), as
    Keras does. Recognised by module, so pandas is never imported here."""
    kind = type(value).__name__
    if not type(value).__module__.startswith("pandas") or kind not in ("DataFrame", "Series"):
        return value
    array = value.to_numpy()
    return array[:, None] if kind == "Series" else array


def _as_array(value, what: str) -> np.ndarray:
    if ops.is_tensor(value):
        value = ops.convert_to_numpy(value)
    value = _from_pandas(value)
    try:
        array = np.asarray(value)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"{what} could not be turned into an array ({e}).") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must be numeric, but it has dtype {array.dtype} (e.g. "
            f"{array.reshape(-1)[:3].tolist()}). Convert it to numbers first, for instance "
            "with np.asarray(data, dtype='float32') or by encoding strings as integer labels.")
    if array.ndim == 0:
        raise ValueError(f"{what} must have a batch axis; got a scalar.")
    if array.dtype.kind == "f":
        array = array.astype(config.floatx(), copy=False)
    elif array.dtype.kind == "b":
        array = array.astype(config.floatx())
    elif array.dtype == np.int64 or array.dtype == np.uint64:
        array = array.astype("int32")
    return array


def _as_arrays(value, what: str):
    if isinstance(value, (list, tuple)) and value and all(
            hasattr(v, "shape") and getattr(v, "ndim", 0) >= 1 for v in value):
        return [_as_array(v, f"{what}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _as_array(v, f"{what}[{k!r}]") for k, v in value.items()}
    return _as_array(value, what)


def _flat(value) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def _map(value, fn):
    if value is None:
        return None
    if isinstance(value, list):
        return [fn(v) for v in value]
    if isinstance(value, dict):
        return {k: fn(v) for k, v in value.items()}
    return fn(value)


def class_weights_to_sample_weights(y: np.ndarray, class_weight: dict) -> np.ndarray:
    """Per-sample weights from a {class: weight} dict, reading labels or one-hot rows; a
    class the dict does not name weighs 1.0, as in Keras."""
    if not isinstance(class_weight, dict):
        raise TypeError("class_weight must be a dict {class index: weight}, got "
                        f"{type(class_weight).__name__}.")
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    labels = np.rint(labels).astype("int64")
    table = {int(k): float(v) for k, v in class_weight.items()}
    return np.array([table.get(c, 1.0) for c in labels.tolist()], dtype="float32")


class ArrayData:
    """x, y and sample weights held on the host, cut into batches on demand."""

    def __init__(self, x, y=None, sample_weight=None, class_weight=None, *, what: str = "x"):
        if x is None:
            raise ValueError("No input data: pass x (an array of samples).")
        self.what_y = "validation y" if what.startswith("validation") else "y"
        x = host_prefix.prepare_x(x)  # strings -> the host layers' output (host_prefix.py)
        self.x = x if isinstance(x, host_prefix.HostRows) else _as_arrays(x, what)
        self.y = None if y is None else _as_arrays(y, "y")
        self.sample_weight = None if sample_weight is None else _as_array(sample_weight,
                                                                          "sample_weight")
        lengths = {f"{what}{'' if len(_flat(self.x)) == 1 else f'[{i}]'}": len(a)
                   for i, a in enumerate(_flat(self.x))}
        lengths.update({f"y{'' if len(_flat(self.y)) == 1 else f'[{i}]'}": len(a)
                        for i, a in enumerate(_flat(self.y))})
        if self.sample_weight is not None:
            lengths["sample_weight"] = len(self.sample_weight)
        if len(set(lengths.values())) > 1:
            raise ValueError("Data cardinality is ambiguous: "
                             + ", ".join(f"{k} has {n} samples" for k, n in lengths.items())
                             + ". Make sure all arrays contain the same number of samples.")
        self.num_samples = next(iter(lengths.values()))
        if self.num_samples == 0:
            raise ValueError(f"{what} is empty: there are no samples to use.")
        if class_weight is not None:
            self.apply_class_weight(class_weight)

    def apply_class_weight(self, class_weight: dict) -> None:
        """Turn class weights into the sample weights of these (training) rows; validation
        rows never get them, so fit applies them after validation_split."""
        if self.sample_weight is not None:
            raise ValueError("class_weight and sample_weight cannot be given together (Keras "
                             "raises too): fold the class weights into sample_weight yourself, "
                             "e.g. sample_weight * np.vectorize(class_weight.get)(labels).")
        if self.y is None or not isinstance(self.y, np.ndarray):
            raise ValueError("class_weight needs a model with a single output and its targets "
                             "y as one array of labels or one-hot rows.")
        self.sample_weight = class_weights_to_sample_weights(self.y, class_weight)

    @classmethod
    def _from(cls, x, y, sw) -> "ArrayData":
        out = cls.__new__(cls)
        out.x, out.y, out.sample_weight, out.what_y = x, y, sw, "y"
        out.num_samples = len(_flat(x)[0])
        return out

    def split(self, validation_split: float) -> tuple["ArrayData", "ArrayData"]:
        """The last `validation_split` fraction of the samples (before shuffling) is held out."""
        at = int(math.floor(self.num_samples * (1.0 - validation_split)))  # as Keras
        if at == 0 or at == self.num_samples:
            raise ValueError(f"validation_split={validation_split} leaves "
                             f"{'no training' if at == 0 else 'no validation'} samples out of "
                             f"{self.num_samples}; choose a fraction that leaves both.")

        def part(s):
            return lambda a: a[s]

        head, tail = part(slice(None, at)), part(slice(at, None))
        sw = self.sample_weight
        return (ArrayData._from(_map(self.x, head), _map(self.y, head),
                                None if sw is None else sw[:at]),
                ArrayData._from(_map(self.x, tail), _map(self.y, tail),
                                None if sw is None else sw[at:]))

    def num_batches(self, batch_size: int) -> int:
        return int(math.ceil(self.num_samples / batch_size))

    def order(self, shuffle: bool | str = False, rng=None, batch_size: int = 1) -> np.ndarray:
        """The epoch's sample order: a seeded permutation, whole batches shuffled, or as is."""
        n = self.num_samples
        if shuffle == "batch":
            starts = np.arange(0, n, batch_size)
            rng.shuffle(starts)
            return np.concatenate([np.arange(s, min(s + batch_size, n)) for s in starts]
                                  ).astype("int32")
        if shuffle:
            return rng.permutation(n).astype("int32")
        return np.arange(n, dtype="int32")

    def fits_on_device(self) -> bool:
        """Whether all of the data can live on the device for the call: it takes at most
        half of the device's free memory (the model and its steps need the rest). Host-memory
        engines always say yes."""
        if isinstance(self.x, host_prefix.HostRows):  # encoded batch by batch, on the host
            return False
        free = _backend.get().device_memory_free()
        if free is None or getattr(self, "_device", None) is not None:
            return True
        arrays = _flat(self.x) + _flat(self.y) + _flat(self.sample_weight)
        return sum(a.nbytes for a in arrays) <= DEVICE_SHARE * free

    def host_batches(self, order: np.ndarray, batch_size: int, num_steps: int,
                     x_only: bool = False, first: int = 0):
        """Batches cut on the host in `order` and handed to the steps one at a time, for data
        not worth moving to the device whole (see Trainer's _on_device); each batch's copy
        overlaps the step queued before it. `first`: the batches before it are skipped."""
        return self.batches_of((order[i * batch_size:(i + 1) * batch_size]
                                for i in range(first, num_steps)), x_only)

    def batches_of(self, rows_iter, x_only: bool = False):
        """Host batches of the given row indices, one per item of `rows_iter`."""
        for rows in rows_iter:
            yield ArrayData._from(_map(self.x, lambda a: a[rows]),
                                  _map(self.y, lambda a: a[rows]),
                                  None if self.sample_weight is None
                                  else self.sample_weight[rows]).step_inputs(x_only)

    def row_stream(self, shuffle, rng, batch_size: int):
        """Endless batches of row indices: pass after pass over the data, each pass in a new
        order (for epochs shorter than the data, which go on where the last one stopped)."""
        while True:
            order = self.order(shuffle, rng, batch_size)
            for start in range(0, self.num_samples, batch_size):
                yield order[start:start + batch_size]

    def step_inputs(self, x_only: bool = False):
        """(x, y, sample_weight), or x alone, in the form a step takes a host batch."""
        convert = placement.batch_input
        x = self.x
        if isinstance(x, host_prefix.HostRows):
            x = _as_arrays(x.encode(), "x")
        x = _map(x, convert)
        if x_only:
            return x
        return x, _map(self.y, convert), _map(self.sample_weight, convert)

    def on_device(self) -> tuple:
        """(x, y, sample_weight) as backend arrays, transferred once and then reused."""
        if getattr(self, "_device", None) is None:
            convert = ops.convert_to_tensor if placement.distribution() is None else \
                placement.resident  # a copy on each device of the distribution's mesh
            self._device = (_map(self.x, convert), _map(self.y, convert),
                            None if self.sample_weight is None else convert(self.sample_weight))
        return self._device

    def feature_shapes(self):
        if isinstance(self.x, host_prefix.HostRows):  # the shapes of the encoded values
            return {k: np.shape(v)[1:] for k, v in self.x[:1].encode().items()}
        return _map(self.x, lambda a: a.shape[1:])


def take_rows(arrays, index):
    """The rows `index` of every array in a (possibly nested) tuple of backend arrays."""
    take = _backend.get().take_rows
    return _map_tree(arrays, lambda a: take(a, index))


def slice_rows(arrays, start, count: int):
    """Rows [start, start + count) of every array: a view on PyTorch, a dynamic slice inside
    a compiled JAX loop (start may be a traced value there)."""
    return _map_tree(arrays, lambda a: ops.slice(a, (start,) + (0,) * (ops.ndim(a) - 1),
                                                 (count,) + tuple(ops.shape(a)[1:])))


def _map_tree(value, fn):
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(_map_tree(v, fn) for v in value)
    return _map(value, fn)


def is_batch_source(x) -> bool:
    """A generator, iterator, DataLoader or other iterable of batches (not array data)."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)):
        return False
    if ops.is_tensor(x) or hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__")


class BatchSource:
    """Batches from a generator, iterator or DataLoader: each x, (x, y) or (x, y, weights).

    A re-iterable source (a DataLoader, a grain or tf.data dataset) starts afresh each epoch,
    or, with steps_per_epoch, goes on where the last epoch stopped; a one-shot iterator is
    consumed across epochs, as Keras does. PyDatasets and tf.data have their own subclasses
    in training/adapters.py. Each batch is checked like
    array data and moved to the device when it is taken; on asynchronous engines the next
    batch is read and transferred while the device still computes the current step.
    """

    def __init__(self, source, what: str = "x", class_weight: dict | None = None):
        self.source, self.what, self.class_weight = source, what, class_weight
        self.reiterable = hasattr(source, "__iter__") and iter(source) is not source
        self._iterator = self._fresh_iterator()
        try:
            self._first = next(self._iterator)
        except StopIteration:
            raise ValueError(f"{what} yielded no batches.") from None
        first = self._check(self._first)
        self.x, self.y, self.sample_weight = first.x, first.y, first.sample_weight
        self.num_samples = first.num_samples
        self._first_pending = True
        self.length = self._length()

    def _fresh_iterator(self):
        return iter(self.source)

    def _length(self) -> int | None:
        """The number of batches, when the source knows it (grain's endless datasets report
        a length near sys.maxsize: that is no length)."""
        try:
            length = len(self.source) if hasattr(self.source, "__len__") else None
        except TypeError:  # a tf.data.Dataset of unknown length, and the like
            return None
        return None if length is None or length >= 2 ** 60 else length

    def close(self) -> None:
        """Release what the source holds for the call (nothing here; see adapters.py)."""

    def _check(self, batch) -> ArrayData:
        if isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple):
            batch = (batch,)
        if len(batch) > 3:
            raise ValueError(f"Each batch of {self.what} must be x, (x, y) or "
                             f"(x, y, sample_weight); got a tuple of {len(batch)} items.")
        x, y, sw = (*batch, None, None)[:3]
        return ArrayData(x, y, sw, self.class_weight, what=f"a batch of {self.what}")

    def feature_shapes(self):
        return _map(self.x, lambda a: a.shape[1:])

    def num_batches(self, steps: int | None) -> int | None:
        return steps if steps is not None else self.length

    def batches(self, steps: int | None = None, x_only: bool = False):
        """The next epoch's device batches: at most `steps`, else until the source ends.

        With `steps`, a re-iterable source goes on where the last epoch stopped (as Keras
        does), and through a fresh pass when it runs out, as in-memory data does; without,
        each epoch is one whole pass."""
        if self._first_pending:
            self._first_pending = False
            self._iterator = itertools.chain([self._first], self._iterator)
        elif self.reiterable and steps is None:
            self._iterator = self._fresh_iterator()
        taken, fresh = 0, False
        while steps is None or taken < steps:  # takes no batch beyond `steps`
            try:
                batch = next(self._iterator)
            except StopIteration:
                if steps is None or not self.reiterable or fresh:
                    return
                self._iterator, fresh = self._fresh_iterator(), True
                continue
            taken, fresh = taken + 1, False
            yield self._check(batch).step_inputs(x_only)
