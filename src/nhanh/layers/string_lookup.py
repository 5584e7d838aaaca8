"""StringLookup: strings to vocabulary indices (or encoded vectors), and back with invert=True.

Runs on the host, NumPy in and NumPy out (see `nhanh.layers.host_layer`): call it on lists or
NumPy arrays of str/bytes, or apply it in the data pipeline (`BatchedDataset.map(layer)`, a
generator). Its numeric outputs are what the rest of a model takes; strings never reach a
device. The vocabulary machinery is `nhanh.layers.index_lookup.IndexLookup`.
"""

from __future__ import annotations

from nhanh.layers.index_lookup import IndexLookup


class StringLookup(IndexLookup):
    """Maps strings to indices through a vocabulary given or learned with `adapt()`.

    Index 0 is the OOV index by default (`[UNK]`); with a `mask_token` in 'int' mode the mask
    takes 0 and OOV starts at 1. `adapt()` orders tokens by count, ties from high to low.

    Args:
        max_tokens: Largest vocabulary size, special tokens included; `None` for no cap.
        num_oov_indices: Indices for unknown strings (hashed with FarmHash64 when more than
            one); 0 makes an unknown string an error.
        mask_token: A string mapped to 0 in 'int' mode and dropped in the other modes.
        oov_token: What `invert=True` returns for OOV indices.
        vocabulary: A list/tuple/1-D array of strings, or a text file path (one per line).
        idf_weights: With 'tf_idf' and a given vocabulary, one weight per token.
        invert: Map indices back to strings (output_mode 'int' only).
        output_mode: 'int', 'one_hot', 'multi_hot', 'count' or 'tf_idf'.
        pad_to_max_tokens: Pad encoded outputs to `max_tokens`.
        sparse: Must be False; sparse outputs are not supported.
        encoding: Text encoding of bytes inputs.
        salt: SipHash64 key (an int or 2 ints) for the OOV buckets instead of FarmHash64.
        **kwargs: Base-layer keywords (`name`, ...) and `oov_method`.
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: str | None = None, oov_token: str = "[UNK]", vocabulary=None,
                 idf_weights=None, invert: bool = False, output_mode: str = "int",
                 pad_to_max_tokens: bool = False, sparse: bool = False,
                 encoding: str = "utf-8", name: str | None = None, salt=None, **kwargs):
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary_dtype="string",
                         vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, salt=salt, encoding=encoding,
                         name=name, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["vocabulary_dtype"]  # always strings
        return {**config, "encoding": self.encoding}
