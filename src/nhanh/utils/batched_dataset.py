"""BatchedDataset: what nhanh's `*_dataset_from_*` functions return in place of a tf.data.Dataset.

nhanh has no TensorFlow, so a dataset is a plain, re-iterable list of batches: `len(ds)` is
the number of batches, `ds[i]` loads batch i (the samples in the order the function listed
them), and each `iter(ds)` is a fresh epoch: in a new random order when the dataset shuffles
(a full permutation per epoch, where tf.data shuffles within a buffer), in the listed order
otherwise. Batches are tuples of NumPy arrays, `(x, y)` or `x` alone, read from files when
they are taken, so a folder larger than memory still trains. `fit`, `evaluate` and `predict`
take it as they take any re-iterable source of batches; `class_names` and `file_paths` are
there as on Keras's datasets, and `map(fn)` transforms each batch as `tf.data`'s map after
batching does (e.g. `ds.map(lambda x, y: (vectorizer(x), y))`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nhanh.utils.directory_listing import num_batches


class BatchedDataset:
    """A re-iterable source of batches of NumPy arrays, read on demand.

    Args:
        num_samples: How many samples there are.
        load: `load(indices) -> batch`: the batch (a tuple of arrays, or an array) holding
            the samples at `indices` (a 1-D int array), in that order.
        batch_size: Samples per batch; None yields the samples one at a time, unbatched
            (then `load` gets a single-element index and its leading axis is dropped).
        shuffle: Whether each epoch (each `iter`) visits the samples in a new random order.
        seed: Seed of those orders; None draws one.
        class_names: The class names (`None` without labels), as Keras's datasets carry.
        file_paths: The files behind the samples, in listed order (None where none).
    """

    def __init__(self, num_samples: int, load: Callable, batch_size: int | None = 32,
                 shuffle: bool = False, seed: int | None = None,
                 class_names: Sequence[str] | None = None,
                 file_paths: Sequence[str] | None = None):
        if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) != batch_size
                                       or batch_size < 1):
            raise ValueError(f"`batch_size` must be a positive int or None (unbatched), got "
                             f"{batch_size!r}.")
        self.num_samples = int(num_samples)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.class_names = None if class_names is None else list(class_names)
        self.file_paths = None if file_paths is None else list(file_paths)
        self._load = load
        self._rng = np.random.default_rng(seed)
        self._maps: list[Callable] = []

    def __len__(self) -> int:
        return num_batches(self.num_samples, self.batch_size)

    def _batch(self, rows: np.ndarray):
        batch = self._load(rows)
        if self.batch_size is None:  # one sample: drop the leading axis
            batch = (tuple(_first(b) for b in batch) if isinstance(batch, tuple)
                     else _first(batch))
        for fn in self._maps:
            batch = fn(*batch) if isinstance(batch, tuple) else fn(batch)
        return batch

    def _rows(self, order: np.ndarray, i: int) -> np.ndarray:
        size = self.batch_size or 1
        return order[i * size:(i + 1) * size]

    def __getitem__(self, i: int):
        """Batch `i` of the listed (unshuffled) order."""
        n = len(self)
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"A BatchedDataset is indexed by an int batch number, got {i!r}.")
        if not -n <= i < n:
            raise IndexError(f"Batch {i} is out of range: the dataset has {n} batches.")
        return self._batch(self._rows(np.arange(self.num_samples), int(i) % n))

    def __iter__(self):
        order = (self._rng.permutation(self.num_samples) if self.shuffle
                 else np.arange(self.num_samples))
        return (self._batch(self._rows(order, i)) for i in range(len(self)))

    def map(self, fn: Callable) -> "BatchedDataset":
        """A dataset whose batches are `fn(*batch)` (or `fn(batch)` for a lone array).

        Args:
            fn: Called on each batch (each sample when unbatched) as it is taken.

        Returns:
            A new BatchedDataset over the same files, order and shuffling.
        """
        out = BatchedDataset.__new__(BatchedDataset)
        out.__dict__.update(self.__dict__)
        out._maps = self._maps + [fn]
        return out

    def __repr__(self) -> str:
        per = "unbatched" if self.batch_size is None else f"batch_size={self.batch_size}"
        return (f"<BatchedDataset: {self.num_samples} samples, {len(self)} batches, {per}, "
                f"shuffle={self.shuffle}, class_names={self.class_names}>")


def _first(value):
    return value[0] if isinstance(value, (np.ndarray, list)) else value


def from_samples(num_samples: int, load_one: Callable, collate: Callable,
                 labels: np.ndarray | None, batch_size: int | None, shuffle: bool, seed,
                 class_names=None, file_paths=None, format: str = "tf"):
    """The dataset of samples `load_one(i)` (with `labels[i]` when there are labels), as a
    BatchedDataset (format 'tf', Keras's default) or a grain dataset (format 'grain').

    `collate(list of samples) -> batch array` stacks the samples' x; labels stack as rows.
    A grain dataset is built as Keras 3 builds its own (source -> shuffle(seed) -> map ->
    iter dataset -> batch), so it visits the samples in Keras's order, and yields NumPy arrays.
    """
    if format == "grain":
        return _grain_dataset(num_samples, load_one, collate, labels, batch_size, shuffle, seed,
                              class_names, file_paths)

    def load(rows):
        x = collate([load_one(int(i)) for i in rows])
        return x if labels is None else (x, labels[rows])

    return BatchedDataset(num_samples, load, batch_size, shuffle, seed, class_names,
                          file_paths)


def _grain_dataset(num_samples, load_one, collate, labels, batch_size, shuffle, seed,
                   class_names, file_paths):
    try:
        import grain
    except ImportError:
        raise ImportError("format='grain' needs the grain package: run `pip install grain`, "
                          "or use format='tf' (nhanh's BatchedDataset).") from None
    ds = grain.MapDataset.source(list(range(num_samples)))
    if shuffle:
        ds = ds.shuffle(seed=seed)
    if labels is None:
        ds = ds.map(load_one)
    else:
        ds = ds.map(lambda i: (load_one(i), labels[i]))
    ds = ds.to_iter_dataset()
    if batch_size is not None:
        def stack(samples):
            if labels is None:
                return collate(samples)
            return collate([s[0] for s in samples]), np.stack([s[1] for s in samples])

        ds = ds.batch(batch_size, batch_fn=stack)
    ds.class_names = None if class_names is None else list(class_names)
    ds.file_paths = None if file_paths is None else list(file_paths)
    return ds
