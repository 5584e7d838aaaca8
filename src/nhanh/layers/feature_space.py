"""FeatureSpace: Keras 3's one-stop preprocessing of structured data (a dict of columns).

Each feature names how it is encoded (`"float_normalized"`, `"string_categorical"`, or a
`FeatureSpace.<kind>(...)` spec); `adapt()` learns vocabularies, means and bins from data;
calling the space on a dict of columns gives one concatenated vector per sample, or a dict of
encoded features. As in Keras, categorical features are looked up (or hashed) to an index,
then one-hot encoded with the index space's size; crosses hash the *looked-up* indices of
their features; `concat` orders features by sorted name, then crosses by sorted name.

Differences from Keras, and why: Keras routes every call through TensorFlow (tf.data in
`adapt`); nhanh has no TensorFlow, so `adapt` takes a dict of arrays or any iterable of dict
batches (a generator, a list of dicts), and a call on host data computes on the host and
returns NumPy arrays, as nhanh's other host-side preprocessing layers do. For a model, build
it on `get_inputs()` / `get_encoded_features()`: its lookups and hashes are host layers, so
the model trains on raw dicts of strings and numbers (training/host_prefix.py).
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable

import numpy as np

from nhanh import layers, ops
from nhanh.layers.layer import Layer
from nhanh.layers.serialization import deserialize, serialize
from nhanh.layers.symbolic import is_symbolic

FEATURE_MODES = ("int", "one_hot", "float")
_counter = itertools.count()


def _auto(kind: str, name: str | None) -> str:
    return name or f"{kind}_{next(_counter)}"


class Cross:
    """A hashed cross of features (`FeatureSpace.cross`)."""

    def __init__(self, feature_names, crossing_dim: int, output_mode: str = "one_hot"):
        if output_mode not in ("int", "one_hot"):
            raise ValueError("Cross: output_mode must be 'int' or 'one_hot', got "
                             f"output_mode={output_mode!r}.")
        self.feature_names = tuple(feature_names)
        self.crossing_dim, self.output_mode = crossing_dim, output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict:
        return {"feature_names": self.feature_names, "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict) -> "Cross":
        return cls(**config)


class Feature:
    """One feature: its input dtype, the layer that preprocesses it, and how its output is
    encoded ('int': kept as indices, 'one_hot': one-hot of the index space, 'float': as is)."""

    def __init__(self, dtype: str, preprocessor, output_mode: str):
        if output_mode not in FEATURE_MODES:
            raise ValueError(f"Feature: output_mode must be one of {FEATURE_MODES}, got "
                             f"output_mode={output_mode!r}.")
        if isinstance(preprocessor, dict):
            preprocessor = deserialize(preprocessor, custom_objects={"_Identity": _Identity})
        self.dtype, self.preprocessor, self.output_mode = dtype, preprocessor, output_mode

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "preprocessor": serialize(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict) -> "Feature":
        return cls(**config)


def _spec_config(spec) -> dict:
    return {"module": "keras.utils", "class_name": type(spec).__name__,
            "config": spec.get_config(), "registered_name": type(spec).__name__}


def _spec_from(value):
    if isinstance(value, dict) and value.get("class_name") in ("Feature", "Cross"):
        cls = Feature if value["class_name"] == "Feature" else Cross
        return cls.from_config(value["config"])
    return value


class _Identity(Layer):
    """A float feature passed through (Keras's `float` feature)."""

    def call(self, x):
        return x


class FeatureSpace(Layer):
    """Preprocess and encode a dict of feature columns (see the module docstring).

    Args:
        features: {name: kind or spec}; kinds: "float", "float_rescaled", "float_normalized",
            "float_discretized", "integer_categorical", "string_categorical",
            "integer_hashed", "string_hashed"; specs from `FeatureSpace.<kind>(...)` or
            `FeatureSpace.feature(dtype, preprocessor, output_mode)`.
        output_mode: "concat" (one vector per sample) or "dict" (one array per feature).
        crosses: Features to cross, as tuples of names or `FeatureSpace.cross(...)` specs.
        crossing_dim: Hash bins of a cross given as a tuple of names.
        hashing_dim: Hash bins of the "integer_hashed" / "string_hashed" kinds.
        num_discretization_bins: Bins of the "float_discretized" kind.
        name: Name of the layer; `None` derives a unique one.
    """

    # --- feature specs (Keras's constructors) ------------------------------------------------
    @classmethod
    def cross(cls, feature_names, crossing_dim: int, output_mode: str = "one_hot") -> Cross:
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype: str, preprocessor, output_mode: str) -> Feature:
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name: str | None = None) -> Feature:
        return Feature("float32", _Identity(name=f"{_auto('float', name)}_preprocessor"),
                       "float")

    @classmethod
    def float_rescaled(cls, scale: float = 1.0, offset: float = 0.0,
                       name: str | None = None) -> Feature:
        layer = layers.Rescaling(scale=scale, offset=offset,
                                 name=f"{_auto('float_rescaled', name)}_preprocessor")
        return Feature("float32", layer, "float")

    @classmethod
    def float_normalized(cls, name: str | None = None) -> Feature:
        layer = layers.Normalization(axis=-1,
                                     name=f"{_auto('float_normalized', name)}_preprocessor")
        return Feature("float32", layer, "float")

    @classmethod
    def float_discretized(cls, num_bins: int | None, bin_boundaries=None,
                          output_mode: str = "one_hot", name: str | None = None) -> Feature:
        layer = layers.Discretization(num_bins=num_bins, bin_boundaries=bin_boundaries,
                                      name=f"{_auto('float_discretized', name)}_preprocessor")
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                            output_mode: str = "one_hot", name: str | None = None) -> Feature:
        layer = layers.IntegerLookup(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                                     name=f"{_auto('integer_categorical', name)}_preprocessor")
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                           output_mode: str = "one_hot", name: str | None = None) -> Feature:
        layer = layers.StringLookup(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                                    name=f"{_auto('string_categorical', name)}_preprocessor")
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins: int, output_mode: str = "one_hot",
                      name: str | None = None) -> Feature:
        layer = layers.Hashing(num_bins=num_bins,
                               name=f"{_auto('string_hashed', name)}_preprocessor")
        return Feature("string", layer, output_mode)

    @classmethod
    def integer_hashed(cls, num_bins: int, output_mode: str = "one_hot",
                       name: str | None = None) -> Feature:
        layer = layers.Hashing(num_bins=num_bins,
                               name=f"{_auto('integer_hashed', name)}_preprocessor")
        return Feature("int32", layer, output_mode)

    # --- construction ----------------------------------------------------------------------
    def __init__(self, features: dict, output_mode: str = "concat", crosses=None,
                 crossing_dim: int = 32, hashing_dim: int = 32,
                 num_discretization_bins: int = 32, name: str | None = None):
        super().__init__(name=name)
        if not features or not isinstance(features, dict):
            raise ValueError("FeatureSpace: features must be a non-empty dict {name: kind or "
                             f"spec}}, got features={features!r}.")
        if output_mode not in ("concat", "dict"):
            raise ValueError("FeatureSpace: output_mode must be 'concat' or 'dict', got "
                             f"output_mode={output_mode!r}.")
        self.output_mode, self.crossing_dim = output_mode, crossing_dim
        self.hashing_dim, self.num_discretization_bins = hashing_dim, num_discretization_bins
        self.features = {n: self._standardize(n, v) for n, v in features.items()}
        self.crosses = [self._standardize_cross(c, set(features)) for c in crosses or []]
        self.crosses_by_name = {c.name: c for c in self.crosses}
        if output_mode == "concat":
            raw = [n for n, s in [*self.features.items(), *self.crosses_by_name.items()]
                   if s.output_mode == "int"]
            if raw:
                raise ValueError(f"FeatureSpace: features {raw} have output_mode='int' (indices "
                                 "are not encoded), so they cannot be concatenated. Use "
                                 "output_mode='dict', or 'one_hot' for those features.")
        self.preprocessors = {n: f.preprocessor for n, f in self.features.items()}
        self.crossers = {c.name: layers.HashedCrossing(c.crossing_dim, name=c.name)
                         for c in self.crosses}
        self.one_hot_encoders: dict[str, Layer] = {}
        self.inputs = {n: _input(n, f.dtype) for n, f in self.features.items()}
        self.encoded_features = None
        self._is_adapted = not self._adaptable()
        self._encoders_built = False

    def _standardize(self, name: str, value) -> Feature:
        value = _spec_from(value)
        if isinstance(value, Feature):
            return value
        makers = {"float": lambda: self.float(name=name),
                  "float_normalized": lambda: self.float_normalized(name=name),
                  "float_rescaled": lambda: self.float_rescaled(name=name),
                  "float_discretized": lambda: self.float_discretized(
                      self.num_discretization_bins, name=name),
                  "integer_categorical": lambda: self.integer_categorical(name=name),
                  "string_categorical": lambda: self.string_categorical(name=name),
                  "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
                  "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name)}
        if value not in makers:
            raise ValueError(f"FeatureSpace: feature {name!r} has an unknown type {value!r}; "
                             f"use one of {sorted(makers)} or a FeatureSpace.<kind>() spec.")
        return makers[value]()

    def _standardize_cross(self, cross, known: set) -> Cross:
        cross = _spec_from(cross)
        if not isinstance(cross, Cross):
            if not self.crossing_dim:
                raise ValueError("FeatureSpace: crosses given as names need crossing_dim (the "
                                 f"number of hash bins), got crossing_dim={self.crossing_dim!r}.")
            cross = Cross(cross, self.crossing_dim)
        unknown = [n for n in cross.feature_names if n not in known]
        if unknown:
            raise ValueError(f"FeatureSpace: cross {cross.feature_names} names features "
                             f"{unknown} that are not in `features` ({sorted(known)}).")
        return cross

    # --- adapt -------------------------------------------------------------------------------
    def _adaptable(self) -> list[str]:
        """Features whose preprocessor learns from data and was not given its state."""
        names = []
        for name, layer in self.preprocessors.items():
            given = getattr(layer, "input_mean", None) is not None or \
                getattr(layer, "_has_input_vocabulary", False) or \
                getattr(getattr(layer, "_lookup_layer", None), "_has_input_vocabulary", False) \
                or getattr(layer, "bin_boundaries", None) is not None
            if hasattr(layer, "adapt") and not given:
                names.append(name)
        return names

    def adapt(self, dataset, verbose: int = 1) -> None:
        """Learn each preprocessor's state (vocabularies, means, bins) from a dict of arrays or
        an iterable of dict batches (read once, whole, into memory)."""
        columns = _columns(dataset, list(self.features))
        for name in self._adaptable():
            self.preprocessors[name].adapt(columns[name])
        self._is_adapted = True
        self._encoders_built = False
        self.encoded_features = None
        self.get_encoded_features()
        self.built = True

    def _check_adapted(self) -> None:
        if not self._is_adapted:
            raise ValueError("You need to call `.adapt(dataset)` on the FeatureSpace before "
                             f"you can use it: features {self._adaptable()} learn from data.")

    # --- encoding ----------------------------------------------------------------------------
    def _cardinality(self, name: str, layer) -> int:
        if isinstance(layer, (layers.IntegerLookup, layers.StringLookup)):
            return int(layer.vocabulary_size())
        if isinstance(layer, layers.Discretization):
            return int(layer.num_bins or len(layer.bin_boundaries) + 1)
        if isinstance(layer, (layers.Hashing, layers.HashedCrossing)):
            return int(layer.num_bins)
        if isinstance(layer, layers.CategoryEncoding):
            return int(layer.num_tokens)
        raise ValueError(f"Feature {name!r} has output_mode='one_hot', but the size of its "
                         f"preprocessor's ({type(layer).__name__}) output space is not known, "
                         "so it cannot be one-hot encoded. Use output_mode='int'.")

    def _build_encoders(self) -> None:
        if self._encoders_built:
            return
        self._check_adapted()
        specs = {**self.features, **self.crosses_by_name}
        owners = {**self.preprocessors, **self.crossers}
        self.one_hot_encoders = {
            name: layers.CategoryEncoding(num_tokens=self._cardinality(name, owners[name]),
                                          output_mode="multi_hot")
            for name, spec in specs.items() if spec.output_mode == "one_hot"}
        self._encoders_built = True

    def _encode(self, data: dict, host: bool):
        """The encoded features of a dict of (samples, 1) columns, symbolic or on the host."""
        self._build_encoders()
        values = {n: self.preprocessors[n](data[n]) for n in sorted(self.features)}
        values.update({c.name: self.crossers[c.name]([values[n] for n in c.feature_names])
                       for c in sorted(self.crosses, key=lambda c: c.name)})
        out = {}
        for name, value in values.items():
            encoder = self.one_hot_encoders.get(name)
            if encoder is not None:
                value = encoder(value)
            out[name] = _to_numpy(value) if host else value
        if self.output_mode == "dict":
            return out
        parts = [out[n] for n in sorted(self.features)] + \
            [out[c] for c in sorted(self.crosses_by_name)]
        if host:
            return np.concatenate([p.astype("float32") for p in parts], axis=-1)
        return layers.Concatenate(axis=-1)([ops.cast(p, "float32") if p.dtype != "float32"
                                            else p for p in parts])

    def get_inputs(self) -> dict:
        """The model's `Input`s, one per feature, named as the features (shape (1,))."""
        self._check_adapted()
        return self.inputs

    def get_encoded_features(self):
        """The encoded features computed from `get_inputs()` (a symbolic tensor or dict)."""
        self._check_adapted()
        if self.encoded_features is None:
            self.encoded_features = self._encode(self.inputs, host=False)
        return self.encoded_features

    def __call__(self, data: dict, *args, **kwargs):
        if not isinstance(data, dict):
            raise ValueError("A FeatureSpace is called on a dict {feature name: values}, got "
                             f"data of type {type(data).__name__}.")
        missing = [n for n in self.features if n not in data]
        if missing:
            raise ValueError(f"FeatureSpace: data lacks features {missing}; it has "
                             f"{sorted(data)}.")
        if is_symbolic(list(data.values())):
            return self._encode(data, host=False)
        columns, single = {}, False
        for name in self.features:
            value = data[name]
            array = _to_numpy(value) if ops.is_tensor(value) else np.asarray(value)
            single = single or array.ndim == 0
            columns[name] = array.reshape(-1, 1) if array.ndim <= 1 else array
        out = self._encode(columns, host=True)
        if single:  # one unbatched sample in, one out
            return out[0] if self.output_mode == "concat" else {k: v[0] for k, v in out.items()}
        return out

    # --- configuration -----------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name,
                "features": {n: _spec_config(f) for n, f in self.features.items()},
                "output_mode": self.output_mode,
                "crosses": [_spec_config(c) for c in self.crosses],
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config: dict) -> "FeatureSpace":
        return cls(**config)


