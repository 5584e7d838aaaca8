"""nhanh.datasets against Keras 3's loaders, on tiny files in each data set's real format served
from 127.0.0.1 (never the internet): both libraries are pointed at the local server (nhanh
through each module's ORIGIN_FOLDER / FILE_HASHES, Keras by wrapping its modules' get_file) and
must return the same values, dtypes and shapes. Also: pickles are never read from a file that
failed its hash, and the unpickler refuses anything but numpy arrays."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest

import nhanh
from local_http import server  # noqa: F401  (the fixture)
from nhanh.datasets import (boston_housing, california_housing, cifar10, cifar100, fashion_mnist,
                            imdb, mnist, reuters)

pytestmark = pytest.mark.engine_independent  # NumPy and files only: runs once

GCS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
TORONTO = "https://www.cs.toronto.edu/~kriz/"
RNG = np.random.default_rng(0)


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _objects(seqs) -> np.ndarray:
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = [int(w) for w in s]
    return out


def _seqs(lengths, vocab=20):
    return _objects([RNG.integers(1, vocab, n) for n in lengths])


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _pickled_batch(n: int, **labels) -> bytes:  # like CIFAR's pickles: bytes keys
    batch = {b"batch_label": b"tiny", b"data": RNG.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"filenames": [b"f%d.png" % i for i in range(n)]}
    batch.update({k.encode(): [int(v) for v in vals] for k, vals in labels.items()})
    return pickle.dumps(batch, protocol=3)  # BINBYTES, as Python 2 strings load


def _targz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


FILES = {  # remote name -> bytes, each in its data set's real format
    "mnist.npz": _npz(x_train=RNG.integers(0, 256, (5, 28, 28), dtype=np.uint8),
                      y_train=RNG.integers(0, 10, 5, dtype=np.uint8),
                      x_test=RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8),
                      y_test=RNG.integers(0, 10, 3, dtype=np.uint8)),
    "train-labels-idx1-ubyte.gz": _idx(RNG.integers(0, 10, 4)),
    "train-images-idx3-ubyte.gz": _idx(RNG.integers(0, 256, (4, 28, 28))),
    "t10k-labels-idx1-ubyte.gz": _idx(RNG.integers(0, 10, 2)),
    "t10k-images-idx3-ubyte.gz": _idx(RNG.integers(0, 256, (2, 28, 28))),
    "cifar-10-python.tar.gz": _targz(
        {**{f"cifar-10-batches-py/data_batch_{i}": _pickled_batch(2, labels=RNG.integers(0, 10, 2))
            for i in range(1, 6)},
         "cifar-10-batches-py/test_batch": _pickled_batch(3, labels=RNG.integers(0, 10, 3)),
         "cifar-10-batches-py/batches.meta": pickle.dumps({b"label_names": []}, protocol=3)}),
    "cifar-100-python.tar.gz": _targz({
        f"cifar-100-python/{split}": _pickled_batch(n, fine_labels=RNG.integers(0, 100, n),
                                                    coarse_labels=RNG.integers(0, 20, n))
        for split, n in (("train", 6), ("test", 4))}),
    "imdb.npz": _npz(x_train=_seqs([3, 7, 2, 9, 4, 5, 1, 6]), y_train=RNG.integers(0, 2, 8),
                     x_test=_seqs([4, 2, 8, 3, 5, 6]), y_test=RNG.integers(0, 2, 6)),
    "imdb_word_index.json": json.dumps({"the": 1, "and": 2, "movie": 3}).encode(),
    "reuters.npz": _npz(x=_seqs([3, 7, 2, 9, 4, 1, 5, 1, 6, 8, 2, 3, 4]),
                        y=RNG.integers(0, 46, 13)),
    "reuters_word_index.json": json.dumps({"said": 1, "mln": 2}).encode(),
    "boston_housing.npz": _npz(x=RNG.normal(size=(21, 13)), y=RNG.normal(size=21)),
    "california_housing.npz": _npz(x=RNG.normal(size=(640, 8)).astype("float32"),
                                   y=RNG.normal(size=640).astype("float32")),
}
HASHES = {name: (hashlib.md5(data).hexdigest() if name.endswith(".json") else _sha(data))
          for name, data in FILES.items()}
MODULES = [mnist, fashion_mnist, cifar10, cifar100, imdb, reuters, boston_housing,
           california_housing]


@pytest.fixture
def served(server, monkeypatch):
    """Every data set's tiny files on the local server, nhanh's modules pointed at them."""
    server.files.update(FILES)
    for module in MODULES:
        monkeypatch.setattr(module, "ORIGIN_FOLDER", server.base)
        if hasattr(module, "FILE_HASHES"):
            monkeypatch.setattr(module, "FILE_HASHES", {k: HASHES[k] for k in module.FILE_HASHES})
    return server


@pytest.fixture
def keras_datasets(served, monkeypatch, tmp_path):
    """Keras 3's dataset modules, their get_file pointed at the same server and files."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("keras")
    import importlib

    from keras.src.utils import file_utils

    cache = tmp_path / "keras_cache"
    cache.mkdir()

    def local_get_file(fname=None, origin=None, **kwargs):
        remote = origin.rsplit("/", 1)[1]
        assert origin in (GCS + remote, TORONTO + remote)  # the URL nhanh uses too
        if kwargs.get("file_hash") is not None:
            kwargs["file_hash"] = HASHES[remote]
        return file_utils.get_file(fname, served.base + remote, cache_dir=str(cache), **kwargs)

    modules = {}
    for name in ("mnist", "fashion_mnist", "cifar100", "imdb", "reuters", "boston_housing",
                 "california_housing", "cifar"):
        modules[name] = importlib.import_module(f"keras.src.datasets.{name}")
        if hasattr(modules[name], "get_file"):
            monkeypatch.setattr(modules[name], "get_file", local_get_file)
    return modules


