"""PyDataset (Keras 2's Sequence): batches made by Python code, prepared by parallel workers.

A subclass returns whole batches from `__getitem__(index)` and says how many there are with
`__len__` (or the `num_batches` property; None means endless). `fit` / `evaluate` / `predict`
take it as `x`; its `workers`, `use_multiprocessing` and `max_queue_size` decide how batches
are prepared while the engine computes:

- `workers <= 1` (and no multiprocessing): in the calling thread, one at a time.
- `workers > 1`: a pool of threads fetches up to `max_queue_size` batches ahead, and hands
  them over in order. Enough when `__getitem__` waits on files or releases the GIL (NumPy,
  PIL, decoding).
- `use_multiprocessing=True`: a pool of processes, for pure-Python work that holds the GIL.
  The processes are *spawned*, not forked: JAX and PyTorch start threads of their own, and a
  process forked after that can deadlock on a lock one of them held. Spawning means the
  dataset is pickled to the workers, so its class must be importable (defined in a module,
  or in a script whose top-level code sits under `if __name__ == "__main__":`). The dataset
  is sent again at an epoch's start whenever `on_epoch_begin` / `on_epoch_end` changed it.

A worker's exception reaches the caller as itself, with a note naming the batch, and, from a
process, the worker's traceback chained as its cause. The workers live as long as the one
`fit` / `evaluate` / `predict` call that started them (see training/adapters.py).
"""

from __future__ import annotations

import collections
import concurrent.futures as futures
import itertools
import multiprocessing
import os
import pickle
import shutil
import tempfile
import warnings
from typing import Any, Iterable, Iterator

__all__ = ["PyDataset", "Sequence"]

_DEFAULTS = {"_workers": 1, "_use_multiprocessing": False, "_max_queue_size": 10}


class PyDataset:
    """Base class for datasets whose batches come from Python code (see the module docstring).

    Implement `__getitem__(index)` returning a batch: x, (x, y) or (x, y, sample_weight); and
    `__len__` (or the `num_batches` property) returning the number of batches. Override
    `on_epoch_begin` / `on_epoch_end` to change the data between epochs (e.g. reshuffle).
    Pass `workers`, `use_multiprocessing` and `max_queue_size` through
    `super().__init__(**kwargs)`; fit() has no such arguments.

    Args:
        workers: How many threads (or processes) prepare batches while the model computes;
            1 prepares them one at a time, in the calling thread.
        use_multiprocessing: Prepare batches in spawned processes instead of threads (for
            Python code that holds the GIL); the dataset must then be picklable.
        max_queue_size: At most this many batches are prepared ahead of the one in use.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"PyDataset's {name} must be an integer, got {value!r}.")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    def _setting(self, name: str):
        if not hasattr(self, name):
            # A subclass whose __init__ forgot super().__init__(**kwargs): work with the
            # defaults, and say so once (Keras warns the same way).
            for key, default in _DEFAULTS.items():
                if not hasattr(self, key):
                    setattr(self, key, default)
            warnings.warn(f"{type(self).__name__}.__init__ should call "
                          "super().__init__(**kwargs), passing workers, use_multiprocessing "
                          "or max_queue_size there (fit() does not take them); using "
                          "workers=1, use_multiprocessing=False, max_queue_size=10.",
                          UserWarning, stacklevel=3)
        return getattr(self, name)

    @property
    def workers(self) -> int:
        return self._setting("_workers")

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        return self._setting("_use_multiprocessing")

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        return self._setting("_max_queue_size")

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index), "
                                  "returning the batch at that position.")

    @property
    def num_batches(self) -> int | None:
        """The number of batches; None for an endless dataset. Defaults to len(self)."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ or the "
                                  "num_batches property (return None for an endless dataset).")

    def on_epoch_begin(self) -> None:
        """Called before an epoch's first batch is requested."""

    def on_epoch_end(self) -> None:
        """Called after an epoch's last batch was used."""

    def __iter__(self) -> Iterator:
        """The batches in order, in this thread (fit's workers are not used here)."""
        count = self.num_batches
        for index in (itertools.count() if count is None else range(count)):
            yield self[index]


