"""Keras 3's files, both ways, for every layer family (issue 11, "Keras 3's format, both ways").

Each case builds the same small model with real Keras 3 (on JAX, in this process) and with
nhanh: a `.keras` file Keras saved loads in nhanh and predicts what Keras predicts, one nhanh
saved loads in Keras and predicts what nhanh predicts, and the two libraries' `.weights.h5`
files for the same architecture hold the same (path, shape) datasets, so weights-only files
are interchangeable. nhanh also writes its seed generators' states, under
`<layer>/seed_generator/`, where Keras neither writes nor looks (saving_lib's docstring).
Keras's files are made once per run (shared by pytest-xdist's workers); only nhanh's side runs
once per engine.

Keras's lookup layers and Hashing need TensorFlow, which is not installed: the vocabularies are
checked against the layout Keras's IndexLookup.save_assets writes, and Discretization and the
rest at the config level against Keras's own classes.
"""

import json
import os
import zipfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import nhanh  # noqa: E402

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

RNG = np.random.default_rng(7)


def _f(*shape):
    return RNG.normal(size=shape).astype("float32")


# --- the cases: build(L) -> model, with L = keras or nhanh --------------------------------------
def dense(L):
    x = L.Input((4,))
    y = L.layers.Dense(5, activation="relu")(x)
    y = L.layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c")(y)
    return L.Model(x, y)


def embedding(L):
    return L.Sequential([L.Input((5,), dtype="int32"), L.layers.Embedding(10, 4),
                         L.layers.Flatten(), L.layers.Dense(2)])


def conv1d(L):
    return L.Sequential([L.Input((10, 3)), L.layers.Conv1D(4, 3, padding="same"),
                         L.layers.MaxPooling1D(2), L.layers.Conv1DTranspose(2, 3, strides=2),
                         L.layers.AveragePooling1D(2), L.layers.GlobalMaxPooling1D()])


def conv2d(L):
    return L.Sequential([
        L.Input((8, 8, 3)), L.layers.Conv2D(4, 3, activation="relu"),
        L.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
        L.layers.SeparableConv2D(3, 3, depth_multiplier=2),
        L.layers.Conv2DTranspose(2, 3, strides=2), L.layers.MaxPooling2D(),
        L.layers.ZeroPadding2D(1), L.layers.UpSampling2D(2), L.layers.Cropping2D(1),
        L.layers.AveragePooling2D(2), L.layers.GlobalAveragePooling2D()])


def conv3d(L):
    return L.Sequential([L.Input((5, 5, 5, 2)), L.layers.Conv3D(3, 2),
                         L.layers.Conv3DTranspose(2, 2), L.layers.MaxPooling3D(),
                         L.layers.GlobalAveragePooling3D()])


def reshaping_merging(L):
    a, b = L.Input((4, 6), name="a"), L.Input((4, 6), name="b")
    x = L.layers.Add()([a, b])
    x = L.layers.Concatenate()([x, L.layers.Multiply()([a, b]), L.layers.Subtract()([a, b]),
                                L.layers.Average()([a, b]), L.layers.Maximum()([a, b]),
                                L.layers.Minimum()([a, b])])
    x = L.layers.Permute((2, 1))(x)
    x = L.layers.Reshape((36, 4))(x)
    x = L.layers.Cropping1D((1, 1))(x)
    x = L.layers.ZeroPadding1D(2)(x)
    x = L.layers.UpSampling1D(2)(x)
    x = L.layers.Flatten()(x)
    x = L.layers.Dense(3)(x)
    d = L.layers.Dot(axes=1)([L.layers.RepeatVector(2)(x), L.layers.RepeatVector(2)(x)])
    return L.Model([a, b], [x, d])


def normalization(L):
    layers = [L.Input((6, 8)), L.layers.BatchNormalization(), L.layers.LayerNormalization(),
              L.layers.GroupNormalization(groups=4), L.layers.UnitNormalization(),
              L.layers.RMSNormalization(), L.layers.Dense(3)]
    return L.Sequential(layers)


def dropout(L):
    return L.Sequential([L.Input((4, 6)), L.layers.Dropout(0.3), L.layers.SpatialDropout1D(0.2),
                         L.layers.GaussianNoise(0.1), L.layers.GaussianDropout(0.1),
                         L.layers.AlphaDropout(0.1), L.layers.ActivityRegularization(0.01),
                         L.layers.Dense(2)])


