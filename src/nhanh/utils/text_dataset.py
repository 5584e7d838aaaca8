"""text_dataset_from_directory: a folder of .txt files (one sub-folder per class) as batches.

Files, labels and the training/validation split are Keras 3's for the same seed
(directory_listing.py). Keras's tf.data version yields byte strings; nhanh yields NumPy arrays
of Python `str` (dtype object), read as UTF-8, as Keras's format='grain' path does, and
`max_length` cuts characters, as that path does (tf.data cuts bytes). Strings stay on the
host: map them to numbers (e.g. `ds.map(lambda x, y: (vectorizer(x), y))`) before `fit`.
"""

from __future__ import annotations

import numpy as np

from nhanh.utils import directory_listing as listing
from nhanh.utils.batched_dataset import from_samples


def _strings(texts: list) -> np.ndarray:
    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out


def text_dataset_from_directory(directory, labels="inferred", label_mode: str | None = "int",
                                class_names=None, batch_size: int | None = 32,
                                max_length: int | None = None, shuffle: bool = True,
                                seed: int | None = None, validation_split: float | None = None,
                                subset: str | None = None, follow_links: bool = False,
                                format: str = "tf", verbose: bool = True):
    """Batches of texts (and labels) from the .txt files under `directory`.

    Args:
        directory: Folder of .txt files; with labels='inferred', one sub-folder per class.
        labels: 'inferred' (from sub-folders), None, or one integer label per file, in the
            sorted order of the file paths.
        label_mode: 'int', 'categorical', 'binary' (exactly 2 classes) or None (texts only).
        class_names: With 'inferred', the sub-folders to use and the order of their indices.
        batch_size: Texts per batch; None yields one text at a time.
        max_length: Keep at most this many characters of each text; None keeps all.
        shuffle: Shuffle the files (and, for format='tf', each epoch anew); else sorted order.
        seed: Seed of the shuffling; needed with `validation_split` when shuffling.
        validation_split: Fraction of the files held out for validation.
        subset: 'training', 'validation' or 'both' (returns `[train, validation]`).
        follow_links: Whether to walk into sub-folders that are symbolic links.
        format: 'tf' (nhanh's BatchedDataset, in place of tf.data) or 'grain'.
        verbose: Print how many files and classes were found.

    Returns:
        A dataset yielding `(texts, labels)` (or texts alone); texts are an object array of
        str; `class_names` and `file_paths` attributes.
    """
    labels, label_mode = listing.check_arguments(labels, label_mode, class_names,
                                                 validation_split, subset, shuffle, seed, "text")
    if format not in ("tf", "grain"):
        raise ValueError(f"`format` must be 'tf' or 'grain', got {format!r}.")
    if max_length is not None and (isinstance(max_length, bool) or int(max_length) != max_length
                                   or max_length < 0):
        raise ValueError(f"`max_length` must be a non-negative int or None, got {max_length!r}.")
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = listing.index_directory(
        directory, labels, (".txt",), class_names, shuffle, seed, follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError("label_mode='binary' needs exactly 2 classes, but there are "
                         f"{len(class_names)}: {class_names}. Use 'categorical' or 'int'.")

    def build(part_paths, part_labels, part_shuffle):
        if not part_paths:
            raise ValueError(f"No text files found in {directory!r} (extension .txt).")
        encoded = (None if label_mode is None else
                   listing.encode_labels(part_labels, label_mode, len(class_names)))

        def load_one(i):
            with open(part_paths[i], encoding="utf-8") as f:
                text = f.read()
            return text if max_length is None else text[:max_length]

        return from_samples(len(part_paths), load_one, _strings, encoded, batch_size,
                            part_shuffle, seed, class_names, part_paths, format)

    if subset == "both":
        train = listing.split(paths, labels, validation_split, "training", "text files", verbose)
        val = listing.split(paths, labels, validation_split, "validation", "text files", verbose)
        return [build(*train, shuffle), build(*val, False)]
    return build(*listing.split(paths, labels, validation_split, subset, "text files", verbose),
                 shuffle)
