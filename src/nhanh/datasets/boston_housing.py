"""Boston housing prices: 506 houses, 13 features each, target the median value in k$.

Keras's `boston_housing.npz`, checked against its published sha256 and read with pickles refused.
"""

from __future__ import annotations

import numpy as np

from nhanh.datasets import _common

ORIGIN_FOLDER = _common.GCS_FOLDER
FILE_HASHES = {"boston_housing.npz":
               "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"}


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113):
    """Load the Boston housing data, downloading it into the Keras cache the first time.

    Args:
        path: File name to cache the data under (in `~/.keras/datasets`).
        test_split: Fraction of the (shuffled) samples put in the test set, the last ones.
        seed: Seed of the shuffle.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float64 features of shape (n, 13) and targets
        of shape (n,).
    """
    _common.check_test_split(test_split)
    name = "boston_housing.npz"
    path = _common.fetch_verified(ORIGIN_FOLDER, name, FILE_HASHES[name], path)
    x, y = _common.load_npz_plain(path, "x", "y")
    x, y = _common.shuffled(np.random.RandomState(seed), x, y)
    return _common.split_at(1 - test_split, x, y)
