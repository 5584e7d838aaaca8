"""Which files a directory dataset holds, with which labels, and which of them validate.

Shared by image_, text_ and audio_dataset_from_directory. The order is Keras 3's, so a seed
picks the same training and validation files as in Keras: class sub-folders in sorted order
(or `class_names`' order), each walked recursively (`os.walk`, folders and names sorted,
extensions matched case-insensitively), then one `np.random.RandomState(seed)` shuffle of the
paths and the same shuffle of the labels; the validation files are the last
`int(validation_split * n)` of that order.
"""

from __future__ import annotations

import math
import os

import numpy as np

LABEL_MODES = ("int", "categorical", "binary", None)


def check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed,
                    what: str) -> tuple:
    """Raise for bad arguments before any file is read; returns (labels, label_mode) with
    both None when either asks for no labels."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple, np.ndarray)):
            raise ValueError(
                f"`labels` must be 'inferred' (one class per sub-folder), None (no labels) or a "
                f"list of integer labels, one per {what} file in sorted path order; got "
                f"{labels!r}.")
        if class_names:
            raise ValueError("`class_names` can only be given with labels='inferred'; with "
                             "explicit labels the class names are the sorted labels.")
    if label_mode not in LABEL_MODES:
        raise ValueError("`label_mode` must be 'int', 'categorical', 'binary' or None, got "
                         f"{label_mode!r}.")
    if validation_split is not None and validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must lie strictly between 0 and 1, got "
                         f"{validation_split}.")
    if bool(validation_split) != bool(subset):
        raise ValueError("`validation_split` and `subset` go together: give both (e.g. "
                         "validation_split=0.2, subset='training') or neither; got "
                         f"validation_split={validation_split!r}, subset={subset!r}.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError("`subset` must be 'training', 'validation' or 'both', got "
                         f"{subset!r}.")
    if validation_split and shuffle and seed is None:
        raise ValueError("With `validation_split` and shuffle=True, give a `seed`, so that the "
                         "training and the validation call shuffle the same way and share no "
                         "file.")
    if labels is None or label_mode is None:
        return None, None
    return labels, label_mode


def _class_folders(directory: str, class_names) -> list[str]:
    found = sorted(name for name in os.listdir(directory)
                   if os.path.isdir(os.path.join(directory, name)) and not name.startswith("."))
    if class_names is None:
        return found
    missing = [c for c in class_names if c not in found]
    if missing:
        raise ValueError(f"`class_names` names {missing}, which are not sub-folders of "
                         f"{directory!r} (it has {found}); pass a subset of those.")
    return list(class_names)


def _walk(folder: str, follow_links: bool, formats: tuple[str, ...]):
    for root, _, files in sorted(os.walk(folder, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield os.path.join(root, name)


def index_directory(directory, labels, formats: tuple[str, ...], class_names=None,
                    shuffle: bool = True, seed=None, follow_links: bool = False,
                    verbose: bool = True) -> tuple[list[str], np.ndarray | list | None, list]:
    """(file paths, labels, class names) of the files under `directory`, in Keras's order.

    Args:
        directory: The folder; with labels='inferred', one sub-folder per class.
        labels: 'inferred', None, or one integer label per file (in sorted path order).
        formats: Lower-case file extensions to take, e.g. `(".png", ".jpg")`.
        class_names: Sub-folders to use, in the order that numbers the classes.
        shuffle: Shuffle paths and labels with `RandomState(seed)`; else sorted order.
        seed: Seed of the shuffle; None draws one from NumPy's global generator.
        follow_links: Whether the walk enters folders that are symbolic links.
        verbose: Print how many files and classes were found.

    Returns:
        `(file_paths, labels, class_names)`; labels is an int32 array for 'inferred', the
        given labels reordered, or None; class_names is None without labels.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"`directory` {directory!r} is not an existing folder.")
    if labels == "inferred":
        folders = _class_folders(directory, class_names)
    else:
        if class_names is not None:
            raise ValueError("`class_names` can only be given with labels='inferred'.")
        folders = [""]
    paths, inferred = [], []
    for index, folder in enumerate(folders):
        found = list(_walk(os.path.join(directory, folder), follow_links, formats))
        paths += found
        inferred += [index] * len(found)
    if labels == "inferred":
        labels, names = np.asarray(inferred, dtype="int32"), folders
    elif labels is None:
        names = None
    else:
        if len(labels) != len(paths):
            raise ValueError(f"`labels` has {len(labels)} entries but {directory!r} holds "
                             f"{len(paths)} files with extensions {formats}; give one label "
                             "per file, in sorted path order.")
        labels = list(labels)  # shuffled below; the caller's list stays as it was
        names = [str(label) for label in sorted(set(labels))]
    if verbose:
        print(f"Found {len(paths)} files" + ("." if labels is None
                                            else f" belonging to {len(names)} classes."))
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, names


def split(samples: list, labels, validation_split, subset: str, what: str = "files",
          verbose: bool = True) -> tuple[list, object]:
    """The training part (all but the last `int(validation_split * n)`) or the validation
    part (those last ones) of `samples` and `labels`."""
    if not validation_split:
        return samples, labels
    n = len(samples)
    num_val = int(validation_split * n)
    at = n - num_val
    if subset not in ("training", "validation"):
        raise ValueError(f"`subset` must be 'training' or 'validation' here, got {subset!r}.")
    part = slice(None, at) if subset == "training" else slice(at, None)
    chosen = samples[part]
    if not chosen or num_val == 0:
        side = "training" if subset == "training" else "validation"
        raise ValueError(f"validation_split={validation_split} of {n} {what} leaves no {side} "
                         f"{what} ({num_val} for validation); change the fraction or add "
                         f"{what}.")
    if verbose:
        print(f"Using {len(chosen)} files for {subset}.")
    return chosen, None if labels is None else labels[part]


def encode_labels(labels, label_mode: str, num_classes: int) -> np.ndarray:
    """Labels as the model takes them: int32 indices, float32 (n, 1) for 'binary', float32
    one-hot rows for 'categorical'."""
    labels = np.asarray(labels)
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels.astype("int64")]
    return labels.astype("int32")


def num_batches(num_samples: int, batch_size: int | None) -> int:
    return num_samples if batch_size is None else int(math.ceil(num_samples / batch_size))
