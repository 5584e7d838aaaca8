"""IndexLookup: the vocabulary machinery shared by StringLookup, IntegerLookup and
TextVectorization (Keras's semantics: indices, OOV buckets, mask token, inversion, encodings).

Runs on the host, NumPy in and NumPy out (see `nhanh.layers.host_layer`): the vocabulary is a
Python dict, and a lookup hashes each distinct input value once (`np.unique`). Call the layers
on lists or NumPy arrays, or apply them in the data pipeline (`BatchedDataset.map(layer)`, a
generator); called eagerly on an engine's tensor they return that engine's tensor.

Index layout (Keras's): [mask token, if set and output_mode == 'int'] + [OOV indices] +
[tokens]. `adapt()` orders tokens by count, ties by the token itself from high to low (as
Keras's TensorFlow tables do: bytes order for strings, which is code-point order).
Where nhanh differs from Keras: a 1-D batch from an iterable given to `adapt()` holds one
document per element (as a 1-D array does), where Keras counts the whole batch as one
document for 'tf_idf'; a vocabulary file may start with the special tokens, as a list may; a
size change of the vocabulary is refused only once the layer has been called.
"""

from __future__ import annotations

import collections
import os
from typing import Any

import numpy as np

from nhanh import config
from nhanh.layers.hashing import canonical_salt, hash_to_bins
from nhanh.layers.host_layer import (
    OUTPUT_MODES, HostLayer, adapt_batches, as_strings, encode, encoded_shape,
)


