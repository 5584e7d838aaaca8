"""Keras's built-in data sets, downloaded into (and shared with) Keras's cache, `~/.keras`.

Each module's `load_data` returns what Keras 3's does (values, dtypes, shapes), from the same
URLs checked against the same published hashes, parsed by nhanh's own readers. Pickled files
are unpickled only after their hash matched, and with an unpickler that builds numpy arrays only.
"""

from nhanh.datasets import (boston_housing, california_housing, cifar10, cifar100,
                            fashion_mnist, imdb, mnist, reuters)

__all__ = ["boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist",
           "imdb", "mnist", "reuters"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
