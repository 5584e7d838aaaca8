"""CIFAR-10: 50,000 training and 10,000 test 32x32 colour images in 10 classes.

Classes: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship,
9 truck. The batches are pickles; they are read only from the archive whose published sha256
has just matched (see `nhanh.datasets._cifar`).
"""

from __future__ import annotations

import numpy as np

from nhanh.datasets import _cifar

ORIGIN_FOLDER = "https://www.cs.toronto.edu/~kriz/"
FILE_HASHES = {"cifar-10-python.tar.gz":
               "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"}
_FOLDER = "cifar-10-batches-py"
_TRAIN = [f"{_FOLDER}/data_batch_{i}" for i in range(1, 6)]


def load_data():
    """Load CIFAR-10, downloading it into the Keras cache the first time.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (50000, 32, 32, 3) and
        (10000, 32, 32, 3) (channels first if `image_data_format()` says so), and uint8 labels
        0-9 of shape (50000, 1) and (10000, 1).
    """
    name = "cifar-10-python.tar.gz"
    batches = _cifar.fetch_batches(ORIGIN_FOLDER, name, FILE_HASHES[name],
                                   "cifar-10-batches-py-target_archive",
                                   _TRAIN + [f"{_FOLDER}/test_batch"])
    train = [_cifar.images_and_labels(batches[m], "labels") for m in _TRAIN]
    x_train = np.concatenate([x for x, _ in train]).astype("uint8", copy=False)
    y_train = np.concatenate([np.asarray(y) for _, y in train]).astype("uint8")
    x_test, y_test = _cifar.images_and_labels(batches[f"{_FOLDER}/test_batch"], "labels")
    y_train = y_train.reshape(-1, 1)
    y_test = np.asarray(y_test).reshape(-1, 1).astype("uint8")
    x_test = x_test.astype("uint8", copy=False)
    return (_cifar.to_data_format(x_train), y_train), (_cifar.to_data_format(x_test), y_test)
