"""nhanh.utils's data helpers checked against keras.utils (Keras 3 on JAX, in this process):
pad_sequences, split_dataset, normalize, Progbar, standardize_dtype, pack_x_y_sample_weight,
is_keras_tensor / get_source_inputs and clear_session."""

from __future__ import annotations

import os
import random
import re

import numpy as np
import pytest

import nhanh
from nhanh import ops

os.environ.setdefault("KERAS_BACKEND", "jax")
independent = pytest.mark.engine_independent


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


SEQS = [[1, 2, 3], [4, 5], [], [6, 7, 8, 9, 10], [11]]


@independent
@pytest.mark.parametrize("kwargs", [
    {}, dict(maxlen=3), dict(maxlen=3, padding="post"), dict(maxlen=3, truncating="post"),
    dict(maxlen=7, padding="post", truncating="post", value=-1), dict(dtype="float32",
                                                                      value=0.5),
])
def test_pad_sequences_matches_keras(keras, kwargs):
    want = keras.utils.pad_sequences(SEQS, **kwargs)
    got = nhanh.utils.pad_sequences(SEQS, **kwargs)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@independent
def test_pad_sequences_items_and_strings_match_keras(keras):
    seqs = [np.ones((2, 3)), np.arange(12).reshape(4, 3)]
    for kwargs in ({}, dict(maxlen=3, padding="post", truncating="post")):
        np.testing.assert_array_equal(nhanh.utils.pad_sequences(seqs, **kwargs),
                                      keras.utils.pad_sequences(seqs, **kwargs))
    words = [["a", "b"], ["c"]]
    np.testing.assert_array_equal(
        nhanh.utils.pad_sequences(words, dtype=object, value="<pad>"),
        keras.utils.pad_sequences(words, dtype=object, value="<pad>"))


@independent
def test_pad_sequences_errors_name_the_argument():
    with pytest.raises(ValueError, match="`padding` must be 'pre' or 'post'"):
        nhanh.utils.pad_sequences(SEQS, padding="middle")
    with pytest.raises(ValueError, match="item 1"):
        nhanh.utils.pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="dtype=object"):
        nhanh.utils.pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match="Sequence 1 has items of shape"):
        nhanh.utils.pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


def _keras_split(dataset, left_size, right_size, shuffle, seed):
    """Keras's tf.data path up to the tf.data conversion, from its own TF-free helpers."""
    from keras.src.utils import dataset_utils as du

    spec = du._get_type_spec(dataset)
    samples = du._convert_dataset_to_list(dataset, spec)
    if shuffle:
        random.seed(seed)
        random.shuffle(samples)
    left, right = du._rescale_dataset_split_sizes(left_size, right_size, len(samples))
    return (du._restore_dataset_from_list(samples[:left], spec, dataset),
            du._restore_dataset_from_list(samples[-right:], spec, dataset))


@independent
@pytest.mark.parametrize("sizes", [(0.8, None), (None, 3), (4, 0.25), (0.3, 0.5)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_split_dataset_picks_keras_samples(keras, sizes, shuffle):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 2)).astype("float32")
    y = np.arange(10)
    want_l, want_r = _keras_split((x, y), *sizes, shuffle, 42)
    got_l, got_r = nhanh.utils.split_dataset((x, y), *sizes, shuffle=shuffle, seed=42)
    assert isinstance(got_l, tuple) and len(got_l) == 2
    for got, want in ((got_l, want_l), (got_r, want_r)):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    left, right = nhanh.utils.split_dataset(x, *sizes, shuffle=shuffle, seed=42)
    np.testing.assert_array_equal(left, want_l[0])
    np.testing.assert_array_equal(right, want_r[0])
    left, right = nhanh.utils.split_dataset({"a": x, "b": y}, *sizes, shuffle=shuffle, seed=42)
    assert set(left) == {"a", "b"}
    np.testing.assert_array_equal(left["b"], want_l[1])
    np.testing.assert_array_equal(right["a"], want_r[0])


@independent
def test_split_dataset_leaves_global_random_alone_and_rejects_bad_sizes():
    random.seed(5)
    expected = random.random()
    random.seed(5)
    nhanh.utils.split_dataset(np.arange(10), 0.5, shuffle=True, seed=1)
    assert random.random() == expected
    x = np.arange(10)
    with pytest.raises(ValueError, match="Give `left_size` or `right_size`"):
        nhanh.utils.split_dataset(x)
    with pytest.raises(ValueError, match=r"left_size` as a fraction must lie in \(0, 1\)"):
        nhanh.utils.split_dataset(x, left_size=1.5)
    with pytest.raises(TypeError, match="`right_size` must be an int"):
        nhanh.utils.split_dataset(x, right_size="half")
    with pytest.raises(ValueError, match="same number of samples"):
        nhanh.utils.split_dataset((x, np.arange(9)), left_size=2)
    with pytest.raises(ValueError, match="more than the 10"):
        nhanh.utils.split_dataset(x, left_size=6, right_size=5)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_normalize_matches_keras(keras, order):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5)).astype("float32")
    x[1] = 0.0  # a zero vector stays zero
    got = nhanh.utils.normalize(x, order=order)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, keras.utils.normalize(x, order=order), rtol=1e-6)
    tensor = nhanh.utils.normalize(ops.convert_to_tensor(x), axis=-1, order=order)
    want = np.asarray(keras.utils.normalize(keras.ops.convert_to_tensor(x), order=order))
    np.testing.assert_allclose(ops.convert_to_numpy(tensor), want, rtol=1e-5, atol=1e-7)
    # axis=0 on NumPy: Keras re-inserts the axis at -1 (a bug); a closed form instead
    col = nhanh.utils.normalize(x, axis=0, order=order)
    np.testing.assert_allclose(np.sum(np.abs(col) ** order, axis=0), 1.0, rtol=1e-5)