def rnn(L):
    x = L.Input((5, 3))
    y = L.layers.LSTM(4, return_sequences=True)(x)
    y = L.layers.Bidirectional(L.layers.GRU(2, return_sequences=True))(y)
    y = L.layers.SimpleRNN(3, return_sequences=True)(y)
    y = L.layers.TimeDistributed(L.layers.Dense(3))(y)
    y = L.layers.RNN(L.layers.StackedRNNCells([L.layers.SimpleRNNCell(3),
                                               L.layers.LSTMCell(2)]))(y)
    return L.Model(x, y)


def conv_lstm(L):
    return L.Sequential([L.Input((3, 6, 6, 2)), L.layers.ConvLSTM2D(3, 3, padding="same"),
                         L.layers.Flatten(), L.layers.Dense(2)])


def attention(L):
    q, v = L.Input((4, 8), name="q"), L.Input((6, 8), name="v")
    a = L.layers.MultiHeadAttention(num_heads=2, key_dim=3)(q, v)
    b = L.layers.MultiHeadAttention(num_heads=1, key_dim=2, use_bias=False,
                                    use_gate=True, output_shape=(5,))(q, v, v)
    g = L.layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2,
                                     use_gate=True)(q, v)
    d = L.layers.Attention()([q, v])
    s = L.layers.AdditiveAttention()([q, v])
    return L.Model([q, v], L.layers.Concatenate()([a, b, g, d, s]))


CASES = {
    "dense": (dense, lambda: _f(3, 4)),
    "embedding": (embedding, lambda: RNG.integers(0, 10, size=(3, 5)).astype("int32")),
    "conv1d": (conv1d, lambda: _f(2, 10, 3)),
    "conv2d": (conv2d, lambda: _f(2, 8, 8, 3)),
    "conv3d": (conv3d, lambda: _f(2, 5, 5, 5, 2)),
    "reshaping_merging": (reshaping_merging, lambda: [_f(2, 4, 6), _f(2, 4, 6)]),
    "normalization": (normalization, lambda: _f(3, 6, 8)),
    "dropout": (dropout, lambda: _f(3, 4, 6)),
    "rnn": (rnn, lambda: _f(2, 5, 3)),
    "conv_lstm": (conv_lstm, lambda: _f(2, 3, 6, 6, 2)),
    "attention": (attention, lambda: [_f(2, 4, 8), _f(2, 6, 8)]),
}

_TEXT = np.array([[0.5, 1.0, 2.0], [3.0, -1.0, 0.0], [1.5, 2.5, 4.0], [0.0, 0.2, 9.0]],
                 dtype="float32")


def preprocessing(L):
    norm = L.layers.Normalization()
    norm.adapt(_TEXT)
    x, c = L.Input((3,), name="x"), L.Input((2,), dtype="int32", name="c")
    y = L.layers.Dense(2)(L.layers.Rescaling(0.5, offset=1.0)(norm(x)))
    codes = L.layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")(c)
    return L.Model([x, c], L.layers.Concatenate()([y, codes]))


def image_augmentation(L):
    return L.Sequential([
        L.Input((8, 8, 3)), L.layers.Rescaling(1 / 255.0), L.layers.Resizing(6, 6),
        L.layers.RandomFlip(seed=1), L.layers.RandomRotation(0.1, seed=2),
        L.layers.RandomZoom(0.1, seed=3), L.layers.RandomTranslation(0.1, 0.1, seed=4),
        L.layers.RandomContrast(0.2, seed=5), L.layers.RandomBrightness(0.1, seed=6),
        L.layers.CenterCrop(4, 4), L.layers.Conv2D(2, 3), L.layers.Flatten(),
        L.layers.Dense(2)])


def _double(x):
    return x * 2.0 + 1.0


keras.saving.register_keras_serializable(package="interop", name="double")(_double)
nhanh.saving.register_keras_serializable(package="interop", name="double")(_double)


def lambda_layer(L):
    return L.Sequential([L.Input((4,)), L.layers.Dense(3), L.layers.Lambda(_double),
                         L.layers.Lambda(L.activations.relu), L.layers.Dense(2)])


