"""Batch sources beyond plain iterables: PyDataset, tf.data.Dataset, grain datasets.

Each is a BatchSource (training/data.py), so fit / evaluate / predict treat them alike. The
kinds are recognised by their class names and modules, so neither TensorFlow nor grain is
imported here (TensorFlow is not a dependency; importing it costs seconds).

A source that starts workers registers itself with the innermost running fit / evaluate /
predict call (`closes_sources`), which closes it when the call ends, however it ends (an
error, EarlyStopping, steps_per_epoch): no worker thread or process outlives the call.
"""

from __future__ import annotations

import functools
import itertools
import threading
import warnings

import numpy as np

from nhanh import random as _random
from nhanh.training import host_prefix
from nhanh.training.data import BatchSource
from nhanh.utils import py_dataset as _py_dataset

_ENDLESS = 2 ** 60  # grain's repeated datasets report a length of about sys.maxsize / batch
_scopes = threading.local()


def closes_sources(method):
    """Close every source the wrapped call opened, when it returns or raises."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        stack = _scopes.__dict__.setdefault("stack", [])
        stack.append([])
        try:
            with host_prefix.feeding(args[0] if args else None):  # x through a host prefix
                return method(*args, **kwargs)
        finally:
            for source in reversed(stack.pop()):
                source.close()

    return wrapper


def _register(source) -> None:
    stack = getattr(_scopes, "stack", None)
    if stack:
        stack[-1].append(source)


def _has_base(x, names: tuple[str, ...], module_part: str) -> bool:
    return any(c.__name__ in names and module_part in (c.__module__ or "")
               for c in type(x).__mro__)


def is_py_dataset(x) -> bool:
    """nhanh's PyDataset / Sequence, or Keras's own (same protocol)."""
    return isinstance(x, _py_dataset.PyDataset) or \
        _has_base(x, ("PyDataset", "Sequence"), "keras")


def is_tf_dataset(x) -> bool:
    return _has_base(x, ("DatasetV2", "DistributedDataset"), "tensorflow")


def is_grain_dataset(x) -> bool:
    return _has_base(x, ("MapDataset", "IterDataset", "DataLoader"), "grain")


def batch_source(x, what: str = "x", class_weight: dict | None = None,
                 shuffle: bool | str = False) -> BatchSource:
    """The BatchSource for a generator, iterator, DataLoader, PyDataset, tf.data or grain
    dataset. `shuffle` reorders a PyDataset's batches each epoch; the other kinds come in
    their own order (shuffle them when building them), as in Keras."""
    if is_py_dataset(x):
        return PyDatasetSource(x, what, class_weight, shuffle)
    if is_tf_dataset(x):
        return TFDatasetSource(x, what, class_weight)
    return BatchSource(x, what, class_weight)


class TFDatasetSource(BatchSource):
    """A tf.data.Dataset of batches, read as NumPy through as_numpy_iterator()."""

    def _fresh_iterator(self):
        return self.source.as_numpy_iterator()

    def _length(self):
        count = int(self.source.cardinality())
        return count if count >= 0 else None  # -1 endless, -2 unknown


class PyDatasetSource(BatchSource):
    """A PyDataset's batches, fetched by its workers, with its epoch hooks called.

    Each epoch takes the next `steps` batch indices (all of them when steps is None) from
    passes over the dataset, each pass in a new order when shuffling; like in-memory data,
    epochs shorter than the dataset go on where the last one stopped.
    """

    def __init__(self, dataset, what: str = "x", class_weight: dict | None = None,
                 shuffle: bool | str = False):
        self.source, self.what, self.class_weight = dataset, what, class_weight
        self.count = dataset.num_batches
        if self.count is not None and (not isinstance(self.count, (int, np.integer))
                                       or self.count < 0):
            raise ValueError(f"{what}: {type(dataset).__name__}'s length (num_batches) must be "
                             f"a non-negative integer or None (endless), got {self.count!r}.")
        if self.count == 0:
            raise ValueError(f"{what} ({type(dataset).__name__}) has no batches: its length "
                             "is 0.")
        if shuffle and self.count is None:
            warnings.warn(f"shuffle={shuffle!r} is ignored for {what}: an endless PyDataset "
                          "comes in its own order (shuffle inside __getitem__ instead). "
                          "Pass shuffle=False to silence this.", UserWarning,
                          stacklevel=6)  # fit's caller, past _data and closes_sources
        self.shuffle = bool(shuffle) and self.count is not None
        first = self._check(dataset[0])  # the shapes the model is built for
        self.x, self.y, self.sample_weight = first.x, first.y, first.sample_weight
        self.num_samples = first.num_samples
        self.length = self.count
        workers, processes, queue = _py_dataset.settings(dataset)
        self._workers = _py_dataset.Workers(dataset, workers, processes, queue) \
            if workers > 1 or processes else None
        self._left: list[int] = []  # the rest of the current pass's batch indices
        self._endless = itertools.count()
        self._rng = None
        if self._workers is not None:
            _register(self)

    def num_batches(self, steps: int | None) -> int | None:
        if steps is None and self.count is None:
            raise ValueError(
                f"{self.what} ({type(self.source).__name__}) is endless (num_batches is None), "
                "so the number of steps must be given: steps_per_epoch= for fit, steps= for "
                "evaluate and predict (validation_steps= for validation data).")
        return self.count if steps is None else \
            steps if self.count is None else min(steps, self.count)

    def _indices(self, steps: int | None) -> list[int]:
        count = self.num_batches(steps)
        if self.count is None:
            return list(itertools.islice(self._endless, count))
        if steps is None:
            self._left = []  # a whole epoch is a whole pass
        taken: list[int] = []
        while len(taken) < count:
            if not self._left:
                self._left = self._new_pass()
            need = count - len(taken)
            taken, self._left = taken + self._left[:need], self._left[need:]
        return taken

    def _new_pass(self) -> list[int]:
        order = np.arange(self.count)
        if self.shuffle:
            if self._rng is None:
                self._rng = np.random.default_rng(_random.draw_seed())
            self._rng.shuffle(order)
        return order.tolist()

    def batches(self, steps: int | None = None, x_only: bool = False):
        """One epoch's device batches; the dataset's on_epoch_end runs when the epoch is
        done or the loop leaves it early (the generator is closed), not after an error."""
        indices = self._indices(steps)
        self.source.on_epoch_begin()
        raw = (self.source[i] for i in indices) if self._workers is None else \
            self._workers.fetch(indices)
        failed = True
        try:
            for batch in raw:
                yield self._check(batch).step_inputs(x_only)
            failed = False
        except GeneratorExit:
            failed = False
            raise
        finally:
            raw.close()
            if not failed:
                self.source.on_epoch_end()

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
