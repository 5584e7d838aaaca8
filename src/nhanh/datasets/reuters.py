"""Reuters newswires: 11,228 wires labelled with one of 46 topics, split into train and test.

Each wire is a list of word indices. The file is Keras's `reuters.npz`: its sequences are
pickled object arrays, unpickled only after the file's published sha256 matched, and with an
unpickler that accepts numpy arrays only (see `nhanh.datasets._common`).
"""

from __future__ import annotations

import json

import numpy as np

from nhanh.datasets import _common, _sequences

ORIGIN_FOLDER = _common.GCS_FOLDER
FILE_HASHES = {"reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
               "reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921"}
_LABELS = ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing",
           "money-supply", "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass",
           "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum",
           "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi",
           "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
           "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path: str = "reuters.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, test_split: float = 0.2, seed: int = 113,
              start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
              **kwargs):
    """Load the Reuters newswires, downloading them into the Keras cache the first time.

    Args:
        path: File name to cache the data under (in `~/.keras/datasets`).
        num_words: Keep the `num_words - 1` most frequent indices; others become `oov_char`.
            None keeps every index but the largest (as Keras does).
        skip_top: Indices below this (the most frequent words) become `oov_char` too.
        maxlen: Drop wires of `maxlen` words or more (counting `start_char`).
        test_split: Fraction of the (shuffled) wires put in the test set, the last ones.
        seed: Seed of the shuffle.
        start_char: Index put at the start of each wire; None puts none.
        oov_char: Index for words cut by `num_words` / `skip_top`; None drops them.
        index_from: Added to every word index, leaving room for the special indices.
        **kwargs: Keras 2's `nb_words`, accepted as `num_words`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 1-D object arrays of lists of ints, and the
        integer topic labels (see `get_label_names`).
    """
    nb_words = _sequences.check_kwargs(kwargs, "reuters.load_data")
    num_words = num_words if nb_words is None else nb_words
    path = _common.fetch_verified(ORIGIN_FOLDER, "reuters.npz", FILE_HASHES["reuters.npz"], path)
    arrays = _common.load_npz(path)
    xs, labels = _common.shuffled(np.random.RandomState(seed), arrays["x"], arrays["y"])
    xs = _sequences.offset(xs, start_char, index_from)
    xs, labels = _sequences.drop_long(maxlen, xs, labels)
    if not xs:
        raise ValueError(f"No wire is shorter than maxlen={maxlen}; increase `maxlen`.")
    xs = _sequences.limit_vocabulary(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    return ((_sequences.object_array(xs[:cut]), np.array(labels[:cut])),
            (_sequences.object_array(xs[cut:]), np.array(labels[cut:])))


def get_word_index(path: str = "reuters_word_index.json") -> dict[str, int]:
    """The word -> index mapping (before `index_from` is added), from Keras's JSON file."""
    name = "reuters_word_index.json"
    path = _common.fetch_verified(ORIGIN_FOLDER, name, FILE_HASHES[name], path)
    with open(path) as f:
        return json.load(f)


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed by label."""
    return _LABELS