class IndexLookup(HostLayer):
    """Maps values to indices through a vocabulary (see the module docstring).

    Args:
        max_tokens: Largest vocabulary size (special tokens included); `None` for no cap.
        num_oov_indices: How many indices out-of-vocabulary values share (hashed when more than
            one); 0 makes an unknown value an error.
        mask_token: A value mapped to index 0 in 'int' mode and dropped in the other modes;
            `None` for no mask.
        oov_token: The value `invert=True` returns for OOV indices.
        vocabulary_dtype: `"string"` or `"int64"`.
        vocabulary: A list/tuple/1-D array of tokens, or the path of a text file with one
            token per line; `None` to `adapt()` instead.
        idf_weights: With output_mode 'tf_idf' and a given vocabulary: one weight per token.
        invert: Map indices back to tokens (output_mode 'int' only).
        output_mode: 'int', 'one_hot', 'multi_hot', 'count' or 'tf_idf'.
        pad_to_max_tokens: Pad encoded outputs to `max_tokens` (needs max_tokens).
        sparse: Must be False; sparse outputs are not supported.
        oov_method: 'floormod' (integer OOV values modulo the bucket count) or 'farmhash'.
        salt: With more than one OOV index: SipHash64 key (int or 2 ints) instead of FarmHash.
        encoding: Text encoding of bytes inputs.
        **kwargs: Base-layer keywords (`name`, ...).
    """

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype,
                 vocabulary=None, idf_weights=None, invert: bool = False,
                 output_mode: str = "int", sparse: bool = False,
                 pad_to_max_tokens: bool = False, oov_method: str = "floormod",
                 salt=None, encoding: str = "utf-8", **kwargs):
        cls = type(self).__name__
        frozen_size = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("dtype", None)  # the output dtype follows output_mode, as in Keras
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"{cls}: output_mode must be one of {OUTPUT_MODES}, got "
                             f"output_mode={output_mode!r}.")
        super().__init__(dtype="int64" if output_mode == "int" else config.floatx(), **kwargs)
        if max_tokens is not None and (isinstance(max_tokens, bool) or max_tokens <= 1):
            raise ValueError(f"{cls}: max_tokens, if set, must be an int greater than 1, got "
                             f"max_tokens={max_tokens!r}.")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{cls}: pad_to_max_tokens=True needs max_tokens to be set.")
        if isinstance(num_oov_indices, bool) or not isinstance(num_oov_indices, int) or \
                num_oov_indices < 0:
            raise ValueError(f"{cls}: num_oov_indices must be an int >= 0, got "
                             f"num_oov_indices={num_oov_indices!r}.")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{cls}: oov_method must be 'floormod' or 'farmhash', got "
                             f"oov_method={oov_method!r}.")
        if vocabulary_dtype not in ("string", "int64"):
            raise ValueError(f"{cls}: vocabulary_dtype must be 'string' or 'int64', got "
                             f"vocabulary_dtype={vocabulary_dtype!r}.")
        if salt is not None and vocabulary_dtype == "int64" and oov_method != "farmhash":
            raise ValueError(f"{cls}: salt is only used with oov_method='farmhash', got "
                             f"oov_method={oov_method!r}.")
        if invert and output_mode != "int":
            raise ValueError(f"{cls}: invert=True needs output_mode='int', got "
                             f"output_mode={output_mode!r}.")
        if sparse:
            raise ValueError(f"{cls}: sparse=True is not supported in nhanh; outputs are dense. "
                             "Use sparse=False.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{cls}: idf_weights is only used with output_mode='tf_idf', got "
                             f"output_mode={output_mode!r}.")
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None and \
                vocabulary is not None:
            raise ValueError(f"{cls}: with a given vocabulary and output_mode='tf_idf', give "
                             "idf_weights too (one per token).")
        self.max_tokens, self.num_oov_indices = max_tokens, num_oov_indices
        self.mask_token, self.oov_token = mask_token, oov_token
        self.vocabulary_dtype, self.invert, self.output_mode = vocabulary_dtype, invert, \
            output_mode
        self.sparse, self.pad_to_max_tokens = False, bool(pad_to_max_tokens)
        self.oov_method, self.encoding = oov_method, encoding
        self.salt = canonical_salt(salt, cls)
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, np.ndarray) \
            else vocabulary.tolist()
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input_vocabulary
        self._frozen_vocab_size = frozen_size
        self._called = False
        self._tokens: list = []
        self._index: dict = {}
        self.idf_weights = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # --- the vocabulary ------------------------------------------------------------------
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The vocabulary's size, mask and OOV indices included."""
        return self._token_start_index() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary, so that a token's position is its index (with the special tokens),
        or the learned/given tokens only."""
        vocab = [self.mask_token] * self._oov_start_index() + \
            [self.oov_token] * self.num_oov_indices + list(self._tokens)
        return vocab if include_special_tokens else vocab[self._token_start_index():]

    def _keys(self, data) -> np.ndarray:
        """Host values as lookup keys: str arrays, or int64 arrays for integer vocabularies."""
        if self.vocabulary_dtype == "string":
            return as_strings(data, self.encoding, f"{type(self).__name__} inputs")
        array = np.asarray(data)
        if array.dtype.kind == "f":
            if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
                raise ValueError(f"{type(self).__name__} looks up integers, but received "
                                 "non-integer floats. Round or cast them first.")
        elif array.dtype.kind not in "iub":
            raise TypeError(f"{type(self).__name__} looks up integers, but received an array "
                            f"of dtype {array.dtype}. Use StringLookup for strings.")
        return array.astype("int64")

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the vocabulary (list, tuple, 1-D array or text-file path) and, for 'tf_idf',
        the IDF weights (one per token; give the special tokens too to set theirs)."""
        cls = type(self).__name__
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{cls}: set_vocabulary() with output_mode='tf_idf' needs "
                             "idf_weights.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{cls}: idf_weights is only used with output_mode='tf_idf', got "
                             f"output_mode={self.output_mode!r}.")
        if isinstance(vocabulary, (str, os.PathLike)):
            path = os.fspath(vocabulary)
            if not os.path.isfile(path):
                raise ValueError(f"{cls}: vocabulary file {path!r} does not exist. Give an "
                                 "existing file with one token per line, or a list.")
            with open(path, encoding=self.encoding) as f:
                lines = f.read().splitlines()
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines if self.vocabulary_dtype == "string" else [int(v) for v in lines]
        vocabulary = np.asarray(
            vocabulary.tolist() if hasattr(vocabulary, "tolist") else list(vocabulary),
            dtype=object if self.vocabulary_dtype == "string" else None)
        if vocabulary.ndim != 1 or vocabulary.size == 0:
            raise ValueError(f"{cls}: the vocabulary must be a non-empty 1-D list of tokens, "
                             f"got shape {vocabulary.shape}.")
        tokens = self._keys(vocabulary).tolist()
        special = [self.mask_token] * self._oov_start_index() + \
            [self.oov_token] * self.num_oov_indices
        start = len(special)
        found_special = special == tokens[:start] if start else False
        if found_special:
            tokens = tokens[start:]
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{cls}: the vocabulary repeats the term(s) {repeated}; give each "
                             "term once.")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(
                f"{cls}: the mask token {self.mask_token!r} is in the vocabulary at an "
                f"unexpected place. Leave the special tokens out, or put them first in this "
                f"order: {special}.")
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise ValueError(
                f"{cls}: the OOV token {self.oov_token!r} is in the vocabulary at an "
                f"unexpected place. Leave the special tokens out, or put them first in this "
                f"order: {special}.")
        size = self._token_start_index() + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"{cls}: the vocabulary has {size} entries (special tokens "
                             f"included), more than max_tokens={self.max_tokens}.")
        weights = None
        if self.output_mode == "tf_idf":
            weights = np.asarray(idf_weights, dtype="float64")
            if weights.ndim != 1 or len(weights) != len(vocabulary):
                raise ValueError(f"{cls}: idf_weights must be 1-D with one weight per "
                                 f"vocabulary entry ({len(vocabulary)}), got shape "
                                 f"{weights.shape}.")
            if not found_special:  # the special tokens get the mean weight
                weights = np.concatenate([np.full(self._token_start_index(), weights.mean()),
                                          weights])
        self._set_tokens(tokens, weights)

    def _set_tokens(self, tokens: list, weights: np.ndarray | None) -> None:
        size = self._token_start_index() + len(tokens)
        if self._called and self._frozen_vocab_size is not None and \
                self.output_mode != "int" and not self.pad_to_max_tokens and \
                size != self._frozen_vocab_size:
            raise RuntimeError(
                f"Layer {self.name!r} ({type(self).__name__}): with output_mode="
                f"{self.output_mode!r} and pad_to_max_tokens=False the vocabulary size cannot "
                f"change after the layer was called (it was {self._frozen_vocab_size}, the "
                f"new one is {size}). Make a new layer, or set pad_to_max_tokens=True.")
        self._tokens = list(tokens)
        self._index = {t: i for i, t in enumerate(self._tokens, self._token_start_index())}
        if weights is not None:
            if self.pad_to_max_tokens:
                weights = np.concatenate([weights, np.zeros(self.max_tokens - len(weights))])
            self.idf_weights = weights.astype(config.floatx())
        self._frozen_vocab_size = size

    # --- adapt ---------------------------------------------------------------------------
    def adapt(self, data, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and, for 'tf_idf', the IDF weights) from `data`: an array
        or list (each row a document), or an iterable of batches; `steps` caps the batches."""
        if self._has_input_vocabulary:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) was given a "
                             "vocabulary; adapt() cannot replace it. Make a layer without "
                             "`vocabulary` to adapt it.")
        state = self._new_counts()
        for batch in adapt_batches(data, batch_size, steps, type(self).__name__):
            keys = self._keys(batch)
            self._count_rows(state, keys.reshape(1) if keys.ndim == 0 else keys)
        self._finalize_counts(state)

    @staticmethod
    def _new_counts() -> dict[str, Any]:
        return {"tokens": collections.Counter(), "docs": collections.Counter(), "n_docs": 0}

    def _count_rows(self, state: dict, rows) -> None:
        """Count tokens of `rows`: an array (each first-axis entry a document) or a list of
        1-D token arrays (ragged documents)."""
        if isinstance(rows, np.ndarray):
            values, counts = np.unique(rows, return_counts=True)
            state["tokens"].update(dict(zip(values.tolist(), counts.tolist())))
            rows = [r for r in (rows.reshape(len(rows), -1) if rows.ndim > 1 else rows[:, None])]
        else:
            for r in rows:
                state["tokens"].update(np.asarray(r).ravel().tolist())
        if self.output_mode == "tf_idf":
            for r in rows:
                state["docs"].update(set(np.asarray(r).ravel().tolist()))
            state["n_docs"] += len(rows)

    def _finalize_counts(self, state: dict) -> None:
        counts = state["tokens"]
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        if not counts:  # no data: the vocabulary stays as it was (as in Keras)
            return
        ordered = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        if self.max_tokens:
            ordered = ordered[:max(self.max_tokens - self._token_start_index(), 0)]
        tokens = [t for t, _ in ordered]
        weights = None
        if self.output_mode == "tf_idf":
            docs = np.asarray([state["docs"][t] for t in tokens], dtype="float64")
            idf = np.log(1.0 + state["n_docs"] / (1.0 + docs)).astype(config.floatx())
            weights = np.concatenate([np.full(self._token_start_index(), idf.mean()), idf])
        self._set_tokens(tokens, weights)

    # --- calling -------------------------------------------------------------------------
    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return self.max_tokens
        if not self._tokens and self._frozen_vocab_size is None:
            raise RuntimeError(
                f"Layer {self.name!r} ({type(self).__name__}): with output_mode="
                f"{self.output_mode!r} and pad_to_max_tokens=False, set the vocabulary (the "
                "`vocabulary` argument or adapt()) before calling the layer.")
        return self.vocabulary_size()

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """int64 indices of an array of keys (mask -> 0 in 'int' mode, -1 otherwise)."""
        flat = keys.ravel()
        unique, inverse = np.unique(flat, return_inverse=True)
        index = np.asarray([self._index.get(t, -1) for t in unique.tolist()], dtype="int64")
        is_mask = np.zeros(len(unique), bool)
        if self.mask_token is not None:
            is_mask = unique == self.mask_token
        missing = (index == -1) & ~is_mask
        if missing.any():
            if self.num_oov_indices == 0:
                raise ValueError(
                    f"Layer {self.name!r} ({type(self).__name__}) has num_oov_indices=0, so "
                    f"all inputs must be in the vocabulary, but received "
                    f"{unique[missing][:10].tolist()} (not in it). Set num_oov_indices=1 to "
                    "map unknown values to an OOV index.")
            index[missing] = self._oov_start_index() + self._oov_buckets(unique[missing])
        index[is_mask] = 0 if self.output_mode == "int" else -1
        return index[inverse].reshape(keys.shape)

    def _oov_buckets(self, values: np.ndarray) -> np.ndarray:
        n = self.num_oov_indices
        if n == 1:
            return np.zeros(len(values), "int64")
        if self.vocabulary_dtype == "int64" and self.oov_method == "floormod":
            return np.mod(values, n).astype("int64")
        return hash_to_bins(values, n, self.salt, self.encoding)

    def _invert(self, indices) -> np.ndarray:
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"Layer {self.name!r} ({type(self).__name__}) with invert=True "
                            f"maps integer indices to tokens, got dtype {indices.dtype}.")
        vocab = self.get_vocabulary()
        table = np.asarray(vocab + [self.oov_token],
                           dtype=str if self.vocabulary_dtype == "string" else "int64")
        out_of_range = (indices < 0) | (indices >= len(vocab))
        # Indices of OOV buckets and unknown indices give the OOV token (Keras's default).
        return table[np.where(out_of_range, len(vocab), indices)]

    def host_call(self, inputs):
        if self.invert:
            return self._invert(inputs)
        indices = self.lookup(self._keys(inputs))
        if self.output_mode == "int":
            return indices
        return encode(indices, self.output_mode, self._depth(), self.dtype, self.idf_weights)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        return encoded_shape(input_shape, self.output_mode, depth)

    # --- saving --------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary_dtype": self.vocabulary_dtype,
                "idf_weights": _listed(self.input_idf_weights),
                "vocabulary": self._vocabulary_for_config(),
                "vocabulary_size": self._frozen_vocab_size, "oov_method": self.oov_method,
                "salt": self.salt}

    def _vocabulary_for_config(self):
        """The vocabulary as given, except that a file the user named is stored as its
        tokens (with the special tokens when the given IDF weights count them): loading a
        config never reads paths."""
        if not isinstance(self.input_vocabulary, (str, os.PathLike)):
            return _listed(self.input_vocabulary)
        weights = self.input_idf_weights
        special = weights is not None and len(weights) == self.vocabulary_size()
        return self.get_vocabulary(include_special_tokens=special)

    @classmethod
    def from_config(cls, config_: dict) -> "IndexLookup":
        refuse_vocabulary_path(cls.__name__, config_)
        return cls(**config_)

    def save_own_variables(self, store) -> None:
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            store["idf_weights"] = np.asarray(self.idf_weights)

    def load_own_variables(self, store) -> None:
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            weights = np.asarray(store["idf_weights"], dtype=config.floatx())
            size = self.vocabulary_size()
            learned = self.get_vocabulary(include_special_tokens=False)  # (else: assets next)
            if len(learned) and weights.shape != (size,):
                raise ValueError(f"{type(self).__name__} {self.name!r}: the file holds "
                                 f"{weights.shape} idf weights for a vocabulary of {size} "
                                 "tokens; it was saved from another vocabulary.")
            self.idf_weights = weights

    def save_assets(self, dir_path: str) -> None:
        """Write the learned vocabulary (with special tokens) to `vocabulary.txt`."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(t) for t in self.get_vocabulary()))

    def load_assets(self, dir_path: str) -> None:
        if self.input_vocabulary is not None:
            return
        was, self._has_input_vocabulary = self._has_input_vocabulary, False
        weights = self.idf_weights if self.output_mode == "tf_idf" else None
        try:
            path = os.path.join(dir_path, "vocabulary.txt")
            self.set_vocabulary(path, weights)
        finally:
            self._has_input_vocabulary = was


def refuse_vocabulary_path(cls_name: str, config_: dict) -> None:
    """Refuse a config whose vocabulary is a file path, in safe mode: a file being loaded
    must not make nhanh read another file (Keras's CVE-2025-12058). A layer you construct
    yourself may still read your vocabulary file; a loaded one gets its tokens from the
    config or from the archive."""
    from nhanh.saving import serialization_lib

    path = config_.get("vocabulary")
    if isinstance(path, (str, os.PathLike)) and serialization_lib.in_safe_mode():
        raise serialization_lib.UnsafeObjectError(
            f"{cls_name} {config_.get('name')!r}: the config names the vocabulary file "
            f"{os.fspath(path)!r}; loading a config never reads files outside the model file "
            "(a crafted file could make it read any file you can). If you trust the file, "
            "load it with safe_mode=False; else set the vocabulary yourself with "
            "layer.set_vocabulary(...).")


def _listed(value):
    if value is None or isinstance(value, (str, os.PathLike)):
        return None if value is None else os.fspath(value)
    value = value.tolist() if hasattr(value, "tolist") else list(value)
    return [v.item() if isinstance(v, np.generic) else v for v in value]
