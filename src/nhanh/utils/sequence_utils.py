"""pad_sequences: lists of different lengths made into one rectangular NumPy array."""

from __future__ import annotations

import numpy as np


def pad_sequences(sequences, maxlen: int | None = None, dtype="int32", padding: str = "pre",
                  truncating: str = "pre", value=0.0) -> np.ndarray:
    """Pad (or cut) each sequence to the same length, as Keras does.

    Args:
        sequences: List (or other sized iterable) of sequences; each is a list or array
            whose items may themselves be arrays (all of one shape).
        maxlen: Length of the result; `None` uses the longest sequence.
        dtype: Dtype of the result; use `object` (or a str dtype) for strings.
        padding: 'pre' or 'post': pad before or after each sequence.
        truncating: 'pre' or 'post': drop values from the start or the end of sequences
            longer than `maxlen`.
        value: The padding value.

    Returns:
        A NumPy array of shape `(len(sequences), maxlen, *item_shape)`.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be a list (or other sized iterable) of sequences, "
                         f"got a {type(sequences).__name__}.")
    for name, arg in (("padding", padding), ("truncating", truncating)):
        if arg not in ("pre", "post"):
            raise ValueError(f"`{name}` must be 'pre' or 'post', got {arg!r}.")
    if maxlen is not None and (isinstance(maxlen, bool) or int(maxlen) != maxlen or maxlen < 0):
        raise ValueError(f"`maxlen` must be a non-negative int or None, got {maxlen!r}.")
    lengths, item_shape = [], None
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError:
            raise ValueError(f"`sequences` must hold sequences, but item {i} is {seq!r} "
                             f"(a {type(seq).__name__}); wrap single values in a list.") from None
        if item_shape is None and len(seq):
            item_shape = np.asarray(seq).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    maxlen = int(maxlen)
    is_text = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(f"`value` {value!r} is a string but `dtype` is {dtype!r}; for "
                         "sequences of strings pass dtype=object.")
    out = np.full((len(lengths), maxlen) + item_shape, value, dtype=dtype)
    for i, seq in enumerate(sequences):
        if not len(seq) or not maxlen:
            continue
        kept = np.asarray(seq[-maxlen:] if truncating == "pre" else seq[:maxlen], dtype=dtype)
        if kept.shape[1:] != item_shape:
            raise ValueError(f"Sequence {i} has items of shape {kept.shape[1:]}, but the first "
                             f"non-empty sequence's items have shape {item_shape}; all items "
                             "must share one shape.")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out
