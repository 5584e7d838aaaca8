"""Host preprocessing layers (StringLookup, IntegerLookup, Hashing, HashedCrossing,
Discretization, TextVectorization) against Keras 3.

Keras implements all but Discretization with TensorFlow, which is not installed here, so
those are checked against the values in Keras's own docstrings and tests (computed by
TensorFlow) and against published hash test vectors; Discretization runs against real Keras.
Closed forms (tf-idf) are computed independently with NumPy.
"""

import os

import numpy as np
import pytest

from nhanh import ops
from nhanh.layers.discretization import Discretization
from nhanh.layers.hashed_crossing import HashedCrossing
from nhanh.layers.hashing import Hashing, fingerprint64, siphash64
from nhanh.layers.integer_lookup import IntegerLookup
from nhanh.layers.string_lookup import StringLookup
from nhanh.layers.text_vectorization import TextVectorization
from conftest import to_numpy

host_only = pytest.mark.engine_independent
LETTERS = [["A"], ["B"], ["C"], ["D"], ["E"]]
WIRE = [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]]


def keras_layers():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    return keras.layers


# --- hashes ------------------------------------------------------------------------------------
@host_only
def test_hash_functions_give_published_test_vectors():
    # FarmHash Fingerprint64 ("forever frozen" values of TensorFlow's fingerprint tests).
    assert fingerprint64(b"") == 0x9AE16A3B2F90404F
    assert fingerprint64(b"Hello") == 15404698994557526151
    assert fingerprint64(b"World") == 18308117990299812472
    # SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e.
    key = (int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)),
                                                                      "little"))
    assert siphash64(bytes(range(15)), key) == 0xA129CA6149BE45E5


@host_only
def test_hashing_matches_keras_bins():
    # Expected values: Keras's hashing_test.py / docstring (TensorFlow's to_hash_bucket_*).
    np.testing.assert_array_equal(Hashing(3)(LETTERS), [[1], [0], [1], [1], [2]])
    np.testing.assert_array_equal(Hashing(3, mask_value="")([["A"], ["B"], [""], ["C"], ["D"]]),
                                  [[1], [1], [0], [2], [2]])
    np.testing.assert_array_equal(Hashing(3, salt=[133, 137])(LETTERS),
                                  [[1], [2], [1], [0], [2]])
    np.testing.assert_array_equal(Hashing(3, salt=133)(LETTERS), [[0], [0], [2], [1], [0]])
    np.testing.assert_array_equal(Hashing(2)(WIRE), [[0], [0], [1], [0], [0]])
    np.testing.assert_array_equal(Hashing(3, mask_value="")(WIRE), [[1], [1], [2], [1], [1]])
    np.testing.assert_array_equal(Hashing(3, mask_value="omar")(WIRE),
                                  [[0], [1], [2], [1], [1]])
    np.testing.assert_array_equal(Hashing(2, salt=[211, 137])(WIRE), [[1], [0], [1], [0], [1]])
    ints = np.asarray([[0], [1], [2], [3], [4]])
    np.testing.assert_array_equal(Hashing(3)(ints), [[1], [0], [1], [0], [2]])
    np.testing.assert_array_equal(Hashing(3, salt=[133, 137])(ints), [[1], [1], [2], [0], [1]])
    np.testing.assert_array_equal(Hashing(1)(LETTERS), [[0]] * 5)
    np.testing.assert_array_equal(Hashing(3, output_mode="multi_hot")([[0, 1, 2, 3, 4]]),
                                  [[1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(Hashing(3, output_mode="count")([[0, 1, 2, 3, 4]]),
                                  [[2.0, 2.0, 1.0]])
    one_hot = Hashing(3, output_mode="one_hot")(np.array([0, 1, 2, 3, 4]))
    np.testing.assert_array_equal(one_hot, np.eye(3)[[1, 0, 1, 0, 2]])
    np.testing.assert_array_equal(Hashing(3)(np.array([0.5, 1.7, 2.2])), [1, 0, 1])  # trunc
    np.testing.assert_array_equal(Hashing(3)(np.array([b"A", b"B"])), [1, 0])
    with pytest.raises(ValueError, match="num_bins"):
        Hashing(0)
    with pytest.raises(ValueError, match="salt"):
        Hashing(2, salt=[1])
    with pytest.raises(ValueError, match="sparse"):
        Hashing(2, output_mode="count", sparse=True)
    config = Hashing(3, salt=133, mask_value="").get_config()
    assert config["salt"] == [133, 133]
    np.testing.assert_array_equal(Hashing.from_config(config)(LETTERS),
                                  Hashing(3, salt=133, mask_value="")(LETTERS))


def test_hashing_on_engine_tensors_gives_engine_tensors():
    x = ops.convert_to_tensor(np.array([[0], [1], [2], [3], [4]], dtype="int32"))
    out = Hashing(3)(x)
    assert ops.is_tensor(out)
    np.testing.assert_array_equal(to_numpy(out), [[1], [0], [1], [0], [2]])


@host_only
def test_hashed_crossing_matches_keras():
    feat1, feat2 = np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])
    np.testing.assert_array_equal(HashedCrossing(5)((feat1, feat2)), [1, 4, 1, 1, 3])
    np.testing.assert_array_equal(HashedCrossing(5, output_mode="one_hot")((feat1, feat2)),
                                  np.eye(5)[[1, 4, 1, 1, 3]])
    column = HashedCrossing(5)((feat1[:, None], feat2[:, None]))
    assert column.shape == (5, 1)
    assert HashedCrossing(5)(("A", 101)) == 1
    with pytest.raises(ValueError, match="at least two"):
        HashedCrossing(5)(feat1)
    with pytest.raises(ValueError, match="same shape"):
        HashedCrossing(5)((feat1, feat2[:3]))
    with pytest.raises(ValueError, match=r"\(batch, 1\)"):
        HashedCrossing(5)((np.zeros((2, 2), int), np.zeros((2, 2), int)))
    config = HashedCrossing(5, output_mode="one_hot").get_config()
    assert HashedCrossing.from_config(config).output_mode == "one_hot"


# --- StringLookup ------------------------------------------------------------------------------
VOCAB = ["a", "b", "c", "d"]
DATA = [["a", "c", "d"], ["d", "z", "b"]]
DATA4 = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]