def nested(L):
    inner = L.Sequential([L.Input((4,)), L.layers.Dense(5, activation="tanh"),
                          L.layers.BatchNormalization(), L.layers.Dense(3)], name="inner")
    x = L.Input((4,))
    y = L.layers.Dense(4)(x)
    return L.Model(x, L.layers.Dense(2)(inner(y)))


def _tower_class(L):
    @L.saving.register_keras_serializable(package="interop")
    class Tower(L.Model):
        """A subclassed model with a constructor argument and a get_config."""

        def __init__(self, width=4, **kwargs):
            super().__init__(**kwargs)
            self.width = width
            self.hidden = L.layers.Dense(width, activation="relu")
            self.norm = L.layers.LayerNormalization()
            self.head = L.layers.Dense(2)

        def call(self, x):
            return self.head(self.norm(self.hidden(x)))

        def get_config(self):
            return {**super().get_config(), "width": self.width}

    return Tower


_TOWERS = {"keras": _tower_class(keras), "nhanh": _tower_class(nhanh)}


def subclassed(L):
    return _TOWERS[L.__name__](width=5)


CASES.update({
    "preprocessing": (preprocessing, lambda: [_TEXT[:3] + 0.25,
                                              np.array([[0, 1], [3, 3], [2, 0]], "int32")]),
    "image_augmentation": (image_augmentation, lambda: RNG.uniform(0, 255, (2, 8, 8, 3)).astype(
        "float32")),
    "lambda": (lambda_layer, lambda: _f(3, 4)),
    "nested": (nested, lambda: _f(3, 4)),
    "subclassed": (subclassed, lambda: _f(3, 4)),
})


def activations_1d(L):
    return L.Sequential([
        L.Input((6, 4)), L.layers.PReLU(), L.layers.LeakyReLU(0.2), L.layers.ELU(),
        L.layers.ReLU(max_value=3.0), L.layers.Softmax(), L.layers.Activation("gelu"),
        L.layers.Identity(), L.layers.DepthwiseConv1D(3, padding="same"),
        L.layers.SeparableConv1D(3, 2), L.layers.Dense(2)])


def volumes(L):
    return L.Sequential([L.Input((4, 4, 4, 2)), L.layers.ZeroPadding3D(1), L.layers.Cropping3D(1),
                         L.layers.UpSampling3D(2), L.layers.GlobalMaxPooling3D(),
                         L.layers.Dense(2)])


def masked_rnn(L):
    return L.Sequential([
        L.Input((5,), dtype="int32"), L.layers.Embedding(10, 4, mask_zero=True),
        L.layers.LSTM(3, go_backwards=True, return_sequences=True),
        L.layers.Bidirectional(L.layers.SimpleRNN(2), merge_mode="sum"), L.layers.Dense(2)])


def spectral_normalization(L):
    return L.Sequential([L.Input((4,)), L.layers.SpectralNormalization(L.layers.Dense(3)),
                         L.layers.Dense(2)])


def more_image_layers(L):
    # (RandomShear is left out: Keras cannot reload its own RandomShear config, whose
    # x_factor it writes as (-f, f) and then refuses as negative.)
    return L.Sequential([
        L.Input((8, 8, 3)), L.layers.RandomGrayscale(seed=2),
        L.layers.RandomHue(0.1, value_range=(0, 255), seed=3),
        L.layers.RandomSaturation(0.2, seed=4), L.layers.RandomSharpness(0.2, seed=5),
        L.layers.RandomErasing(seed=7), L.layers.Solarization(seed=8),
        L.layers.RandomPosterization(4, value_range=(0, 255), seed=9), L.layers.AutoContrast(),
        L.layers.RandomGaussianBlur(seed=10), L.layers.AdaptiveAveragePooling2D((2, 2)),
        L.layers.Reshape((4, 3)), L.layers.AdaptiveMaxPooling1D(2), L.layers.Flatten(),
        L.layers.Dense(2)])


def audio_and_reversible_embedding(L):
    a, t = L.Input((256,), name="audio"), L.Input((5,), dtype="int32", name="tokens")
    mel = L.layers.MelSpectrogram(fft_length=64, sequence_stride=32, num_mel_bins=8)(a)
    emb = L.layers.ReversibleEmbedding(10, 4)(t)
    return L.Model([a, t], L.layers.Concatenate()([L.layers.Flatten()(mel),
                                                   L.layers.Flatten()(emb)]))