def assert_same(ours, theirs):
    """(x_train, y_train), (x_test, y_test) equal in values, dtypes and shapes."""
    for (a_ours, b_ours), (a_theirs, b_theirs) in zip(ours, theirs):
        for got, want in ((a_ours, a_theirs), (b_ours, b_theirs)):
            assert isinstance(got, np.ndarray)
            assert got.dtype == want.dtype and got.shape == want.shape
            if got.dtype == object:  # ragged data: Keras gives 2-D when lengths are equal
                assert want.ndim == 1, "test data must keep sequences of several lengths"
                assert [list(s) for s in got] == [list(s) for s in want]
                assert {type(w) for s in got for w in s} == {type(w) for s in want for w in s}
            else:
                np.testing.assert_array_equal(got, want)


def test_mnist_fashion_and_housing_match_keras(keras_datasets):
    k = keras_datasets
    assert_same(mnist.load_data(), k["mnist"].load_data())
    assert_same(fashion_mnist.load_data(), k["fashion_mnist"].load_data())
    for kwargs in ({}, dict(test_split=0.3, seed=5), dict(test_split=0.0)):
        assert_same(boston_housing.load_data(**kwargs), k["boston_housing"].load_data(**kwargs))
    for kwargs in ({}, dict(version="small"), dict(version="small", test_split=0.25, seed=1)):
        assert_same(california_housing.load_data(**kwargs),
                    k["california_housing"].load_data(**kwargs))


SEQ_OPTIONS = [{}, dict(num_words=12), dict(num_words=12, skip_top=5), dict(maxlen=6),
               dict(seed=7, start_char=None), dict(oov_char=None, num_words=16, skip_top=5),
               dict(index_from=0, start_char=None), dict(start_char=9, index_from=1, maxlen=9),
               dict(start_char=0)]


@pytest.mark.parametrize("kwargs", SEQ_OPTIONS)
def test_imdb_and_reuters_match_keras(keras_datasets, kwargs):
    assert_same(imdb.load_data(**kwargs), keras_datasets["imdb"].load_data(**kwargs))
    for extra in ({}, dict(test_split=0.4)):
        assert_same(reuters.load_data(**kwargs, **extra),
                    keras_datasets["reuters"].load_data(**kwargs, **extra))


def test_word_indices_and_label_names_match_keras(keras_datasets):
    assert imdb.get_word_index() == keras_datasets["imdb"].get_word_index()
    assert reuters.get_word_index() == keras_datasets["reuters"].get_word_index()
    assert reuters.get_label_names() == keras_datasets["reuters"].get_label_names()


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_cifar_matches_keras(keras_datasets, data_format, monkeypatch):
    import keras

    monkeypatch.setattr(nhanh.config, "image_data_format", lambda: data_format)
    old = keras.config.image_data_format()
    keras.config.set_image_data_format(data_format)
    try:
        for mode in ("fine", "coarse"):
            assert_same(cifar100.load_data(mode), keras_datasets["cifar100"].load_data(mode))
        # Keras's cifar10 assumes 10,000 images per batch, too many for a test file: compare
        # with Keras's own batch reader, assembled as its load_data documents.
        (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    finally:
        keras.config.set_image_data_format(old)
    folder = keras_datasets["mnist"].get_file("cifar-10-batches-py-target",
                                              TORONTO + "cifar-10-python.tar.gz",
                                              extract=True, file_hash="x")
    batches = [keras_datasets["cifar"].load_batch(
        os.path.join(folder, "cifar-10-batches-py", name))
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]]
    to_format = (lambda x: x.transpose(0, 2, 3, 1)) if data_format == "channels_last" else \
        (lambda x: x)
    want_x_train = to_format(np.concatenate([x for x, _ in batches[:5]]))
    want_y_train = np.concatenate([y for _, y in batches[:5]]).astype("uint8").reshape(-1, 1)
    assert_same(((x_train, y_train), (x_test, y_test)),
                ((want_x_train, want_y_train),
                 (to_format(batches[5][0]), np.array(batches[5][1], "uint8").reshape(-1, 1))))
    assert x_train.shape[1:] == ((32, 32, 3) if data_format == "channels_last" else (3, 32, 32))