def _input(name: str, dtype: str):
    from nhanh.layers.input_layer import Input

    return Input(shape=(1,), dtype=dtype, name=name)


def _to_numpy(value) -> np.ndarray:
    return ops.convert_to_numpy(value) if ops.is_tensor(value) else np.asarray(value)


def _columns(dataset: Any, names: list[str]) -> dict[str, np.ndarray]:
    """Each feature's values as one (samples, 1) (or (samples, ...)) column."""
    if isinstance(dataset, dict):
        batches: Iterable = [dataset]
    elif hasattr(dataset, "__iter__") and not isinstance(dataset, (str, bytes, np.ndarray)):
        batches = dataset
    else:
        raise ValueError("FeatureSpace.adapt() takes a dict of arrays/lists or an iterable of "
                         f"such dicts (batches), got {type(dataset).__name__}.")
    parts: dict[str, list] = {n: [] for n in names}
    for batch in batches:
        if isinstance(batch, tuple):  # (x, y) batches: only x is read
            batch = batch[0]
        if not isinstance(batch, dict):
            raise ValueError("FeatureSpace.adapt(): each batch must be a dict {feature name: "
                             f"values}}, got {type(batch).__name__}.")
        for n in names:
            if n not in batch:
                raise ValueError(f"FeatureSpace.adapt(): a batch lacks feature {n!r}; it has "
                                 f"{sorted(batch)}.")
            array = _to_numpy(batch[n])
            parts[n].append(array.reshape(-1, 1) if array.ndim <= 1 else array)
    if not parts[names[0]]:
        raise ValueError("FeatureSpace.adapt(): the dataset yielded no batches.")
    return {n: np.concatenate(p) for n, p in parts.items()}