CASES.update({
    "activations_1d": (activations_1d, lambda: _f(2, 6, 4)),
    "volumes": (volumes, lambda: _f(2, 4, 4, 4, 2)),
    "masked_rnn": (masked_rnn, lambda: np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 0]], "int32")),
    "spectral_normalization": (spectral_normalization, lambda: _f(3, 4)),
    "more_image_layers": (more_image_layers,
                          lambda: RNG.uniform(0, 255, (2, 8, 8, 3)).astype("float32")),
    "audio_and_reversible_embedding": (audio_and_reversible_embedding, lambda: [
        _f(2, 256), RNG.integers(0, 10, (2, 5)).astype("int32")]),
})

# --- the checks ---------------------------------------------------------------------------------
def _outputs(model, x) -> list:
    y = model(x, training=False)  # (Keras's augmentation layers default to training=True)
    lib = keras if isinstance(model, keras.Model) else nhanh
    return [lib.ops.convert_to_numpy(a) for a in (y if isinstance(y, (list, tuple)) else [y])]


def _datasets(path) -> set:
    """{(dataset path, shape)} of a weights file; nhanh's seed-generator states (which Keras
    neither writes nor reads) set apart."""
    out = set()
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.add((name, obj.shape))
                     if isinstance(obj, h5py.Dataset) else None)
    return out


def _without_seeds(paths: set) -> set:
    return {(p, s) for p, s in paths if "/seed_generator/" not in f"/{p}"}


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """Per case: (input, Keras's outputs, its .keras file, its .weights.h5 file), made once
    for the whole run: pytest-xdist's workers share the folder, one making each case under a
    lock while the others wait for it (Keras builds its RNNs slowly)."""
    import fcntl

    base = tmp_path_factory.getbasetemp()  # (under xdist, each worker's is one below the run's)
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "keras_files"
    root.mkdir(exist_ok=True)

    def get(name):
        folder = root / name
        with open(root / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / "done").exists():
                folder.mkdir(exist_ok=True)
                build, data = CASES[name]
                x = data()
                model = build(keras)
                outputs = _outputs(model, x)
                model.save(folder / "k.keras")
                model.save_weights(folder / "k.weights.h5")
                xs = x if isinstance(x, list) else [x]
                np.savez(folder / "arrays.npz", n_x=len(xs), is_list=isinstance(x, list),
                         **{f"x{i}": a for i, a in enumerate(xs)},
                         **{f"y{i}": a for i, a in enumerate(outputs)}, n_y=len(outputs))
                (folder / "done").touch()
        with np.load(folder / "arrays.npz") as f:
            xs = [f[f"x{i}"] for i in range(int(f["n_x"]))]
            x = xs if bool(f["is_list"]) else xs[0]
            outputs = [f[f"y{i}"] for i in range(int(f["n_y"]))]
        return x, outputs, folder / "k.keras", folder / "k.weights.h5"

    return get


def _close(got, want, what):
    assert len(got) == len(want), what
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=what)


# The file format does not depend on the engine: every family is checked on the first engine,
# and a representative set (dense, recurrent, attention, nested and subclassed models) on both.
ON_BOTH = ["dense", "rnn", "attention", "nested", "subclassed"]
ON_ONE = [name for name in CASES if name not in ON_BOTH]


@pytest.mark.parametrize("name", ON_BOTH)
def test_keras_files_load_in_nhanh(name, keras_files, tmp_path):
    _keras_to_nhanh(name, keras_files, tmp_path)


@pytest.mark.engine_independent
@pytest.mark.parametrize("name", ON_ONE)
def test_keras_files_of_every_family_load_in_nhanh(name, keras_files, tmp_path):
    _keras_to_nhanh(name, keras_files, tmp_path)


@pytest.mark.parametrize("name", ON_BOTH)
def test_nhanh_file_loads_in_keras(name, keras_files, tmp_path):
    _nhanh_to_keras(name, keras_files, tmp_path)


@pytest.mark.engine_independent
@pytest.mark.parametrize("name", ON_ONE)
def test_nhanh_files_of_every_family_load_in_keras(name, keras_files, tmp_path):
    _nhanh_to_keras(name, keras_files, tmp_path)