@host_only
def test_string_lookup_matches_keras_docstring():
    np.testing.assert_array_equal(StringLookup(vocabulary=VOCAB)(DATA), [[1, 3, 4], [4, 0, 2]])
    layer = StringLookup()
    layer.adapt(DATA)  # by count, ties from high to low
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    np.testing.assert_array_equal(layer(DATA), [[5, 3, 1], [1, 2, 4]])
    np.testing.assert_array_equal(
        StringLookup(vocabulary=VOCAB, num_oov_indices=2)([["a", "c", "d"], ["m", "z", "b"]]),
        [[2, 4, 5], [0, 1, 3]])
    np.testing.assert_array_equal(
        StringLookup(vocabulary=VOCAB, output_mode="one_hot")(["a", "b", "c", "d", "z"]),
        np.eye(5)[[1, 2, 3, 4, 0]])
    np.testing.assert_array_equal(StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(DATA4),
                                  [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    np.testing.assert_array_equal(StringLookup(vocabulary=VOCAB, output_mode="count")(DATA4),
                                  [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])
    layer = StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(layer(DATA4), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]],
                               rtol=1e-6)
    layer = StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(["[UNK]"] + VOCAB, idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(layer(DATA4), [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]],
                               rtol=1e-6)
    inverse = StringLookup(vocabulary=VOCAB, invert=True)([[1, 3, 4], [4, 0, 2]])
    assert inverse.tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    assert StringLookup(vocabulary=VOCAB, invert=True)([4, 99]).tolist() == ["d", "[UNK]"]
    assert StringLookup(vocabulary=VOCAB)(np.array([b"a", b"d"])).tolist() == [1, 4]


@host_only
def test_string_lookup_adapt_options(tmp_path):
    data = np.array(["x", "y", "y", "z", "z", "z", "", "w"])
    layer = StringLookup(max_tokens=4, mask_token="")
    layer.adapt(data)  # mask and OOV first, then the 2 most frequent
    assert layer.get_vocabulary() == ["", "[UNK]", "z", "y"]
    assert layer.get_vocabulary(include_special_tokens=False) == ["z", "y"]
    assert layer.vocabulary_size() == 4
    np.testing.assert_array_equal(layer(["z", "", "w", "y"]), [2, 0, 1, 3])
    hot = StringLookup(mask_token="", vocabulary=["z", "y"], output_mode="multi_hot")
    np.testing.assert_array_equal(hot([["z", ""], ["", "q"]]), [[0, 1, 0], [1, 0, 0]])
    # Batches from a generator count the same as one array; steps caps them.
    batched = StringLookup()
    batched.adapt((data[i:i + 3] for i in range(0, 8, 3)))
    whole = StringLookup()
    whole.adapt(data)
    assert batched.get_vocabulary() == whole.get_vocabulary()
    capped = StringLookup()
    capped.adapt(data, batch_size=3, steps=1)
    assert capped.get_vocabulary() == ["[UNK]", "y", "x"]
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\nd\n")
    np.testing.assert_array_equal(StringLookup(vocabulary=str(path))(DATA), [[1, 3, 4],
                                                                             [4, 0, 2]])
    padded = StringLookup(vocabulary=VOCAB, max_tokens=8, pad_to_max_tokens=True,
                          output_mode="count")
    assert padded(DATA).shape == (2, 8)
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        StringLookup(vocabulary=VOCAB, num_oov_indices=0)(DATA)
    with pytest.raises(ValueError, match="repeats"):
        StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="max_tokens"):
        StringLookup(vocabulary=VOCAB, max_tokens=3)
    with pytest.raises(ValueError, match="invert"):
        StringLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="adapt"):
        StringLookup(vocabulary=VOCAB).adapt(DATA)
    with pytest.raises(RuntimeError, match="before calling"):
        StringLookup(output_mode="count")(DATA)