def test_files_keras_cached_serve_nhanh_without_downloading(keras_datasets, served, tmp_path,
                                                            monkeypatch):
    want = [keras_datasets["cifar100"].load_data(), keras_datasets["imdb"].load_data(),
            keras_datasets["mnist"].load_data(), keras_datasets["fashion_mnist"].load_data()]
    before = len(served.requests)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_cache"))
    got = [cifar100.load_data(), imdb.load_data(), mnist.load_data(), fashion_mnist.load_data()]
    assert len(served.requests) == before  # same paths, same hashes: one cache for both
    for ours, theirs in zip(got, want):
        assert_same(ours, theirs)


def test_bad_arguments_raise_before_any_download(served):
    with pytest.raises(ValueError, match="`label_mode`"):
        cifar100.load_data("medium")
    with pytest.raises(ValueError, match="`version`"):
        california_housing.load_data(version="huge")
    with pytest.raises(ValueError, match="`test_split`"):
        boston_housing.load_data(test_split=1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        imdb.load_data(num_wrds=3)
    with pytest.raises(ValueError, match="maxlen"):
        imdb.load_data(maxlen=1)
    assert served.requests == [("imdb.npz", None)]  # only the last one needed the file


def test_keras2_nb_words_is_num_words(served):
    assert_same(imdb.load_data(nb_words=12), imdb.load_data(num_words=12))


def _malicious_npz(marker: str) -> bytes:
    class Payload:  # unpickling it would create `marker`
        def __reduce__(self):
            return os.mkdir, (marker,)

    array = np.empty(2, dtype=object)
    array[0], array[1] = [1, 2], Payload()
    return _npz(x_train=array, y_train=np.zeros(2, int), x_test=array, y_test=np.zeros(2, int))


def test_pickles_are_read_only_after_the_hash_matched(served, tmp_path, monkeypatch):
    marker = str(tmp_path / "pwned")
    evil = _malicious_npz(marker)
    # A tampered file in the cache: its hash fails, so it is replaced, never unpickled.
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    (cache / "imdb.npz").write_bytes(evil)
    assert_same(imdb.load_data(), imdb.load_data())
    assert not os.path.exists(marker) and served.gets("imdb.npz") == 1
    # A tampered download fails its hash: deleted, not unpickled.
    served.files["imdb.npz"] = evil
    with pytest.raises(ValueError, match="hash"):
        imdb.load_data(path="other.npz")
    assert not os.path.exists(marker) and not (cache / "other.npz").exists()
    # Even a file whose hash matched cannot run code: only numpy arrays are unpickled.
    monkeypatch.setitem(imdb.FILE_HASHES, "imdb.npz", _sha(evil))
    with pytest.raises(pickle.UnpicklingError, match="Refusing to unpickle"):
        imdb.load_data(path="evil.npz")
    assert not os.path.exists(marker)
    # No published hash: nothing is fetched or unpickled.
    monkeypatch.setitem(imdb.FILE_HASHES, "imdb.npz", None)
    before = len(served.requests)
    with pytest.raises(ValueError, match="No published hash"):
        imdb.load_data(path="nohash.npz")
    assert len(served.requests) == before


def test_truncated_idx_file_raises(served, monkeypatch):
    served.files["t10k-images-idx3-ubyte.gz"] = gzip.compress(
        gzip.decompress(_idx(RNG.integers(0, 256, (2, 28, 28))))[:-5])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        fashion_mnist.load_data()


def test_real_constants_are_keras_published_ones():
    """The URLs and hashes nhanh downloads by default are Keras 3's (one shared cache)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("keras")
    import importlib
    import inspect

    for module in MODULES:
        name = module.__name__.rsplit(".", 1)[1]
        source = inspect.getsource(importlib.import_module(f"keras.src.datasets.{name}"))
        assert module.ORIGIN_FOLDER in source.replace('"\n', "").replace('    "', ""), name
        for remote, file_hash in getattr(module, "FILE_HASHES", {}).items():
            assert remote in source and file_hash in source, (name, remote)
    assert fashion_mnist.FILES == ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                                   "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