def _keras_to_nhanh(name, keras_files, tmp_path):
    x, want, keras_file, keras_weights = keras_files(name)
    model = nhanh.models.load_model(keras_file)
    _close(_outputs(model, x), want, f"{name}: Keras's .keras file, loaded by nhanh")
    # nhanh writes the same weights layout as Keras, and reads Keras's weights-only file.
    model.save_weights(tmp_path / "n.weights.h5")
    ours, theirs = _datasets(tmp_path / "n.weights.h5"), _datasets(keras_weights)
    assert _without_seeds(ours) == theirs, (
        f"{name}: weight paths only nhanh writes: {sorted(_without_seeds(ours) - theirs)}; "
        f"only Keras writes: {sorted(theirs - ours)}")
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(keras_weights)
    _close(_outputs(model, x), want, f"{name}: Keras's .weights.h5 file, loaded by nhanh")


def _nhanh_to_keras(name, keras_files, tmp_path):
    x = keras_files(name)[0]
    model = CASES[name][0](nhanh)
    want = _outputs(model, x)
    model.save(tmp_path / "n.keras")
    _close(_outputs(keras.saving.load_model(tmp_path / "n.keras"), x), want,
           f"{name}: nhanh's file, loaded by Keras")


# --- adapted vocabularies: Keras's assets -------------------------------------------------------
_WORDS = np.array([["cat", "dog"], ["dog", "emu"], ["dog", "cat"], ["dog", "fox"]])


def _lookup_model(kind):
    layers = nhanh.layers
    if kind == "StringLookup":
        layer, data, x = layers.StringLookup(), _WORDS, nhanh.Input((2,), dtype="string")
    elif kind == "IntegerLookup":
        layer, data = layers.IntegerLookup(), np.array([[7, 3], [3, 9], [3, 7], [3, 1]])
        x = nhanh.Input((2,), dtype="int64")
    else:
        layer, x = layers.TextVectorization(output_sequence_length=3), \
            nhanh.Input((1,), dtype="string")
        data = np.array([["cat dog"], ["dog emu dog"], ["dog cat fox"]])
    layer.adapt(data)
    return nhanh.Model(x, layer(x)), layer, data


