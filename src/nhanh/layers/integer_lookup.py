"""IntegerLookup: integers to vocabulary indices (or encoded vectors), and back with invert=True.

Runs on the host, NumPy in and NumPy out (see `nhanh.layers.host_layer`): call it on lists or
NumPy integer arrays, or apply it in the data pipeline (`BatchedDataset.map(layer)`, a
generator); called eagerly on an engine's tensor it returns that engine's tensor. The
vocabulary machinery is `nhanh.layers.index_lookup.IndexLookup`.
"""

from __future__ import annotations

from nhanh.layers.index_lookup import IndexLookup


class IntegerLookup(IndexLookup):
    """Maps integers to indices through a vocabulary given or learned with `adapt()`.

    Index 0 is the OOV index by default (token -1); with a `mask_token` in 'int' mode the mask
    takes 0 and OOV starts at 1. `adapt()` orders tokens by count, ties from high to low.

    Args:
        max_tokens: Largest vocabulary size, special tokens included; `None` for no cap.
        num_oov_indices: Indices for unknown values (value modulo the count with
            oov_method='floormod', FarmHash64 of its decimal text with 'farmhash'); 0 makes an
            unknown value an error.
        mask_token: An integer mapped to 0 in 'int' mode and dropped in the other modes.
        oov_token: What `invert=True` returns for OOV indices.
        vocabulary: A list/tuple/1-D array of ints, or a text file path (one per line).
        vocabulary_dtype: Must be 'int64'.
        idf_weights: With 'tf_idf' and a given vocabulary, one weight per token.
        invert: Map indices back to values (output_mode 'int' only).
        output_mode: 'int', 'one_hot', 'multi_hot', 'count' or 'tf_idf'.
        sparse: Must be False; sparse outputs are not supported.
        pad_to_max_tokens: Pad encoded outputs to `max_tokens`.
        oov_method: 'floormod' or 'farmhash' (see num_oov_indices).
        salt: With oov_method='farmhash': SipHash64 key (an int or 2 ints) instead.
        **kwargs: Base-layer keywords (`name`, ...).
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: int | None = None, oov_token: int = -1, vocabulary=None,
                 vocabulary_dtype: str = "int64", idf_weights=None, invert: bool = False,
                 output_mode: str = "int", sparse: bool = False,
                 pad_to_max_tokens: bool = False, oov_method: str = "floormod", salt=None,
                 name: str | None = None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError("IntegerLookup: only vocabulary_dtype='int64' is supported, got "
                             f"vocabulary_dtype={vocabulary_dtype!r}.")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=None if mask_token is None else int(mask_token),
                         oov_token=None if oov_token is None else int(oov_token),
                         vocabulary_dtype="int64", vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
                         oov_method=oov_method, salt=salt, name=name, **kwargs)
