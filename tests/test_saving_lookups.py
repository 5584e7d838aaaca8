"""tf-idf lookup layers in `.keras` files: their idf weights are stored as Keras 3's
IndexLookup.save_own_variables stores them (a dataset named "idf_weights" in the layer's
`vars` group, beside the vocabulary asset), and read back from there."""

import io
import zipfile

import h5py
import numpy as np
import pytest

import nhanh
from nhanh import layers

pytestmark = pytest.mark.engine_independent  # host layers: the same Python on each engine

DOCS = np.array([["cat dog"], ["dog emu dog"], ["dog cat fox"], ["cat"]])
WORDS = np.array([["cat", "dog"], ["dog", "emu"], ["dog", "cat"], ["dog", "fox"]])


def _model(kind):
    if kind == "StringLookup":
        layer, data, x = layers.StringLookup(output_mode="tf_idf"), WORDS, \
            nhanh.Input((2,), dtype="string")
    else:
        layer, data, x = layers.TextVectorization(output_mode="tf_idf"), DOCS, \
            nhanh.Input((1,), dtype="string")
    layer.adapt(data)
    return nhanh.Model(x, layer(x)), layer, data


def _weights_file(path) -> h5py.File:
    with zipfile.ZipFile(path) as z:
        return h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")


@pytest.mark.parametrize("kind", ["StringLookup", "TextVectorization"])
def test_tf_idf_lookup_saves_its_idf_weights_where_keras_does(kind, tmp_path):
    model, layer, data = _model(kind)
    lookup = layer._lookup_layer if kind == "TextVectorization" else layer
    path = tmp_path / "m.keras"
    model.save(path)
    group = "layers/" + {"StringLookup": "string_lookup",
                         "TextVectorization": "text_vectorization"}[kind] + "/vars"
    with _weights_file(path) as f:
        assert list(f[group]) == ["idf_weights"]
        np.testing.assert_allclose(f[group]["idf_weights"][()], lookup.idf_weights, rtol=1e-6)
        groups = []  # (TextVectorization's inner lookup writes its own too, as in Keras)
        f.visit(lambda name: groups.append(name) if name.endswith("/idf_weights") else None)
    want = model.predict(data, verbose=0)
    loaded = nhanh.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(data, verbose=0), want, rtol=1e-6)

    # The weights come from the file: doubled there, every tf-idf output doubles.
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "r+") as f:
        for name in groups:
            f[name][...] = 2 * f[name][()]
    members["model.weights.h5"] = buffer.getvalue()
    doubled = tmp_path / "doubled.keras"
    with zipfile.ZipFile(doubled, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    np.testing.assert_allclose(nhanh.models.load_model(doubled).predict(data, verbose=0),
                               2 * want, rtol=1e-6)


def test_weights_file_round_trip_and_a_refused_shape(tmp_path):
    model, layer, data = _model("StringLookup")
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    fresh, fresh_layer, _ = _model("StringLookup")
    fresh_layer.idf_weights = np.zeros_like(fresh_layer.idf_weights)
    fresh.load_weights(path)
    np.testing.assert_allclose(fresh_layer.idf_weights, layer.idf_weights, rtol=1e-6)
    with h5py.File(path, "r+") as f:  # one weight too few for the vocabulary
        weights = f["layers/string_lookup/vars/idf_weights"][()]
        del f["layers/string_lookup/vars/idf_weights"]
        f["layers/string_lookup/vars/idf_weights"] = weights[:-1]
    before = fresh_layer.idf_weights.copy()
    with pytest.raises(ValueError, match="saved from another vocabulary"):
        fresh.load_weights(path)
    np.testing.assert_array_equal(fresh_layer.idf_weights, before)
