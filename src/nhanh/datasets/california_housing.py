"""California housing prices: 20,640 block groups (or a 600-sample 'small' version), 8 features.

Keras's `california_housing.npz`, checked against its published sha256 and read with pickles
refused.
"""

from __future__ import annotations

import numpy as np

from nhanh.datasets import _common

ORIGIN_FOLDER = _common.GCS_FOLDER
FILE_HASHES = {"california_housing.npz":
               "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"}


def load_data(version: str = "large", path: str = "california_housing.npz",
              test_split: float = 0.2, seed: int = 113):
    """Load the California housing data, downloading it into the Keras cache the first time.

    Args:
        version: 'large' (all 20,640 samples) or 'small' (the first 600, before shuffling).
        path: File name to cache the data under (in `~/.keras/datasets`).
        test_split: Fraction of the (shuffled) samples put in the test set, the last ones.
        seed: Seed of the shuffle.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: features of shape (n, 8) and median house
        values of shape (n,).
    """
    _common.check_test_split(test_split)
    if version not in ("large", "small"):
        raise ValueError(f"`version` must be 'large' (20,640 samples) or 'small' (600), got "
                         f"{version!r}.")
    name = "california_housing.npz"
    path = _common.fetch_verified(ORIGIN_FOLDER, name, FILE_HASHES[name], path)
    x, y = _common.load_npz_plain(path, "x", "y")
    if version == "small":
        x, y = x[:600], y[:600]
    x, y = _common.shuffled(np.random.RandomState(seed), x, y)
    return _common.split_at(1 - test_split, x, y)
