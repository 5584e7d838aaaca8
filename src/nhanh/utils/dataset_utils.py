"""split_dataset: one in-memory dataset cut in two (train / test), without TensorFlow.

Keras returns two `tf.data.Dataset`s for array inputs (or torch `Subset`s on its PyTorch
backend, which shuffle even with `shuffle=False`). nhanh has no tf.data, so it returns the two
halves in the structure they came in: an array gives two arrays, a tuple or list of arrays two
tuples (Keras's datasets yield tuples too), a dict of arrays two dicts. Those are what
`fit(x, y)` / `fit(dataset)` take directly. Which samples land on which side, shuffled or not,
is what Keras's tf.data path gives for the same seed: the left side is the first `left_size`
samples, the right side the last `right_size` ones, after a Python `random.Random(seed)`
shuffle (one that leaves the global `random` state alone, where Keras reseeds it).
"""

from __future__ import annotations

import random

import numpy as np


def _leaves(dataset) -> tuple[list, str]:
    if isinstance(dataset, dict):
        return list(dataset.values()), "dict"
    if isinstance(dataset, (tuple, list)):
        return list(dataset), "tuple"
    return [dataset], "array"


def _size(value, name: str, total: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be an int (a number of samples), a float in (0, 1) (a "
                        f"fraction) or None; got {value!r} of type {type(value).__name__}.")
    if isinstance(value, (float, np.floating)):
        if not 0 < value < 1:
            raise ValueError(f"`{name}` as a fraction must lie in (0, 1), got {value}.")
        return round(value * total)
    if not 0 < value < total:
        raise ValueError(f"`{name}` as a number of samples must lie in [1, {total - 1}] for a "
                         f"dataset of {total} samples, got {value}.")
    return int(value)


def split_dataset(dataset, left_size: int | float | None = None,
                  right_size: int | float | None = None, shuffle: bool = False,
                  seed: int | None = None):
    """Split arrays (or tuples / dicts of arrays sharing their first axis) in two.

    Args:
        dataset: A NumPy array (or array-like), or a tuple, list or dict of them with the
            same number of samples (first axis).
        left_size: Samples for the left split: an int count, or a float fraction in (0, 1).
            `None` means the rest after `right_size`.
        right_size: Samples for the right split, likewise; `None` means the rest.
        shuffle: Whether to shuffle the samples before splitting.
        seed: Seed of the shuffle; `None` draws one from Python's `random` (so
            `set_random_seed` makes it repeatable).

    Returns:
        A pair `(left, right)` in the structure of `dataset` (see the module docstring).
    """
    leaves, kind = _leaves(dataset)
    if not leaves:
        raise ValueError("`dataset` is empty; pass an array, or a tuple / dict of arrays.")
    arrays = [np.asarray(a) for a in leaves]
    if any(a.ndim == 0 for a in arrays):
        raise ValueError("split_dataset needs arrays with a sample axis; got a scalar.")
    lengths = {len(a) for a in arrays}
    if len(lengths) > 1:
        raise ValueError("The arrays of `dataset` must have the same number of samples, got "
                         f"lengths {[len(a) for a in arrays]}.")
    total = lengths.pop()
    if left_size is None and right_size is None:
        raise ValueError("Give `left_size` or `right_size` (or both), e.g. left_size=0.8.")
    left, right = _size(left_size, "left_size", total), _size(right_size, "right_size", total)
    if isinstance(left_size, float) and isinstance(right_size, float) and \
            left_size + right_size > 1:
        raise ValueError(f"left_size + right_size = {left_size + right_size} exceeds 1.")
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"left_size + right_size = {left + right} samples, more than the "
                         f"{total} the dataset has.")
    if left == 0 or right == 0:
        raise ValueError(f"With {total} samples, left_size={left_size} and right_size="
                         f"{right_size} leave the {'left' if left == 0 else 'right'} split "
                         "empty; make it larger.")
    order = list(range(total))
    if shuffle:
        random.Random(random.randint(0, int(1e6)) if seed is None else seed).shuffle(order)
    order = np.asarray(order)
    halves = [[a[order[:left]] for a in arrays], [a[order[total - right:]] for a in arrays]]
    if kind == "array":
        return halves[0][0], halves[1][0]
    if kind == "tuple":
        return tuple(halves[0]), tuple(halves[1])
    return tuple(dict(zip(dataset, half)) for half in halves)
