"""TextVectorization: raw text to token indices or bag-of-words vectors, on the host.

Runs on the host, NumPy in and NumPy out (see `nhanh.layers.host_layer`): call it on a list or
NumPy array of strings, or apply it in the data pipeline (`BatchedDataset.map(layer)`, a
generator), and feed its numeric output to the model; strings never reach a device.

Steps, as in Keras: standardize (ASCII lowercasing, as TensorFlow's `strings.lower`, and/or
removing ASCII punctuation), split (on ASCII whitespace runs, or into Unicode characters),
join n-grams with spaces, then look tokens up in a StringLookup whose mask token is '' (index 0,
the padding of 'int' outputs). Callables replace the standardize and split steps: `standardize`
receives a NumPy array of str and returns one of the same shape; `split` receives a 1-D NumPy
array of str and returns one sequence of tokens per string.
"""

from __future__ import annotations

import re
import string
from typing import Callable

import numpy as np

from nhanh.layers.host_layer import HostLayer, adapt_batches, as_strings, encode_rows
from nhanh.layers.string_lookup import StringLookup

_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)
_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


class TextVectorization(HostLayer):
    """Turns strings into sequences of token indices ('int') or per-string vectors.

    Args:
        max_tokens: Largest vocabulary size, special tokens ('' in 'int' mode, '[UNK]')
            included; `None` for no cap.
        standardize: 'lower_and_strip_punctuation', 'lower', 'strip_punctuation', a callable,
            or None.
        split: 'whitespace', 'character', a callable, or None (each string is one token).
        ngrams: None, an int n (n-grams of sizes 1..n) or a tuple of sizes.
        output_mode: 'int', 'multi_hot', 'count' or 'tf_idf' ('one_hot' is accepted, as in
            Keras).
        output_sequence_length: With 'int': pad with 0 or cut each sequence to this length;
            None pads to the longest in the batch.
        pad_to_max_tokens: With the vector modes, output `max_tokens` columns.
        vocabulary: A list/tuple/1-D array of strings or a text file path (one per line).
        idf_weights: With 'tf_idf' and a given vocabulary: one weight per token.
        sparse: Must be False; sparse outputs are not supported.
        ragged: Must be False; 'int' outputs are dense, padded with 0.
        encoding: Text encoding of bytes inputs.
        name: Layer name.
    """

    def __init__(self, max_tokens: int | None = None,
                 standardize: str | Callable | None = "lower_and_strip_punctuation",
                 split: str | Callable | None = "whitespace", ngrams=None,
                 output_mode: str = "int", output_sequence_length: int | None = None,
                 pad_to_max_tokens: bool = False, vocabulary=None, idf_weights=None,
                 sparse: bool = False, ragged: bool = False, encoding: str = "utf-8",
                 name: str | None = None, **kwargs):
        if not (standardize is None or callable(standardize) or standardize in _STANDARDIZE):
            raise ValueError(f"TextVectorization: standardize must be one of {_STANDARDIZE}, a "
                             f"callable or None, got standardize={standardize!r}.")
        if not (split is None or callable(split) or split in _SPLIT):
            raise ValueError(f"TextVectorization: split must be one of {_SPLIT}, a callable or "
                             f"None, got split={split!r}.")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if not (ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool)
                                   and ngrams > 0)
                or (isinstance(ngrams, tuple) and all(isinstance(n, int) and n > 0
                                                      for n in ngrams))):
            raise ValueError("TextVectorization: ngrams must be None, a positive int or a tuple "
                             f"of positive ints, got ngrams={ngrams!r}.")
        if output_mode == "int" and output_sequence_length is not None and (
                isinstance(output_sequence_length, bool)
                or not isinstance(output_sequence_length, int) or output_sequence_length < 0):
            raise ValueError("TextVectorization: output_sequence_length must be None or an int "
                             f">= 0, got output_sequence_length={output_sequence_length!r}.")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError("TextVectorization: output_sequence_length is only used with "
                             f"output_mode='int', got output_mode={output_mode!r}.")
        if ragged:
            raise ValueError("TextVectorization: ragged=True is not supported in nhanh; 'int' "
                             "outputs are padded with 0. Use ragged=False.")
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            sparse=sparse, encoding=encoding, has_input_vocabulary=has_input_vocabulary,
            vocabulary_size=vocabulary_size, name=f"{self.name}_lookup")
        self._standardize, self._split, self._ngrams_arg = standardize, split, ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode, self._output_sequence_length = output_mode, output_sequence_length
        self._encoding = encoding
        self.dtype = self._lookup_layer.dtype

    # --- vocabulary ----------------------------------------------------------------------
    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary: '' (in 'int' mode) and '[UNK]', then tokens by frequency."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the vocabulary (list, tuple, 1-D array or file path) and 'tf_idf' weights."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def adapt(self, data, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary from strings: an array or list (each string a document), or an
        iterable of batches; `steps` caps the batches."""
        lookup = self._lookup_layer
        if lookup._has_input_vocabulary:
            raise ValueError(f"Layer {self.name!r} (TextVectorization) was given a vocabulary; "
                             "adapt() cannot replace it. Make a layer without `vocabulary`.")
        state = lookup._new_counts()
        for batch in adapt_batches(data, batch_size, steps, "TextVectorization"):
            tokens = self._preprocess(batch)
            lookup._count_rows(state, tokens if isinstance(tokens, list)
                               else tokens.reshape(1) if tokens.ndim == 0 else tokens)
        lookup._finalize_counts(state)

    # --- preprocessing -------------------------------------------------------------------
    def _standardized(self, texts: np.ndarray) -> np.ndarray:
        if callable(self._standardize):
            out = np.asarray(self._standardize(texts))
            return as_strings(out, self._encoding, "the standardize callable's output")
        if self._standardize is None:
            return texts
        lower = self._standardize in ("lower", "lower_and_strip_punctuation")
        strip = self._standardize in ("strip_punctuation", "lower_and_strip_punctuation")

        def one(s: str) -> str:
            if lower:
                s = s.translate(_LOWER)
            return s.translate(_NO_PUNCTUATION) if strip else s

        flat = [one(s) for s in texts.ravel().tolist()]
        return np.asarray(flat, dtype=str).reshape(texts.shape) if flat else texts

    def _preprocess(self, inputs):
        """Standardized, split, n-grammed tokens: a list of token lists (one per string) when
        splitting, else an array of tokens of the input's shape."""
        texts = self._standardized(as_strings(inputs, self._encoding, "TextVectorization "
                                              "inputs"))
        if self._split is None:
            if self._ngrams is not None:
                rows = texts.reshape(-1, texts.shape[-1]) if texts.ndim else texts.reshape(1, 1)
                return [self._ngrammed(list(r)) for r in rows.tolist()]
            return texts
        if texts.ndim > 1:
            if texts.shape[-1] != 1:
                raise ValueError(
                    f"Layer {self.name!r} (TextVectorization): to split strings the input must "
                    f"be 1-D or have a last axis of size 1, got shape {texts.shape}.")
            texts = texts[..., 0]
        texts = texts.reshape(-1) if texts.ndim else texts.reshape(1)
        if self._split == "whitespace":
            split = [[t for t in _WHITESPACE.split(s) if t] for s in texts.tolist()]
        elif self._split == "character":
            split = [list(s) for s in texts.tolist()]
        else:
            split = [[str(t) if not isinstance(t, bytes) else t.decode(self._encoding)
                      for t in (row.tolist() if hasattr(row, "tolist") else row)]
                     for row in self._split(texts)]
        return [self._ngrammed(tokens) for tokens in split]

    def _ngrammed(self, tokens: list) -> list:
        if self._ngrams is None:
            return tokens
        return [" ".join(tokens[i:i + n]) for n in self._ngrams
                for i in range(len(tokens) - n + 1)]

    # --- calling -------------------------------------------------------------------------
    def host_call(self, inputs):
        lookup = self._lookup_layer
        tokens = self._preprocess(inputs)
        if not isinstance(tokens, list):  # no split: the input's own shape
            if self._output_mode != "int" and tokens.ndim <= 1:
                tokens = tokens.reshape(-1, 1)
            out = lookup(tokens)
            length = self._output_sequence_length
            if self._output_mode == "int" and length is not None:
                out = out.reshape(1) if out.ndim == 0 else out[..., :length]
                out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, length - out.shape[-1])])
            return out
        flat = np.asarray([t for row in tokens for t in row], dtype=str)
        indices = lookup.lookup(flat) if flat.size else np.zeros(0, "int64")
        rows, start = [], 0
        for row in tokens:
            rows.append(indices[start:start + len(row)])
            start += len(row)
        lookup._called = True
        if self._output_mode == "int":
            length = self._output_sequence_length
            return _fit_length(rows, max((len(r) for r in rows), default=0)
                               if length is None else length)
        return encode_rows(rows, self._output_mode, lookup._depth(), lookup.dtype,
                           lookup.idf_weights)

    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        lookup = self._lookup_layer
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else lookup._frozen_vocab_size
        return (input_shape[0], depth)

    def get_config(self) -> dict:
        lookup = self._lookup_layer
        return {**super().get_config(), "max_tokens": lookup.max_tokens,
                "standardize": self._standardize, "split": self._split,
                "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": lookup.sparse,
                "ragged": False, "vocabulary": lookup.get_config()["vocabulary"],
                "idf_weights": lookup.get_config()["idf_weights"], "encoding": self._encoding,
                "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config_: dict) -> "TextVectorization":
        from nhanh.layers.index_lookup import refuse_vocabulary_path

        refuse_vocabulary_path(cls.__name__, config_)
        config_ = dict(config_)
        if isinstance(config_.get("ngrams"), list):
            config_["ngrams"] = tuple(config_["ngrams"])
        return cls(**config_)

    def save_own_variables(self, store) -> None:
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store) -> None:
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path: str) -> None:
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path: str) -> None:
        self._lookup_layer.load_assets(dir_path)


def _fit_length(rows: list, length: int) -> np.ndarray:
    """Rows of indices padded with 0 / cut to `length`, as one int64 array."""
    out = np.zeros((len(rows), length), dtype="int64")
    for i, row in enumerate(rows):
        row = np.asarray(row)[:length]
        out[i, :len(row)] = row
    return out