@host_only
def test_string_lookup_tf_idf_adapt_closed_form():
    docs = [["a", "b", "b"], ["b", "c", "c"], ["c", "c", "d"]]
    layer = StringLookup(output_mode="tf_idf")
    layer.adapt(docs)
    vocab = layer.get_vocabulary()
    assert vocab == ["[UNK]", "c", "b", "d", "a"]
    doc_freq = np.array([sum(t in d for d in docs) for t in vocab[1:]], dtype=float)
    idf = np.log(1 + len(docs) / (1 + doc_freq))
    idf = np.concatenate([[idf.mean()], idf])
    sample = ["b", "c", "b", "q"]  # "q" is OOV
    counts = np.array([[1.0] + [sample.count(t) for t in vocab[1:]]])
    np.testing.assert_allclose(layer([sample]), counts * idf, rtol=1e-6)


@host_only
def test_string_lookup_config_round_trip():
    layer = StringLookup(vocabulary=VOCAB, num_oov_indices=2, mask_token="[M]",
                         output_mode="int", salt=7, name="lookup")
    config = layer.get_config()
    assert {"invert", "max_tokens", "num_oov_indices", "oov_token", "mask_token",
            "output_mode", "sparse", "pad_to_max_tokens", "idf_weights", "vocabulary",
            "vocabulary_size", "oov_method", "salt", "encoding", "name"} <= set(config)
    assert "vocabulary_dtype" not in config and config["salt"] == [7, 7]
    clone = StringLookup.from_config(config)
    assert clone.get_vocabulary() == layer.get_vocabulary()
    data = [["a", "[M]", "zz", "q"]]
    np.testing.assert_array_equal(clone(data), layer(data))


# --- IntegerLookup -----------------------------------------------------------------------------
IVOCAB = [12, 36, 1138, 42]


@host_only
def test_integer_lookup_matches_keras_docstring():
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    np.testing.assert_array_equal(IntegerLookup(vocabulary=IVOCAB)(data), [[1, 3, 4],
                                                                          [4, 0, 2]])
    layer = IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    np.testing.assert_array_equal(layer(data), [[5, 2, 1], [1, 3, 4]])
    np.testing.assert_array_equal(
        IntegerLookup(vocabulary=IVOCAB, num_oov_indices=2)(np.array([[12, 1138, 42],
                                                                      [37, 1000, 36]])),
        [[2, 4, 5], [1, 0, 3]])
    oov = np.array([100, 300, 700, 1100, 1700, 2000])
    np.testing.assert_array_equal(
        IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4)(oov), [0] * 6)
    np.testing.assert_array_equal(
        IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4, oov_method="farmhash")(oov),
        [3, 3, 2, 2, 0, 1])
    data4 = np.array([[12, 1138, 42, 42], [42, 7, 36, 7]])
    np.testing.assert_array_equal(IntegerLookup(vocabulary=IVOCAB, output_mode="count")(data4),
                                  [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])
    tf_idf = IntegerLookup(output_mode="tf_idf", vocabulary=[-1] + IVOCAB,
                           idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(tf_idf(data4), [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]],
                               rtol=1e-6)
    inverse = IntegerLookup(vocabulary=IVOCAB, invert=True)(np.array([[1, 3, 4], [4, 0, 2]]))
    np.testing.assert_array_equal(inverse, [[12, 1138, 42], [42, -1, 36]])
    config = IntegerLookup(vocabulary=IVOCAB, mask_token=0).get_config()
    assert config["vocabulary"] == IVOCAB and config["vocabulary_dtype"] == "int64"
    clone = IntegerLookup.from_config(config)
    np.testing.assert_array_equal(clone(np.array([0, 42, 5])), [0, 5, 1])