#: Keras 2's name for PyDataset.
Sequence = PyDataset


# --- workers -------------------------------------------------------------------------------

_in_worker: dict = {}  # in a worker process: the dataset it holds and its version


def _item_in_process(path: str, version: int, index: int):
    """dataset[index] in a spawned worker, loading the dataset's newest version first."""
    if _in_worker.get("version") != version:
        with open(path, "rb") as f:
            _in_worker["dataset"] = pickle.load(f)
        _in_worker["version"] = version
    return _in_worker["dataset"][index]


class Workers:
    """Ordered, bounded prefetch of a dataset's batches through a thread or process pool.

    The pool is started at the first epoch and kept until close(), so processes are spawned
    once per fit/evaluate/predict call rather than once per epoch.
    """

    def __init__(self, dataset, workers: int, use_multiprocessing: bool, max_queue_size: int):
        self.dataset, self.workers = dataset, max(1, workers)
        self.processes = use_multiprocessing
        self.ahead = max(max_queue_size, self.workers)
        self._pool: futures.Executor | None = None
        self._dir: str | None = None
        self._sent: bytes | None = None
        self._version = 0

    def _start(self) -> futures.Executor:
        if self._pool is None:
            if self.processes:
                self._dir = tempfile.mkdtemp(prefix="nhanh-pydataset-")
                self._pool = futures.ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn"))
            else:
                self._pool = futures.ThreadPoolExecutor(
                    self.workers, thread_name_prefix=f"{type(self.dataset).__name__}-worker")
        return self._pool

    def _send(self) -> str:
        """Write the dataset for the processes when it differs from what they last got."""
        try:
            blob = pickle.dumps(self.dataset)
        except Exception as e:
            raise TypeError(
                f"use_multiprocessing=True sends {type(self.dataset).__name__} to worker "
                f"processes, but it cannot be pickled ({e}). Keep only picklable state on it "
                "(paths, arrays), or use threads: use_multiprocessing=False.") from e
        if blob != self._sent:
            self._sent, self._version = blob, self._version + 1
            with open(self._path(), "wb") as f:
                f.write(blob)
        return self._path()

    def _path(self) -> str:
        return os.path.join(self._dir, f"dataset-{self._version}.pkl")

    def fetch(self, indices: Iterable[int]) -> Iterator:
        """dataset[i] for each index, in order, with up to `max_queue_size` in preparation."""
        pool = self._start()
        path = self._send() if self.processes else None
        indices = iter(indices)
        pending: collections.deque = collections.deque()

        def submit(index: int) -> None:
            if path is None:
                pending.append((index, pool.submit(self.dataset.__getitem__, index)))
            else:
                pending.append((index, pool.submit(_item_in_process, path, self._version,
                                                   index)))

        try:
            for index in itertools.islice(indices, self.ahead):
                submit(index)
            while pending:
                index, job = pending.popleft()
                try:
                    batch = job.result()
                except Exception as e:
                    where = "process" if self.processes else "thread"
                    if hasattr(e, "add_note"):
                        e.add_note(f"(raised by {type(self.dataset).__name__}[{index}] in a "
                                   f"PyDataset worker {where})")
                    raise
                following = next(indices, None)
                if following is not None:
                    submit(following)
                yield batch
        finally:
            for _, job in pending:
                job.cancel()

    def close(self) -> None:
        """Stop the pool and wait for its threads or processes to end."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir, self._sent = None, None


def settings(dataset: Any) -> tuple[int, bool, int]:
    """(workers, use_multiprocessing, max_queue_size) of a PyDataset, or of a duck-typed one."""
    return (int(getattr(dataset, "workers", 1) or 1),
            bool(getattr(dataset, "use_multiprocessing", False)),
            int(getattr(dataset, "max_queue_size", 10) or 10))