@pytest.mark.parametrize("kind", ["StringLookup", "IntegerLookup", "TextVectorization"])
def test_adapted_vocabularies_are_keras_assets_read_only_from_the_archive(kind, tmp_path):
    model, layer, data = _lookup_model(kind)
    path = tmp_path / "m.keras"
    model.save(path)
    folder = "assets/layers/" + {"StringLookup": "string_lookup", "IntegerLookup": "integer_lookup",
                                 "TextVectorization": "text_vectorization"}[kind]
    with zipfile.ZipFile(path) as z:  # Keras's IndexLookup.save_assets layout
        vocab = z.read(f"{folder}/vocabulary.txt").decode()
        members = {i.filename: z.read(i) for i in z.infolist()}
        config_ = json.loads(members["config.json"])
    lookup = layer._lookup_layer if kind == "TextVectorization" else layer
    assert vocab == "\n".join(str(t) for t in lookup.get_vocabulary())
    entry = [e for e in config_["config"]["layers"] if e["class_name"] == kind][0]
    assert entry["config"]["vocabulary"] is None  # the tokens travel as the asset only
    want = model.predict(data, verbose=0)
    loaded = nhanh.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), want)
    # The vocabulary comes from the archive: another vocabulary there, other indices.
    tokens = vocab.split("\n")
    special = len(tokens) - len(lookup.get_vocabulary(include_special_tokens=False))
    swapped = tokens[:special] + tokens[special:][::-1]
    for name in [n for n in members if n.startswith(folder) and n.endswith("vocabulary.txt")]:
        members[name] = "\n".join(swapped).encode()
    other = tmp_path / "swapped.keras"
    with zipfile.ZipFile(other, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    reloaded = nhanh.models.load_model(other)
    got_vocab = (reloaded.layers[1]._lookup_layer if kind == "TextVectorization"
                 else reloaded.layers[1]).get_vocabulary()
    assert [str(t) for t in got_vocab] == swapped
    assert not np.array_equal(reloaded.predict(data, verbose=0), want)


# --- configs ------------------------------------------------------------------------------------
@pytest.mark.engine_independent
@pytest.mark.parametrize("make", [
    lambda L: L.layers.SpatialDropout1D(0.2, seed=3),
    lambda L: L.layers.SpatialDropout2D(0.2),
    lambda L: L.layers.SpatialDropout3D(0.2, data_format="channels_first"),
    lambda L: L.layers.Discretization(bin_boundaries=[0.0, 1.5]),
    lambda L: L.layers.Discretization(num_bins=4, epsilon=0.1, output_mode="one_hot"),
    lambda L: L.layers.GroupQueryAttention(head_dim=2, num_query_heads=2,
                                           num_key_value_heads=1),
], ids=["spatial1d", "spatial2d", "spatial3d", "discretization", "discretization_bins", "gqa"])
def test_configs_cross_both_ways(make):
    """Keras's config loads in nhanh and nhanh's in Keras (the layers Keras cannot run here
    without TensorFlow, such as Discretization, are checked at this level)."""
    ours, theirs = make(nhanh), make(keras)
    ours_entry = nhanh.saving.serialize_keras_object(ours)
    theirs_entry = keras.saving.serialize_keras_object(theirs)
    assert ours_entry["class_name"] == theirs_entry["class_name"]
    assert sorted(ours.get_config()) == sorted(theirs.get_config())
    back = keras.saving.deserialize_keras_object(ours_entry)
    assert type(back) is type(theirs)
    mine = nhanh.saving.deserialize_keras_object(theirs_entry)
    assert type(mine) is type(ours)
    for key, value in theirs.get_config().items():
        if key not in ("name", "dtype"):
            assert back.get_config()[key] == value, key
            assert mine.get_config()[key] == value, key


def test_adapted_discretization_boundaries_load_in_keras(tmp_path):
    layer = nhanh.layers.Discretization(num_bins=3)
    layer.adapt(_TEXT)
    model = nhanh.Sequential([nhanh.Input((3,)), layer])
    model.save(tmp_path / "d.keras")
    loaded = keras.saving.load_model(tmp_path / "d.keras")
    assert loaded.layers[0].bin_boundaries == [float(b) for b in layer.bin_boundaries]


def _tfsm_file(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.save(tmp_path / "plain.keras")
    with zipfile.ZipFile(tmp_path / "plain.keras") as z:
        members = {n: z.read(n) for n in z.namelist()}
    config_ = json.loads(members["config.json"])
    config_["config"]["layers"].insert(1, {  # as Keras writes a TFSMLayer (it needs TF here)
        "module": "keras.layers", "class_name": "TFSMLayer", "registered_name": None,
        "config": {"name": "tfsm", "filepath": "exported", "call_endpoint": "serve",
                   "call_training_endpoint": None, "trainable": False}})
    members["config.json"] = json.dumps(config_).encode()
    with zipfile.ZipFile(tmp_path / "tfsm.keras", "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    return tmp_path / "tfsm.keras"


def _quantized_file(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.quantize("int8")
    model.save(tmp_path / "int8.keras")
    return tmp_path / "int8.keras"


@pytest.mark.parametrize("make, name", [(_tfsm_file, "TFSMLayer"),
                                        (_quantized_file, "QuantizedDTypePolicy")])
def test_keras_objects_without_a_counterpart_fail_naming_the_class(make, name, tmp_path):
    path = make(tmp_path)
    with pytest.raises(ValueError, match=name):
        nhanh.models.load_model(path)


def test_compiled_keras_model_resumes_training_in_nhanh_and_back(tmp_path):
    """Optimizer slots and iteration count cross too: one more step in nhanh from Keras's file
    equals one more step in Keras, and Keras reads the state back from nhanh's file."""
    x = RNG.normal(size=(16, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse", jit_compile=False)  # (no XLA: faster here)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "k.keras")
    loaded = nhanh.models.load_model(tmp_path / "k.keras")
    assert isinstance(loaded.optimizer, nhanh.optimizers.Adam)
    assert int(nhanh.ops.convert_to_numpy(loaded.optimizer.iterations)) == 2
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    loaded.save(tmp_path / "n.keras")
    back = keras.saving.load_model(tmp_path / "n.keras")
    assert int(back.optimizer.iterations.numpy()) == 3
    for a, b in zip(back.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), nhanh.ops.convert_to_numpy(b), rtol=1e-6)
