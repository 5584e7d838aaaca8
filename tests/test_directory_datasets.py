"""Directory and timeseries datasets against Keras 3 (on JAX, in this process, no TensorFlow).

Keras's default tf.data datasets need TensorFlow, which is not installed; its format='grain'
datasets and its file listing (keras.src.utils.dataset_utils.index_directory and
get_training_or_validation_split) run without it, so these are the references: the same files
in the same order, in training and in validation, for a seed; the same arrays batch by batch.
Audio has no grain path in Keras; WAVs are checked against the samples written into them.
"""

from __future__ import annotations

import os
import wave

import numpy as np
import pytest

import nhanh
from nhanh.utils import directory_listing as listing
from nhanh.utils.audio_dataset import audio_dataset_from_directory
from nhanh.utils.batched_dataset import BatchedDataset
from nhanh.utils.image_dataset import image_dataset_from_directory
from nhanh.utils.text_dataset import text_dataset_from_directory
from nhanh.utils.timeseries_dataset import timeseries_dataset_from_array

os.environ.setdefault("KERAS_BACKEND", "jax")
Image = pytest.importorskip("PIL.Image")
independent = pytest.mark.engine_independent


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    """3 classes of small images of varied sizes and modes, a nested folder, upper-case and
    foreign extensions, a hidden folder and a top-level file."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for c, name in enumerate(["cats", "dogs", "birds"]):
        (root / name / "more").mkdir(parents=True)
        for i in range(3 + c):  # few distinct sizes: Keras compiles a resize per size
            Image.fromarray(rng.integers(0, 256, (6, 9) if i else (9, 5), dtype=np.uint8)
                            if c == 2 and i == 1 else
                            rng.integers(0, 256, (6, 9, 3) if i else (9, 5, 3), dtype=np.uint8)
                            ).save(root / name / f"{i}.png")
        Image.fromarray(rng.integers(0, 256, (6, 9), dtype=np.uint8)).save(
            root / name / "more" / "g.JPG")
        Image.fromarray(rng.integers(0, 256, (6, 9, 4), dtype=np.uint8)).save(
            root / name / "z.bmp" if c else root / name / "z.gif")
        (root / name / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / ".hidden" / "h.png")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / "top.png")
    return root


def _arrays(batch):
    return [np.asarray(a) for a in (batch if isinstance(batch, tuple) else (batch,))]


def assert_same_batches(ours, theirs, atol=2e-3):
    ours, theirs = list(ours), list(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = _arrays(a), _arrays(b)
        assert [x.shape for x in a] == [x.shape for x in b]
        for x, y in zip(a, b):
            assert x.dtype == y.dtype or (x.dtype.kind == y.dtype.kind == "i")
            np.testing.assert_allclose(x, y, atol=atol, rtol=1e-5)


# ---- which files, which labels, which split ---------------------------------------------

@independent
@pytest.mark.parametrize("labels, class_names", [
    ("inferred", None), ("inferred", ["dogs", "cats"]), (None, None)])
@pytest.mark.parametrize("shuffle, seed", [(False, None), (True, 7), (True, 1234)])
@pytest.mark.parametrize("follow_links", [False, True])
def test_file_listing_is_keras_listing(keras, image_dir, labels, class_names, shuffle, seed,
                                       follow_links):
    from keras.src.utils import dataset_utils

    formats = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
    want = dataset_utils.index_directory(str(image_dir), labels, formats, class_names, shuffle,
                                         seed, follow_links, verbose=False)
    got = listing.index_directory(str(image_dir), labels, formats, class_names, shuffle, seed,
                                  follow_links, verbose=False)
    assert got[0] == want[0] and got[2] == want[2]
    assert (got[1] is None) == (want[1] is None)
    if want[1] is not None:
        np.testing.assert_array_equal(got[1], want[1])
        assert got[1].dtype == want[1].dtype
    for split in (0.2, 0.5):
        for subset in ("training", "validation"):
            w = dataset_utils.get_training_or_validation_split(want[0], want[1], split, subset)
            g = listing.split(got[0], got[1], split, subset, verbose=False)
            assert g[0] == w[0]
            if w[1] is not None:
                np.testing.assert_array_equal(g[1], w[1])


@independent
def test_explicit_labels_follow_keras_and_leave_the_callers_list_alone(keras, tmp_path):
    from keras.src.utils import dataset_utils

    for i in range(6):
        (tmp_path / f"{i}.txt").write_text(str(i))
    given = [2, 0, 1, 1, 0, 2]
    want = dataset_utils.index_directory(str(tmp_path), list(given), (".txt",), seed=3,
                                         verbose=False)
    got = listing.index_directory(str(tmp_path), given, (".txt",), seed=3, verbose=False)
    assert got[0] == want[0] and list(got[1]) == list(want[1]) and got[2] == want[2]
    assert given == [2, 0, 1, 1, 0, 2]


@independent
def test_symlinked_folders_are_entered_only_with_follow_links(tmp_path):
    (tmp_path / "data" / "a").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.txt").write_text("x")
    (tmp_path / "data" / "a" / "y.txt").write_text("y")
    os.symlink(tmp_path / "elsewhere", tmp_path / "data" / "a" / "link")
    kw = dict(labels="inferred", formats=(".txt",), shuffle=False, verbose=False)
    assert len(listing.index_directory(tmp_path / "data", **kw)[0]) == 1
    assert len(listing.index_directory(tmp_path / "data", follow_links=True, **kw)[0]) == 2


# ---- image_dataset_from_directory -------------------------------------------------------

CASES = [
    dict(shuffle=False),
    dict(seed=3, validation_split=0.3, subset="training"),
    dict(seed=3, validation_split=0.3, subset="validation", label_mode="categorical",
         color_mode="grayscale"),
    dict(seed=5, crop_to_aspect_ratio=True, interpolation="bicubic", class_names=["dogs",
                                                                                   "cats"],
         label_mode="binary"),
    dict(seed=5, pad_to_aspect_ratio=True, color_mode="rgba", data_format="channels_first",
         interpolation="nearest"),
    dict(shuffle=False, pad_to_aspect_ratio=True, image_size=(5, 2)),  # pads rows, not columns
    dict(seed=5, labels=None, batch_size=None, image_size=(6, 3)),
]


@independent
@pytest.mark.parametrize("kwargs", CASES)
def test_image_dataset_gives_keras_grain_arrays(keras, image_dir, kwargs):
    kwargs = dict(dict(image_size=(4, 5), batch_size=4, verbose=False), **kwargs)
    theirs = keras.utils.image_dataset_from_directory(image_dir, format="grain", **kwargs)
    ours = image_dataset_from_directory(image_dir, format="grain", **kwargs)
    assert ours.file_paths == theirs.file_paths and ours.class_names == theirs.class_names
    assert_same_batches(ours, theirs)
    # nhanh's own dataset: the same files; in listed order it holds the same batches
    listed = image_dataset_from_directory(image_dir, **kwargs)
    assert isinstance(listed, BatchedDataset)
    assert listed.file_paths == theirs.file_paths and listed.class_names == theirs.class_names
    if not kwargs.get("shuffle", True):
        assert_same_batches(listed, theirs)
    # ... and each file's image is what Keras's own loader makes of that file
    from keras.src.utils.image_dataset_utils import _load_image_grain

    channels = {"rgb": 3, "rgba": 4, "grayscale": 1}[kwargs.get("color_mode", "rgb")]
    fmt = kwargs.get("data_format") or "channels_last"
    for path, sample in zip(listed.file_paths, _samples(_listed(listed), kwargs)):
        want = _load_image_grain(path, kwargs["image_size"], channels,
                                 kwargs.get("interpolation", "bilinear"), fmt,
                                 kwargs.get("crop_to_aspect_ratio", False),
                                 kwargs.get("pad_to_aspect_ratio", False))
        np.testing.assert_allclose(sample[0], np.asarray(want), atol=2e-3, rtol=1e-5)


def _listed(ds):
    return [ds[i] for i in range(len(ds))]


def _samples(batches, kwargs):
    """The samples of a grain dataset in file order (grain shuffles with its own seed)."""
    out = []
    for batch in batches:
        parts = _arrays(batch)
        if kwargs.get("batch_size", 4) is None:
            out.append(tuple(parts))
        else:
            out += list(zip(*parts))
    return out


@independent
def test_image_dataset_both_subsets_split_like_keras(keras, image_dir):
    kw = dict(image_size=(3, 3), validation_split=0.25, subset="both", seed=11, verbose=False)
    k_train, k_val = keras.utils.image_dataset_from_directory(image_dir, format="grain", **kw)
    train, val = image_dataset_from_directory(image_dir, batch_size=2, **kw)
    assert train.file_paths == k_train.file_paths and val.file_paths == k_val.file_paths
    assert not set(train.file_paths) & set(val.file_paths)
    n = len(train.file_paths) + len(val.file_paths)
    assert len(val.file_paths) == int(0.25 * n)
    assert len(train) == -(-len(train.file_paths) // 2) and len(val) == -(-len(val.file_paths)
                                                                          // 2)
    assert_same_batches([val[i] for i in range(len(val))],
                        image_dataset_from_directory(image_dir, format="grain", batch_size=2,
                                                     **kw)[1])


@independent
def test_batched_dataset_reshuffles_each_epoch_and_keeps_its_batches(image_dir):
    ds = image_dataset_from_directory(image_dir, image_size=(2, 2), batch_size=3, seed=1,
                                      verbose=False)
    n = len(ds.file_paths)
    assert len(ds) == -(-n // 3) and [len(b[1]) for b in ds] == [3] * (n // 3) + [n % 3] * (
        n % 3 > 0)
    firsts = [np.concatenate([b[1] for b in ds]) for _ in range(3)]
    listed = np.concatenate([ds[i][1] for i in range(len(ds))])
    assert all(sorted(f) == sorted(listed) for f in firsts)
    assert any(not np.array_equal(firsts[0], f) for f in firsts[1:])  # a new order per epoch
    fixed = image_dataset_from_directory(image_dir, image_size=(2, 2), batch_size=3,
                                         shuffle=False, verbose=False)
    assert_same_batches(fixed, fixed, atol=0)
    assert_same_batches(list(fixed), [fixed[i] for i in range(len(fixed))], atol=0)
    doubled = fixed.map(lambda x, y: (2 * x, y + 1))
    np.testing.assert_allclose(doubled[1][0], 2 * fixed[1][0])
    np.testing.assert_array_equal(doubled[-1][1], fixed[-1][1] + 1)
    with pytest.raises(IndexError, match="out of range"):
        fixed[len(fixed)]


@independent
@pytest.mark.parametrize("kwargs, match", [
    (dict(validation_split=0.2, subset="training"), "seed"),
    (dict(validation_split=0.2), "subset"),
    (dict(subset="both", validation_split=1.5, seed=1), "between 0 and 1"),
    (dict(label_mode="binary"), "exactly 2 classes"),
    (dict(label_mode="sparse"), "label_mode"),
    (dict(class_names=["cats", "fish"]), "fish"),
    (dict(labels=[0, 1]), "one label per file"),
    (dict(labels="folders"), "labels"),
    (dict(color_mode="bgr"), "color_mode"),
    (dict(interpolation="gaussian"), "TensorFlow-only"),
    (dict(crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "at most one"),
    (dict(image_size=(1, 2, 3)), "image_size"),
    (dict(format="torch"), "format"),
    (dict(batch_size=0), "batch_size"),
    (dict(validation_split=0.01, subset="validation", seed=1), "leaves no validation"),
])
def test_image_dataset_errors_say_what_to_change(image_dir, kwargs, match):
    with pytest.raises(ValueError, match=match):
        image_dataset_from_directory(image_dir, verbose=False, **kwargs)


def test_fit_on_an_image_directory_trains_as_on_its_arrays(image_dir):
    """fit(train, validation_data=val) takes the same steps, and reports the same validation
    losses, as fit on the arrays the datasets hold; predict and evaluate take them too."""
    kw = dict(image_size=(4, 4), batch_size=4, label_mode="categorical", verbose=False,
              validation_split=0.3, subset="both", seed=2)
    train, val = image_dataset_from_directory(image_dir, shuffle=False, **kw)
    x, y = (np.concatenate(a) / (255.0, 1)[i] for i, a in enumerate(zip(*train)))
    x_val, y_val = (np.concatenate(a) / (255.0, 1)[i] for i, a in enumerate(zip(*val)))

    def trained(*data, **kwargs):
        nhanh.utils.set_random_seed(0)
        model = nhanh.Sequential([nhanh.Input((4, 4, 3)), nhanh.layers.Flatten(),
                                  nhanh.layers.Dense(3, activation="softmax")])
        model.compile(optimizer=nhanh.optimizers.SGD(0.05), loss="categorical_crossentropy")
        history = model.fit(*data, epochs=3, verbose=0, **kwargs)
        return model, history.history

    def scaled(ds):
        return ds.map(lambda images, labels: (images / 255.0, labels))

    model, on_ds = trained(scaled(train), validation_data=scaled(val))
    _, on_arrays = trained(x, y, batch_size=4, shuffle=False, validation_data=(x_val, y_val))
    assert on_ds["loss"][-1] < on_ds["loss"][0]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(on_ds[key], on_arrays[key], rtol=1e-5)
    assert model.predict(scaled(val), verbose=0).shape == (len(val.file_paths), 3)
    np.testing.assert_allclose(model.evaluate(scaled(val), verbose=0), on_ds["val_loss"][-1],
                               rtol=1e-5)


# ---- text_dataset_from_directory --------------------------------------------------------

@pytest.fixture(scope="module")
def text_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("texts")
    for c, name in enumerate(["neg", "pos"]):
        (root / name).mkdir()
        for i in range(4 + c):
            (root / name / f"t{i}.txt").write_text(f"{name} review {i}: " + "ça va " * i,
                                                   encoding="utf-8")
        (root / name / "skip.md").write_text("not a .txt")
    return root


@independent
@pytest.mark.parametrize("kwargs", [
    dict(shuffle=False), dict(seed=4, max_length=9, label_mode="binary"),
    dict(seed=4, validation_split=0.4, subset="validation", label_mode="categorical"),
    dict(seed=2, labels=None, batch_size=None)])
def test_text_dataset_gives_keras_grain_texts(keras, text_dir, kwargs):
    kwargs = dict(dict(batch_size=3, verbose=False), **kwargs)
    theirs = keras.utils.text_dataset_from_directory(text_dir, format="grain", **kwargs)
    ours = text_dataset_from_directory(text_dir, format="grain", **kwargs)
    assert ours.class_names == theirs.class_names
    for a, b in zip(list(ours), list(theirs), strict=True):
        a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
        assert list(np.atleast_1d(a[0])) == list(b[0] if isinstance(b[0], tuple)
                                                 else np.atleast_1d(b[0]))
        for x, y in zip(a[1:], b[1:]):
            np.testing.assert_array_equal(x, np.asarray(y))
    listed = text_dataset_from_directory(text_dir, **kwargs)
    assert listed.class_names == ours.class_names
    assert sorted(listed.file_paths) == sorted(ours.file_paths)
    first = listed[0]
    texts = first[0] if isinstance(first, tuple) else first
    if kwargs["batch_size"]:
        assert texts.dtype == object and len(texts) == min(3, len(listed.file_paths))
        with open(listed.file_paths[0], encoding="utf-8") as f:
            assert texts[0] == f.read()[:kwargs.get("max_length")]


# ---- audio_dataset_from_directory -------------------------------------------------------

def _write_wav(path, samples: np.ndarray, rate: int = 8000, width: int = 2):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(samples.astype({1: "uint8", 2: "<i2", 4: "<i4"}[width]).tobytes())


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    clips = {}
    for name in ("no", "yes"):
        (root / name).mkdir()
        for i in range(3):
            clip = rng.integers(-32768, 32768, (5 + 3 * i, 2))
            _write_wav(root / name / f"c{i}.wav", clip)
            clips[str(root / name / f"c{i}.wav")] = clip / 32768.0
    return root, clips


@independent
def test_audio_dataset_reads_the_written_samples(audio_dir):
    root, clips = audio_dir
    ds = audio_dataset_from_directory(root, batch_size=4, shuffle=False, verbose=False)
    assert ds.class_names == ["no", "yes"] and len(ds) == 2
    x, y = ds[0]
    assert x.dtype == np.float32 and x.shape == (4, 11, 2)  # padded to the batch's longest
    np.testing.assert_array_equal(y, [0, 0, 0, 1])
    for row, path in zip(x, ds.file_paths[:4]):
        want = clips[path]
        np.testing.assert_allclose(row[:len(want)], want, rtol=1e-6)
        assert not row[len(want):].any()
    fixed = audio_dataset_from_directory(root, batch_size=2, output_sequence_length=7,
                                         seed=3, label_mode="categorical", verbose=False)
    for xb, yb in fixed:
        assert xb.shape[1:] == (7, 2) and yb.shape[1:] == (2,)
    for i, path in enumerate(fixed.file_paths[:2]):
        want = clips[path][:7]
        np.testing.assert_allclose(fixed[0][0][i][:len(want)], want, rtol=1e-6)
    ragged = audio_dataset_from_directory(root, batch_size=3, ragged=True, shuffle=False,
                                          labels=None, verbose=False)
    assert [len(c) for c in ragged[0]] == [5, 8, 11]
    train, val = audio_dataset_from_directory(root, validation_split=0.5, subset="both",
                                              seed=9, verbose=False)
    assert sorted(train.file_paths + val.file_paths) == sorted(clips)


@independent
def test_audio_other_sample_widths_and_resampling(tmp_path):
    samples = np.array([[0], [64], [128], [255]])
    _write_wav(tmp_path / "u8.wav", samples, width=1)
    _write_wav(tmp_path / "i32.wav", np.array([[-2 ** 31], [0], [2 ** 30]]), width=4)
    ds = audio_dataset_from_directory(tmp_path, labels=None, batch_size=None, shuffle=False,
                                      verbose=False)
    by_path = dict(zip(ds.file_paths, ds))
    np.testing.assert_allclose(by_path[str(tmp_path / "u8.wav")][:, 0],
                               (samples[:, 0] - 128) / 128.0)
    np.testing.assert_allclose(by_path[str(tmp_path / "i32.wav")][:, 0], [-1, 0, 0.5])
    signal = pytest.importorskip("scipy.signal")
    tone = np.round(10000 * np.sin(np.arange(80) / 3.0))[:, None]
    _write_wav(tmp_path / "tone.wav", tone, rate=8000)
    (tmp_path / "u8.wav").unlink()
    (tmp_path / "i32.wav").unlink()
    down = audio_dataset_from_directory(tmp_path, labels=None, batch_size=None,
                                        sampling_rate=4000, verbose=False)
    np.testing.assert_allclose(next(iter(down)),
                               signal.resample_poly(tone / 32768.0, 1, 2, axis=0), atol=1e-6)
    with pytest.raises(ValueError, match="sampling_rate"):
        audio_dataset_from_directory(tmp_path, sampling_rate=0)
    with pytest.raises(ValueError, match="at most one"):
        audio_dataset_from_directory(tmp_path, ragged=True, output_sequence_length=3)


# ---- timeseries_dataset_from_array ------------------------------------------------------

TS_CASES = [
    dict(sequence_length=5),
    dict(sequence_length=4, sequence_stride=3, sampling_rate=2, start_index=3, end_index=40),
    dict(sequence_length=4, shuffle=True, seed=7, batch_size=6),
    dict(sequence_length=3, batch_size=None),
    dict(sequence_length=6, sampling_rate=3, end_index=45, targets_rows=20),
]


@independent
@pytest.mark.parametrize("kwargs", TS_CASES)
@pytest.mark.parametrize("with_targets", [True, False])
def test_timeseries_matches_keras_grain_and_its_definition(keras, kwargs, with_targets):
    data = np.arange(100, dtype="float32").reshape(50, 2)
    targets = (np.arange(50) * 10)[:kwargs.pop("targets_rows", 50)] if with_targets else None
    kwargs = dict(dict(batch_size=8), **kwargs)
    theirs = keras.utils.timeseries_dataset_from_array(data, targets, format="grain", **kwargs)
    assert_same_batches(timeseries_dataset_from_array(data, targets, format="grain", **kwargs),
                        theirs, atol=0)
    ours = timeseries_dataset_from_array(data, targets, **kwargs)
    # the definition: window at p takes rows start + p, + rate, ...; its target is targets[start + p]
    start = kwargs.get("start_index") or 0
    stop = kwargs.get("end_index") or len(data)
    rate, length = kwargs.get("sampling_rate", 1), kwargs["sequence_length"]
    last = stop - start - (length - 1) * rate
    if targets is not None:
        last = min(last, len(targets) - start)
    starts = list(range(0, last, kwargs.get("sequence_stride", 1)))
    windows = [data[start + p + rate * np.arange(length)] for p in starts]
    got = _samples([ours[i] for i in range(len(ours))], kwargs)
    if kwargs.get("shuffle"):  # RandomState(seed) shuffles the starts first, as in Keras
        np.random.RandomState(kwargs["seed"]).shuffle(starts)
        windows = [data[start + p + rate * np.arange(length)] for p in starts]
    assert len(got) == len(windows)
    for sample, window, p in zip(got, windows, starts):
        np.testing.assert_array_equal(sample[0], window)
        if targets is not None:
            assert sample[1] == targets[start + p]
    if not kwargs.get("shuffle"):
        assert_same_batches(ours, theirs, atol=0)
    else:
        epochs = [np.concatenate([_arrays(b)[0][:, 0, 0] for b in ours]) for _ in range(2)]
        assert sorted(epochs[0]) == sorted(epochs[1]) and not np.array_equal(*epochs)


@independent
@pytest.mark.parametrize("kwargs, match", [
    (dict(start_index=-1), "start_index"), (dict(end_index=50), "end_index"),
    (dict(start_index=5, end_index=5), "greater than"), (dict(sampling_rate=0), "sampling_rate"),
    (dict(sequence_stride=60), "sequence_stride"), (dict(sequence_length=60), "No window"),
    (dict(format="pandas"), "format")])
def test_timeseries_errors_name_the_argument(kwargs, match):
    kwargs = dict(dict(sequence_length=3), **kwargs)
    with pytest.raises(ValueError, match=match):
        timeseries_dataset_from_array(np.zeros((50, 1)), None, **kwargs)


def test_fit_on_windows_trains():
    data = np.sin(np.arange(200) / 5.0).astype("float32")[:, None]
    ds = timeseries_dataset_from_array(data[:-4], data[4:], sequence_length=4, batch_size=16,
                                       shuffle=True, seed=0)
    nhanh.utils.set_random_seed(0)
    model = nhanh.Sequential([nhanh.Input((4, 1)), nhanh.layers.Flatten(),
                              nhanh.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(ds, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


# ---- keras.preprocessing's names --------------------------------------------------------

@independent
def test_preprocessing_package_mirrors_keras(keras):
    import nhanh.preprocessing as ours

    for module, theirs in ((ours, keras.preprocessing), (ours.image, keras.preprocessing.image),
                           (ours.sequence, keras.preprocessing.sequence)):
        public = {n for n in dir(theirs) if not n.startswith("_")}
        assert public <= set(dir(module)), public - set(dir(module))
    assert ours.timeseries_dataset_from_array is timeseries_dataset_from_array
    assert ours.image.smart_resize([[[1.0]]], (1, 1)).shape == (1, 1, 1)