def test_integer_lookup_on_engine_tensors():
    x = ops.convert_to_tensor(np.array([[12, 1138, 42], [42, 1000, 36]], dtype="int32"))
    out = IntegerLookup(vocabulary=IVOCAB, output_mode="one_hot")(x)
    assert ops.is_tensor(out)
    np.testing.assert_array_equal(to_numpy(out), np.eye(5)[[[1, 3, 4], [4, 0, 2]]])


# --- Discretization ----------------------------------------------------------------------------
@host_only
def test_discretization_adapt_matches_keras(np_rng):
    keras_layers_ = keras_layers()
    for epsilon, num_bins, shapes in [(0.01, 4, [(2, 4)]), (0.01, 5, [(300, 3), (500,), (77,)]),
                                      (0.1, 3, [(40,), (1000,)])]:
        batches = [np_rng.normal(size=s) for s in shapes]
        reference = keras_layers_.Discretization(num_bins=num_bins, epsilon=epsilon)
        for batch in batches:  # Keras's adapt() needs TensorFlow; these are its steps
            reference.update_state(batch)
        reference.finalize_state()
        layer = Discretization(num_bins=num_bins, epsilon=epsilon)
        layer.adapt(iter(batches))
        assert layer.bin_boundaries == reference.bin_boundaries
    # Small data is kept whole: the boundaries are interpolated quantiles of the data.
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    layer = Discretization(num_bins=4, epsilon=0.01)
    layer.adapt(x)
    np.testing.assert_allclose(layer.bin_boundaries, [0.0, 0.5, 1.3], rtol=1e-6)
    np.testing.assert_array_equal(layer(x), [[0, 2, 3, 2], [1, 3, 3, 1]])
    clone = Discretization.from_config(layer.get_config())
    assert clone.bin_boundaries == layer.bin_boundaries and clone.num_bins == 4


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_outputs_match_keras_on_host_and_device(mode):
    keras_layers_ = keras_layers()
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]], dtype="float32")
    expected = np.asarray(keras_layers_.Discretization(bin_boundaries=[0.0, 1.0, 2.0],
                                                       output_mode=mode)(x))
    layer = Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode=mode)
    host = layer(x)
    assert isinstance(host, np.ndarray)
    np.testing.assert_array_equal(host, expected)
    device = layer(ops.convert_to_tensor(x))
    assert ops.is_tensor(device)
    np.testing.assert_array_equal(to_numpy(device), expected)
    assert layer.compute_output_shape((2, 4)) == expected.shape


def test_discretization_runs_inside_a_compiled_model():
    import nhanh
    inputs = nhanh.Input(shape=(3,))
    outputs = Discretization(bin_boundaries=[0.0, 1.0], output_mode="count")(inputs)
    model = nhanh.Model(inputs, outputs)
    x = np.array([[-1.0, 0.5, 2.0], [1.5, 1.5, -3.0]], dtype="float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), [[1, 1, 1], [1, 0, 2]])


# --- TextVectorization -------------------------------------------------------------------------
@host_only
def test_text_vectorization_matches_keras_examples():
    layer = TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert layer.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]
    np.testing.assert_array_equal(layer([["foo qux bar"], ["qux baz"]]), [[4, 1, 3, 0],
                                                                          [1, 2, 0, 0]])
    given = TextVectorization(vocabulary=["earth", "wind", "and", "fire"])
    assert given.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    assert given.vocabulary_size() == 6
    vocab = ["foo", "bar", "baz"]
    np.testing.assert_array_equal(
        TextVectorization(output_mode="multi_hot", vocabulary=vocab)([["foo bar"],
                                                                      ["baz foo foo"]]),
        [[0, 1, 1, 0], [0, 1, 0, 1]])
    np.testing.assert_array_equal(
        TextVectorization(output_mode="count", vocabulary=vocab)(["foo bar", "baz foo foo"]),
        [[0, 1, 1, 0], [0, 2, 0, 1]])
    np.testing.assert_allclose(
        TextVectorization(output_mode="tf_idf", vocabulary=vocab,
                          idf_weights=[0.3, 0.5, 0.2])(["foo bar", "baz foo foo"]),
        [[0, 0.3, 0.5, 0], [0, 0.6, 0, 0.2]], rtol=1e-6)
    sentence = ["Hello, World!. This is just a nice test!"]
    np.testing.assert_array_equal(
        TextVectorization(vocabulary=["hello", "world", "this", "is", "nice", "test"])(sentence),
        [[2, 3, 4, 5, 1, 1, 6, 7]])
    np.testing.assert_array_equal(
        TextVectorization(standardize="lower", vocabulary=["hello,", "hello", "world", "this",
                                                           "is", "nice", "test"])(sentence),
        [[2, 1, 5, 6, 1, 1, 7, 1]])
    np.testing.assert_array_equal(
        TextVectorization(split="character", vocabulary=list("abcde"))(["abcf"]), [[2, 3, 4, 1]])
    np.testing.assert_array_equal(
        TextVectorization(standardize="strip_punctuation",
                          vocabulary=["Hello", "World", "Test"])(["Hello, World! Test."]),
        [[2, 3, 4]])
    np.testing.assert_array_equal(
        TextVectorization(standardize=None, vocabulary=["Hello", "world"])(["Hello hello"]),
        [[2, 1]])
    # TensorFlow's strings.lower changes ASCII letters only.
    np.testing.assert_array_equal(TextVectorization(vocabulary=["Àb"])(["ÀB àb"]), [[2, 1]])
    np.testing.assert_array_equal(
        TextVectorization(standardize=lambda t: np.char.replace(t, "-", " "),
                          vocabulary=["foo", "bar"])(["foo-bar"]), [[2, 3]])
    np.testing.assert_array_equal(
        TextVectorization(split=lambda t: np.char.split(t, "|"), standardize=None,
                          vocabulary=["foo", "bar"])(["foo|bar|x"]), [[2, 3, 1]])


