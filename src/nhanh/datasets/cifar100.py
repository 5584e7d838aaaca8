"""CIFAR-100: 50,000 training and 10,000 test 32x32 colour images in 100 classes (20 superclasses).

The batches are pickles; they are read only from the archive whose published sha256 has just
matched (see `nhanh.datasets._cifar`). As in Keras, the labels keep the dtype the pickle gives
(int64), where CIFAR-10's are uint8.
"""

from __future__ import annotations

import numpy as np

from nhanh.datasets import _cifar

ORIGIN_FOLDER = "https://www.cs.toronto.edu/~kriz/"
FILE_HASHES = {"cifar-100-python.tar.gz":
               "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"}
_FOLDER = "cifar-100-python"


def load_data(label_mode: str = "fine"):
    """Load CIFAR-100, downloading it into the Keras cache the first time.

    Args:
        label_mode: 'fine' (100 classes) or 'coarse' (20 superclasses).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (50000, 32, 32, 3) and
        (10000, 32, 32, 3) (channels first if `image_data_format()` says so), and integer
        labels of shape (50000, 1) and (10000, 1).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"`label_mode` must be 'fine' (100 classes) or 'coarse' (20 "
                         f"superclasses), got {label_mode!r}.")
    name = "cifar-100-python.tar.gz"
    batches = _cifar.fetch_batches(ORIGIN_FOLDER, name, FILE_HASHES[name],
                                   "cifar-100-python-target_archive",
                                   [f"{_FOLDER}/train", f"{_FOLDER}/test"])
    key = f"{label_mode}_labels"
    (x_train, y_train), (x_test, y_test) = (
        _cifar.images_and_labels(batches[f"{_FOLDER}/{split}"], key) for split in ("train", "test"))
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    return (_cifar.to_data_format(x_train), y_train), (_cifar.to_data_format(x_test), y_test)
