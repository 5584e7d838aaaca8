"""MNIST handwritten digits: 60,000 training and 10,000 test 28x28 grayscale images.

The file is Keras's `mnist.npz`, checked against its published sha256 and read with pickles
refused, so the cache Keras filled serves nhanh too.
"""

from __future__ import annotations

import numpy as np

from nhanh.datasets import _common

ORIGIN_FOLDER = _common.GCS_FOLDER
FILE_HASHES = {"mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"}


def load_data(path: str = "mnist.npz"):
    """Load MNIST, downloading it into the Keras cache the first time.

    Args:
        path: File name to cache the data under (in `~/.keras/datasets`).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (60000, 28, 28) and
        (10000, 28, 28) with values 0-255, and uint8 digit labels 0-9 of shape (60000,) and
        (10000,).
    """
    path = _common.fetch_verified(ORIGIN_FOLDER, "mnist.npz", FILE_HASHES["mnist.npz"], path)
    x_train, y_train, x_test, y_test = _common.load_npz_plain(
        path, "x_train", "y_train", "x_test", "y_test")
    return (x_train, y_train), (x_test, y_test)