@host_only
def test_text_vectorization_ngrams_lengths_and_adapt(tmp_path):
    layer = TextVectorization(ngrams=2, output_sequence_length=7)
    layer.adapt(["a b c", "b c d"])
    assert layer.get_vocabulary() == ["", "[UNK]", "c", "b c", "b", "d", "c d", "a b", "a"]
    np.testing.assert_array_equal(layer(["A b, C!"]), [[8, 4, 2, 7, 3, 0, 0]])
    short = TextVectorization(vocabulary=["a", "b"], output_sequence_length=2)
    np.testing.assert_array_equal(short(["a b a", "b"]), [[2, 3], [3, 0]])
    unpadded = TextVectorization(vocabulary=["a", "b"])
    assert unpadded(["a b a", "b"]).shape == (2, 3)
    path = tmp_path / "vocab.txt"
    path.write_text("earth\nwind\n")
    assert TextVectorization(vocabulary=str(path)).get_vocabulary() == ["", "[UNK]", "earth",
                                                                        "wind"]
    capped = TextVectorization(max_tokens=4, output_mode="multi_hot", pad_to_max_tokens=True)
    capped.adapt(np.array(["x y y z z z", "q"]))
    assert capped.get_vocabulary() == ["[UNK]", "z", "y", "x"]
    np.testing.assert_array_equal(capped(["z q"]), [[1, 1, 0, 0]])
    docs = ["the cat", "the dog the end"]
    idf = TextVectorization(output_mode="tf_idf")
    idf.adapt(docs)
    vocab = idf.get_vocabulary()
    doc_freq = np.array([sum(t in d.split() for d in docs) for t in vocab[1:]], dtype=float)
    weights = np.log(1 + len(docs) / (1 + doc_freq))
    weights = np.concatenate([[weights.mean()], weights])
    counts = np.array([[1.0] + [("the cat fish".split()).count(t) for t in vocab[1:]]])
    np.testing.assert_allclose(idf(["The cat, fish"]), counts * weights, rtol=1e-6)
    with pytest.raises(ValueError, match="last axis of size 1"):
        TextVectorization(vocabulary=["a"])([["a", "b"]])
    with pytest.raises(ValueError, match="output_sequence_length"):
        TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="ragged"):
        TextVectorization(ragged=True)


@host_only
def test_text_vectorization_config_and_pipeline():
    from nhanh.utils.batched_dataset import BatchedDataset
    layer = TextVectorization(max_tokens=10, ngrams=(1, 2), output_sequence_length=5,
                              vocabulary=["a", "b", "a b"], name="tv")
    config = layer.get_config()
    assert config["ngrams"] == (1, 2) and config["vocabulary_size"] == 5
    clone = TextVectorization.from_config({**config, "ngrams": [1, 2]})
    assert clone.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_array_equal(clone(["a b"]), layer(["a b"]))
    texts = np.array(["a b", "b", "a a b", "c"])
    labels = np.arange(4)
    dataset = BatchedDataset(4, lambda rows: (texts[rows], labels[rows]), batch_size=2)
    batches = list(dataset.map(lambda x, y: (layer(x), y)))
    np.testing.assert_array_equal(batches[1][0], layer(texts[2:]))
    assert batches[0][0].dtype.kind == "i"
