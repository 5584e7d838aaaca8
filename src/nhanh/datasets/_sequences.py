"""The word-index sequence pipeline imdb and reuters share, in Keras's exact order.

After the shuffle: prepend `start_char` and add `index_from` to every index; drop sequences of
`maxlen` or more (Keras keeps only `len < maxlen`); then replace (or, with `oov_char=None`,
drop) indices outside `[skip_top, num_words)`. As in Keras, when `num_words` is not given it is
the largest index present, which is itself then out of range and becomes `oov_char`.

Sequences come back as a 1-D object array of Python lists. Keras builds it with
`np.array(lists, dtype=object)`, which turns into a 2-D array when every sequence happens to
have the same length (never with the real data); nhanh always returns the 1-D array.
"""

from __future__ import annotations

import numpy as np


def offset(xs, start_char: int | None, index_from: int) -> list[list[int]]:
    head = [] if start_char is None else [start_char]
    return [head + [w + index_from for w in x] for x in xs]


def drop_long(maxlen: int | None, xs: list, labels):
    if not maxlen:
        return xs, labels
    kept = [i for i, x in enumerate(xs) if len(x) < maxlen]
    return [xs[i] for i in kept], [labels[i] for i in kept]


def limit_vocabulary(xs: list, num_words: int | None, skip_top: int,
                     oov_char: int | None) -> list[list[int]]:
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is None:
        return [[w for w in x if skip_top <= w < num_words] for x in xs]
    return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]


def object_array(xs: list) -> np.ndarray:
    out = np.empty(len(xs), dtype=object)
    for i, x in enumerate(xs):  # item by item: a slice assignment would broadcast equal lengths
        out[i] = x
    return out


def check_kwargs(kwargs: dict, function: str) -> int | None:
    """Keras 2's `nb_words` is `num_words`; any other extra keyword is an error."""
    nb_words = kwargs.pop("nb_words", None)
    if kwargs:
        raise TypeError(f"{function}() got unexpected keyword arguments {sorted(kwargs)}.")
    return nb_words
