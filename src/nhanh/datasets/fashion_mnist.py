"""Fashion-MNIST: 60,000 training and 10,000 test 28x28 grayscale images of 10 kinds of clothing.

Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
8 Bag, 9 Ankle boot.

The four gzipped IDX files are Keras's, in the same cache folder (`datasets/fashion-mnist`).
Keras publishes no hash for them, so none is checked; nothing here is a pickle, and each file's
IDX header (magic number, dimensions, length) is checked instead of trusted, so a truncated or
wrong file raises instead of yielding misshapen arrays.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from nhanh.utils.file_utils import get_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
CACHE_SUBDIR = os.path.join("datasets", "fashion-mnist")


def read_idx(path: str) -> np.ndarray:
    """An unsigned-byte IDX file (gzipped), as a uint8 array of the shape its header gives."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:3] != b"\0\0\x08":
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number "
                         f"{data[:4].hex()}); delete it from the cache to download it again.")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    if len(data) - header != int(np.prod(shape)):
        raise ValueError(f"{path} holds {len(data) - header} bytes of data, its header says "
                         f"{shape}; the file is truncated or corrupted. Delete it from the "
                         f"cache to download it again.")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def load_data():
    """Load Fashion-MNIST, downloading it into the Keras cache the first time.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (60000, 28, 28) and
        (10000, 28, 28), and uint8 labels 0-9 of shape (60000,) and (10000,).
    """
    paths = [get_file(name, origin=ORIGIN_FOLDER + name, cache_subdir=CACHE_SUBDIR)
             for name in FILES]
    y_train, x_train, y_test, x_test = (read_idx(p) for p in paths)
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        if len(x) != len(y):
            raise ValueError(f"Fashion-MNIST's {split} files disagree: {len(x)} images, "
                             f"{len(y)} labels. Delete them from the cache to download again.")
    return (x_train, y_train), (x_test, y_test)
