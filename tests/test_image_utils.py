"""nhanh's image helpers against Keras 3's (keras.utils.load_img & co., Keras on JAX in this
process) on the same files: load_img, img_to_array, array_to_img, save_img, smart_resize, and
the host resize that the directory datasets use, against jax.image.resize."""

from __future__ import annotations

import io
import os
import sys

import numpy as np
import pytest

from nhanh.utils import image_utils
from nhanh.utils.image_utils import (array_to_img, img_to_array, load_img, resize_images,
                                     save_img, smart_resize)

os.environ.setdefault("KERAS_BACKEND", "jax")
Image = pytest.importorskip("PIL.Image")
independent = pytest.mark.engine_independent


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny images of every mode load_img converts from: RGB, RGBA, L, palette, 16-bit."""
    d = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (7, 11, 3), dtype=np.uint8)).save(d / "rgb.png")
    Image.fromarray(rng.integers(0, 256, (9, 6, 4), dtype=np.uint8)).save(d / "rgba.png")
    Image.fromarray(rng.integers(0, 256, (5, 8), dtype=np.uint8)).save(d / "gray.png")
    Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).convert("P").save(
        d / "palette.gif")
    Image.fromarray(rng.integers(0, 60000, (4, 5), dtype=np.uint16)).save(d / "deep.png")
    Image.fromarray(rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)).save(d / "photo.jpg")
    return d


NAMES = ["rgb.png", "rgba.png", "gray.png", "palette.gif", "deep.png", "photo.jpg"]


@independent
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("color_mode", ["rgb", "rgba", "grayscale"])
def test_load_img_and_img_to_array_match_keras(keras, files, name, color_mode):
    ours, theirs = load_img(files / name, color_mode), keras.utils.load_img(files / name,
                                                                           color_mode)
    assert ours.mode == theirs.mode and ours.size == theirs.size
    for fmt in ("channels_last", "channels_first"):
        for dtype in (None, "uint8", "float64"):
            got = img_to_array(ours, fmt, dtype)
            want = keras.utils.img_to_array(theirs, fmt, dtype)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)


@independent
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic", "hamming", "box",
                                           "lanczos"])
@pytest.mark.parametrize("keep", [False, True])
def test_load_img_resizes_as_keras(keras, files, interpolation, keep):
    for target in [(4, 4), (10, 3), (7, 11)]:
        for path in (files / "rgb.png", str(files / "rgba.png"),
                     io.BytesIO((files / "gray.png").read_bytes())):
            kwargs = dict(target_size=target, interpolation=interpolation,
                          keep_aspect_ratio=keep)
            got = img_to_array(load_img(path, **kwargs))
            if isinstance(path, io.BytesIO):
                path.seek(0)
            want = keras.utils.img_to_array(keras.utils.load_img(path, **kwargs))
            np.testing.assert_array_equal(got, want)


@independent
@pytest.mark.parametrize("shape", [(4, 5, 3), (4, 5, 4), (4, 5, 1), (3, 4, 5)])
@pytest.mark.parametrize("scale", [True, False])
def test_array_to_img_matches_keras(keras, shape, scale):
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 250, shape).astype("float32")
    fmt = "channels_first" if shape[0] == 3 else "channels_last"
    got, want = array_to_img(x, fmt, scale), keras.utils.array_to_img(x, fmt, scale)
    assert got.mode == want.mode
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    big = rng.uniform(0, 4000, (3, 4, 1))  # above 255, unscaled: a 32-bit 'I' image
    assert array_to_img(big, scale=False).mode == keras.utils.array_to_img(big, scale=False).mode
    np.testing.assert_array_equal(np.asarray(array_to_img(big, scale=False)),
                                  np.asarray(keras.utils.array_to_img(big, scale=False)))


@independent
def test_array_to_img_rejects_bad_ranks_and_channels():
    with pytest.raises(ValueError, match="rank 3"):
        array_to_img(np.zeros((2, 4, 4, 3)))
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        array_to_img(np.zeros((4, 4, 2)))


@independent
@pytest.mark.parametrize("suffix", ["png", "jpg", "bmp"])
def test_save_img_writes_the_bytes_keras_writes(keras, tmp_path, suffix):
    x = np.random.default_rng(2).uniform(0, 1, (6, 7, 3))
    save_img(tmp_path / f"ours.{suffix}", x)
    keras.utils.save_img(tmp_path / f"theirs.{suffix}", x)
    assert (tmp_path / f"ours.{suffix}").read_bytes() == (tmp_path / f"theirs.{suffix}").read_bytes()
    buffer = io.BytesIO()
    save_img(buffer, x, file_format="png", scale=False)
    theirs = io.BytesIO()
    keras.utils.save_img(theirs, x, file_format="png", scale=False)
    assert buffer.getvalue() == theirs.getvalue()


@independent
def test_save_img_drops_alpha_for_jpeg_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match="RGB"):
        save_img(tmp_path / "a.jpeg", np.zeros((4, 4, 4)))
    assert Image.open(tmp_path / "a.jpeg").mode == "RGB"


@independent
def test_missing_pillow_names_the_install_command(monkeypatch, files):
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(ImportError, match="pip install Pillow"):
        load_img(files / "rgb.png")
    with pytest.raises(ImportError, match="pip install Pillow"):
        array_to_img(np.zeros((2, 2, 3)))


@independent
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "lanczos3",
                                           "lanczos5", "area"])
def test_host_resize_matches_jax_image_resize(interpolation):
    jax = pytest.importorskip("jax")
    x = np.random.default_rng(3).uniform(0, 255, (2, 7, 9, 3)).astype("float32")
    for size in [(4, 5), (11, 13), (7, 4), (3, 12)]:
        want = np.asarray(jax.image.resize(x, (2, *size, 3), method=interpolation,
                                           antialias=False))
        got = resize_images(x, size, interpolation, "channels_last")
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=2e-3, rtol=1e-5)
        first = resize_images(x.transpose(0, 3, 1, 2), size, interpolation, "channels_first")
        np.testing.assert_allclose(first.transpose(0, 2, 3, 1), got, atol=1e-4)


@independent
@pytest.mark.parametrize("size", [(4, 5), (11, 13), (7, 4), (9, 2), (2, 5)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic"])
def test_smart_resize_matches_keras_on_numpy_input(keras, size, interpolation):
    x = np.random.default_rng(4).uniform(0, 255, (7, 9, 3)).astype("float32")
    want = keras.preprocessing.image.smart_resize(x, size, interpolation)
    got = smart_resize(x, size, interpolation)
    assert isinstance(got, np.ndarray) and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=2e-3, rtol=1e-5)
    batch = np.stack([x, x[::-1]]).transpose(0, 3, 1, 2)
    want = keras.preprocessing.image.smart_resize(batch, size, interpolation,
                                                  data_format="channels_first")
    np.testing.assert_allclose(smart_resize(batch, size, interpolation,
                                            data_format="channels_first"), want, atol=2e-3,
                               rtol=1e-5)


def test_smart_resize_keeps_a_backend_tensor_a_tensor(keras):
    from nhanh import ops

    x = np.random.default_rng(5).uniform(0, 255, (2, 6, 10, 1)).astype("float32")
    got = smart_resize(ops.convert_to_tensor(x), (5, 5))
    assert ops.is_tensor(got)
    np.testing.assert_allclose(ops.convert_to_numpy(got),
                               keras.preprocessing.image.smart_resize(x, (5, 5)), atol=2e-3)


@independent
def test_smart_resize_errors_name_the_argument():
    with pytest.raises(ValueError, match="size"):
        smart_resize(np.zeros((4, 4, 3)), (2, 2, 2))
    with pytest.raises(ValueError, match=r"shape \(4, 4\)"):
        smart_resize(np.zeros((4, 4)), (2, 2))
    with pytest.raises(TypeError, match="unexpected keyword"):
        smart_resize(np.zeros((4, 4, 3)), (2, 2), antialias=True)
    with pytest.raises(ValueError, match="interpolation"):
        resize_images(np.zeros((4, 4, 3)), (2, 2), "gaussian")
    assert image_utils.INTERPOLATIONS[0] == "bilinear"  # Keras's default comes first
