"""IMDB movie reviews: 25,000 training and 25,000 test reviews, labelled 1 (positive) or 0.

Each review is a list of word indices (by frequency: index 1 is the most frequent word, before
`index_from` shifts them). The file is Keras's `imdb.npz`: its sequences are pickled object
arrays, which are unpickled only after the file's published sha256 matched, and with an
unpickler that accepts numpy arrays only (see `nhanh.datasets._common`).
"""

from __future__ import annotations

import json

import numpy as np

from nhanh.datasets import _common, _sequences

ORIGIN_FOLDER = _common.GCS_FOLDER
FILE_HASHES = {"imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
               "imdb_word_index.json": "bfafd718b763782e994055a2d397834f"}


def load_data(path: str = "imdb.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, seed: int = 113, start_char: int | None = 1,
              oov_char: int | None = 2, index_from: int = 3, **kwargs):
    """Load the IMDB reviews, downloading them into the Keras cache the first time.

    Args:
        path: File name to cache the data under (in `~/.keras/datasets`).
        num_words: Keep the `num_words - 1` most frequent indices; others become `oov_char`.
            None keeps every index but the largest (as Keras does).
        skip_top: Indices below this (the most frequent words) become `oov_char` too.
        maxlen: Drop reviews of `maxlen` words or more (counting `start_char`).
        seed: Seed of the shuffle (train and test are shuffled separately, in that order).
        start_char: Index put at the start of each review; None puts none.
        oov_char: Index for words cut by `num_words` / `skip_top`; None drops them.
        index_from: Added to every word index, leaving room for the special indices.
        **kwargs: Keras 2's `nb_words`, accepted as `num_words`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 1-D object arrays of lists of ints, and the
        integer labels.
    """
    nb_words = _sequences.check_kwargs(kwargs, "imdb.load_data")
    num_words = num_words if nb_words is None else nb_words
    path = _common.fetch_verified(ORIGIN_FOLDER, "imdb.npz", FILE_HASHES["imdb.npz"], path)
    arrays = _common.load_npz(path)
    rng = np.random.RandomState(seed)
    x_train, labels_train = _common.shuffled(rng, arrays["x_train"], arrays["y_train"])
    x_test, labels_test = _common.shuffled(rng, arrays["x_test"], arrays["y_test"])
    x_train = _sequences.offset(x_train, start_char, index_from)
    x_test = _sequences.offset(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = _sequences.drop_long(maxlen, x_train, labels_train)
        x_test, labels_test = _sequences.drop_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"No {'training' if not x_train else 'test'} review is shorter "
                             f"than maxlen={maxlen}; increase `maxlen`.")
    xs = _sequences.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    cut = len(x_train)
    return ((_sequences.object_array(xs[:cut]), labels[:cut]),
            (_sequences.object_array(xs[cut:]), labels[cut:]))


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The word -> index mapping (before `index_from` is added), from Keras's JSON file."""
    name = "imdb_word_index.json"
    path = _common.fetch_verified(ORIGIN_FOLDER, name, FILE_HASHES[name], path)
    with open(path) as f:
        return json.load(f)