def _shown(text: str) -> dict[str, float]:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).strip().splitlines()[-1]
    return {k: float(v) for k, v in re.findall(r"(\w+): ([-+0-9.e]+)", text)}


@independent
@pytest.mark.parametrize("verbose", [1, 2])
def test_progbar_shows_keras_averages(keras, capsys, verbose):
    updates = [(1, [("loss", 4.0), ("acc", 0.5), ("lr", 0.1)]),
               (3, [("loss", 2.0), ("acc", 0.7), ("lr", 0.05)]),
               (4, [("loss", 1.0), ("acc", 0.9), ("lr", 0.01)])]
    shown = []
    for lib in (keras.utils, nhanh.utils):
        bar = lib.Progbar(6, verbose=verbose, stateful_metrics=["lr"], interval=0.0)
        for current, values in updates:
            bar.update(current, values)
        bar.add(2, [("loss", 0.5)])  # finalizes: shown as given, as in Keras
        shown.append(_shown(capsys.readouterr().out))
    assert shown[0] == shown[1]
    for lib in (keras.utils, nhanh.utils):  # unfinished: running averages, weighted by steps
        bar = lib.Progbar(None, verbose=0, stateful_metrics=["lr"])
        for current, values in updates:
            bar.update(current, values)
        shown.append({k: v[0] / v[1] for k, v in bar._values.items()} if lib is keras.utils
                     else bar.averages())
    assert shown[2] == pytest.approx(shown[3])


@independent
def test_progbar_draws_fits_bar_with_width_and_unit(capsys):
    bar = nhanh.utils.Progbar(4, width=8, unit_name="sample")
    bar.update(4, [("loss", 0.25)])
    out = capsys.readouterr().out
    assert re.fullmatch(r"4/4 \[========\] - \d+s \d+[mu]?s/sample - loss: 0\.2500\n", out), out
    with pytest.raises(ValueError, match="at most one"):
        nhanh.utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


@independent
def test_standardize_dtype_matches_keras(keras):
    import jax.numpy as jnp
    import torch

    for dtype in [None, "float32", "int8", "bool", int, float, bool, str, "int", np.float64,
                  np.dtype("uint8"), jnp.bfloat16, jnp.int16, torch.float16, torch.int64,
                  np.dtype("complex64")]:
        assert nhanh.utils.standardize_dtype(dtype) == keras.utils.standardize_dtype(dtype), \
            dtype
    with pytest.raises(ValueError, match="Invalid dtype: 'float31'"):
        nhanh.utils.standardize_dtype("float31")


@independent
def test_pack_x_y_sample_weight_matches_keras(keras):
    x, y, w = np.ones(2), np.zeros(2), np.ones(2)
    for args in [(x,), (x, y), (x, y, w), ((x, x),), ((x, x), y)]:
        got, want = nhanh.utils.pack_x_y_sample_weight(*args), \
            keras.utils.pack_x_y_sample_weight(*args)
        assert type(got) is type(want) and len(got if isinstance(got, tuple) else [got]) == \
            len(want if isinstance(want, tuple) else [want])


def test_get_source_inputs_walks_the_graph_like_keras(keras):
    results = []
    for lib in (keras, nhanh):
        a, b = lib.Input((3,), name="a"), lib.Input((3,), name="b")
        h = lib.layers.Dense(2)(a)
        out = lib.layers.Add()([lib.layers.Dense(2)(b), h, lib.layers.Dense(2)(a)])
        sources = lib.utils.get_source_inputs(out)
        results.append([s.name for s in sources])
        assert sources[0] is b and sources[1] is a
        assert lib.utils.is_keras_tensor(out) and not lib.utils.is_keras_tensor(np.ones(2))
        assert lib.utils.get_source_inputs(a) == [a]
    assert results[0] == results[1]


def test_clear_session_restarts_default_names_like_keras(keras):
    names = []
    for lib in (keras, nhanh):
        lib.layers.Dense(1)
        lib.utils.clear_session()
        names.append([lib.layers.Dense(1).name, lib.layers.Dense(1).name])
    assert names[0] == names[1] == ["dense", "dense_1"]


def test_clear_session_keeps_set_random_seed_repeatable():
    def weights():
        nhanh.utils.set_random_seed(3)
        nhanh.utils.clear_session()
        model = nhanh.Sequential([nhanh.Input((2,)), nhanh.layers.Dense(2)])
        return ops.convert_to_numpy(model.layers[0].kernel)

    np.testing.assert_array_equal(weights(), weights())
