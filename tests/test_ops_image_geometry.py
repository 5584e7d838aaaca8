"""nhanh.ops.image's geometric ops against real Keras 3's kernels for the same engine
(keras.src.backend.<engine>.image), and resize / map_coordinates also against independent
references (scipy.ndimage, PIL, NumPy closed forms); gradients by finite differences."""

import os

import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.ops import image_geometry as G

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
FILL_MODES = ["constant", "nearest", "wrap", "mirror", "reflect"]


def kimage(backend):
    """Keras 3's image kernels for the engine under test (independent of KERAS_BACKEND)."""
    import importlib

    return importlib.import_module(f"keras.src.backend.{backend}.image")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x)) if not isinstance(x, np.ndarray) else x


def close(got, want, atol=1e-4):
    got, want = np_(got), np.asarray(keras.ops.convert_to_numpy(want))
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=atol, rtol=1e-5)


@pytest.fixture
def x():
    return np.random.default_rng(0).random((2, 9, 11, 3)).astype("float32")


# --- resize ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size,antialias", [((5, 7), False), ((5, 7), True), ((14, 13), False)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "lanczos3",
                                           "lanczos5"])
def test_resize_matches_keras(backend, x, size, antialias, interpolation):
    if interpolation.startswith("lanczos") and backend == "torch":
        # Keras's PyTorch backend has no Lanczos; nhanh's agrees with Keras on JAX
        want = kimage("jax").resize(x, size, interpolation, antialias=antialias)
    else:
        want = kimage(backend).resize(x, size, interpolation, antialias=antialias)
    close(G.resize(x, size, interpolation, antialias=antialias), want)


@pytest.mark.parametrize("kwargs", [dict(crop_to_aspect_ratio=True),
                                    dict(pad_to_aspect_ratio=True, fill_value=0.5)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_resize_aspect_ratio_and_data_format_match_keras(backend, x, kwargs, data_format):
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2)
    for size in [(4, 4), (3, 8), (6, 4)]:
        close(G.resize(x, size, data_format=data_format, **kwargs),
              kimage(backend).resize(x, size, data_format=data_format, **kwargs))
    close(G.resize(x[0], (5, 4), data_format=data_format),  # one image, no batch axis
          kimage(backend).resize(x[0], (5, 4), data_format=data_format))


def test_resize_integers_round_and_saturate_like_keras(backend):
    x = np.random.default_rng(1).integers(0, 256, (2, 9, 11, 3)).astype("uint8")
    got = G.resize(x, (5, 7), "bicubic")
    assert ops.dtype(got) == "uint8"
    want = keras.ops.convert_to_numpy(kimage(backend).resize(x, (5, 7), "bicubic"))
    if want.dtype != np.uint8:  # Keras's JAX kernel leaves the cast to keras.ops
        want = np.clip(np.round(want), 0, 255)
    assert np.abs(np_(got).astype(int) - want.astype(int)).max() <= 1


def test_resize_against_pil_and_numpy(x):
    """Independent references: PIL's bilinear (half-pixel, antialiased when shrinking),
    nearest by its index formula, area as a mean over blocks."""
    from PIL import Image

    img = x[0, :, :, 0]
    for size, antialias in [((14, 17), False), ((4, 5), True)]:
        pil = np.asarray(Image.fromarray(img, mode="F").resize(size[::-1], Image.BILINEAR))
        got = np_(G.resize(img[None, :, :, None], size, antialias=antialias))[0, :, :, 0]
        np.testing.assert_allclose(got, pil, atol=1e-4)
    rows = np.floor((np.arange(4) + 0.5) * 9 / 4).astype(int)
    cols = np.floor((np.arange(6) + 0.5) * 11 / 6).astype(int)
    np.testing.assert_array_equal(np_(G.resize(x, (4, 6), "nearest")), x[:, rows][:, :, cols])
    y = np.random.default_rng(2).random((2, 8, 12, 3)).astype("float32")
    blocks = y.reshape(2, 4, 2, 4, 3, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(np_(G.resize(y, (4, 4), "area")), blocks, atol=1e-5)
    np.testing.assert_allclose(np_(G.resize(y.transpose(0, 3, 1, 2), (4, 4), "area",
                                            data_format="channels_first")),
                               blocks.transpose(0, 3, 1, 2), atol=1e-5)


def test_resize_argument_errors(x):
    with pytest.raises(ValueError, match="interpolation"):
        G.resize(x, (4, 4), "cubic")
    with pytest.raises(ValueError, match="size"):
        G.resize(x, (4,))
    with pytest.raises(ValueError, match="at most one"):
        G.resize(x, (4, 4), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="rank 3"):
        G.resize(x[0, 0], (4, 4))


# --- warps ----------------------------------------------------------------------------------
# no exact halves among the sampled points: Keras rounds them half away from zero on JAX and
# half to even on PyTorch (nhanh: away from zero on both)
TRANSFORMS = np.array([[1.07, 0.213, -1.29, -0.093, 0.917, 2.21, 0, 0],
                       [0.811, -0.287, 2.43, 0.207, 1.19, -1.13, 0, 0]], "float32")


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_affine_transform_matches_keras(backend, x, interpolation, fill_mode):
    close(G.affine_transform(x, TRANSFORMS, interpolation, fill_mode, 0.3),
          kimage(backend).affine_transform(x, TRANSFORMS, interpolation, fill_mode, 0.3))


def test_affine_transform_channels_first_single_image_and_projective(backend, x):
    xf = x.transpose(0, 3, 1, 2)
    close(G.affine_transform(xf, TRANSFORMS, data_format="channels_first"),
          kimage(backend).affine_transform(xf, TRANSFORMS, data_format="channels_first"))
    close(G.affine_transform(x[1], TRANSFORMS[1]),
          kimage(backend).affine_transform(x[1], TRANSFORMS[1]))
    # projective terms divide: a pure scaling by 1/k with k = c0 x + 1, checked pointwise
    t = np.array([1, 0, 0, 0, 1, 0, 0.05, 0], "float32")
    img = np.random.default_rng(3).random((9, 11, 1)).astype("float32")
    got = np_(G.affine_transform(img, t, "nearest"))[..., 0]
    for r, c in [(2, 3), (8, 10), (5, 0)]:
        k = 0.05 * c + 1
        rr, cc = int(np.floor(r / k + 0.5)), int(np.floor(c / k + 0.5))
        assert got[r, c] == img[rr, cc, 0]


def test_perspective_transform_matches_keras(backend, x):
    start = np.array([[[0, 0], [10, 0], [0, 8], [10, 8]]] * 2, "float32")
    end = np.array([[[1, 2], [9, 0], [0, 7], [10, 8.5]],
                    [[0, 1], [10, 1], [1, 7], [9, 8]]], "float32")
    for interpolation in ["bilinear", "nearest"]:
        close(G.perspective_transform(x, start, end, interpolation, 0.2),
              kimage(backend).perspective_transform(x, start, end, interpolation, 0.2))
    xf = x.transpose(0, 3, 1, 2)
    close(G.perspective_transform(xf, start, end, data_format="channels_first"),
          kimage(backend).perspective_transform(xf, start, end,
                                                data_format="channels_first"))
    # the same corners give the identity
    np.testing.assert_allclose(np_(G.perspective_transform(x, start, start)), x, atol=1e-4)


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_map_coordinates_matches_keras_and_scipy(backend, order, fill_mode):
    import scipy.ndimage

    rng = np.random.default_rng(4)
    img = rng.random((9, 11, 3)).astype("float32")
    coords = rng.uniform(-4, 13, (3, 4, 5)).astype("float32")
    coords[2] = rng.integers(0, 3, (4, 5))
    got = G.map_coordinates(img, coords, order, fill_mode, 0.7)
    close(got, kimage(backend).map_coordinates(img, coords, order, fill_mode, 0.7))
    scipy_mode = {"constant": "grid-constant", "wrap": "grid-wrap"}.get(fill_mode, fill_mode)
    want = scipy.ndimage.map_coordinates(img.astype("float64"), coords.astype("float64"),
                                         order=order, mode=scipy_mode, cval=0.7)
    np.testing.assert_allclose(np_(got), want, atol=1e-4)
    list_form = G.map_coordinates(img, [coords[0], coords[1], coords[2]], order, fill_mode, 0.7)
    np.testing.assert_allclose(np_(list_form), np_(got))


def test_map_coordinates_argument_errors():
    img = np.zeros((4, 5), "float32")
    with pytest.raises(ValueError, match="one row per axis"):
        G.map_coordinates(img, np.zeros((3, 2), "float32"), 1)
    with pytest.raises(ValueError, match="fill_mode"):
        G.map_coordinates(img, np.zeros((2, 2), "float32"), 1, "edge")
    with pytest.raises(ValueError, match="order"):
        G.map_coordinates(img, np.zeros((2, 2), "float32"), 3)


def test_elastic_transform_invariants(backend, x):
    """Random fields differ from Keras's draws: check alpha=0 is the identity, the result is
    repeatable with a seed, smooth (neighbours move together) and bounded by the input."""
    np.testing.assert_allclose(np_(G.elastic_transform(x, alpha=0.0, sigma=2.0, seed=1)), x,
                               atol=1e-5)
    a = np_(G.elastic_transform(x, alpha=3.0, sigma=2.0, seed=1))
    b = np_(G.elastic_transform(x, alpha=3.0, sigma=2.0, seed=1))
    c = np_(G.elastic_transform(x, alpha=3.0, sigma=2.0, seed=2))
    np.testing.assert_array_equal(a, b)
    assert a.shape == x.shape and not np.allclose(a, x) and not np.allclose(a, c)
    assert a.min() >= x.min() - 1e-5 and a.max() <= x.max() + 1e-5
    xf = x.transpose(0, 3, 1, 2)
    f = np_(G.elastic_transform(xf, alpha=3.0, sigma=2.0, seed=1, data_format="channels_first"))
    np.testing.assert_allclose(f.transpose(0, 2, 3, 1), a, atol=1e-5)


# --- crop, pad, patches, scale_and_translate ------------------------------------------------
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_crop_and_pad_match_keras(x, data_format):
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2)
    for kw in [dict(top_cropping=1, left_cropping=2, target_height=5, target_width=4),
               dict(bottom_cropping=2, right_cropping=1, top_cropping=3, left_cropping=0)]:
        close(G.crop_images(x, **kw, data_format=data_format),
              keras.ops.image.crop_images(x, **kw, data_format=data_format))
    for kw in [dict(top_padding=1, left_padding=2, target_height=15, target_width=14),
               dict(bottom_padding=2, right_padding=1, top_padding=3, left_padding=0)]:
        close(G.pad_images(x[0], **kw, data_format=data_format),
              keras.ops.image.pad_images(x[0], **kw, data_format=data_format))
    with pytest.raises(ValueError, match="exactly two"):
        G.crop_images(x, top_cropping=1, data_format=data_format)
    with pytest.raises(ValueError, match="bottom_padding=-8"):
        G.pad_images(x, top_padding=1, target_height=2, left_padding=0, right_padding=0,
                     data_format=data_format)


@pytest.mark.parametrize("kw", [dict(size=3), dict(size=(2, 3), strides=(1, 2)),
                                dict(size=3, strides=2, padding="same"),
                                dict(size=2, strides=1, dilation_rate=2)])
def test_extract_patches_matches_keras(x, kw):
    close(G.extract_patches(x, **kw), keras.ops.image.extract_patches(x, **kw))
    xf = x.transpose(0, 3, 1, 2)
    close(G.extract_patches(xf[0], **kw, data_format="channels_first"),
          keras.ops.image.extract_patches(xf[0], **kw, data_format="channels_first"))


def test_extract_patches_3d_matches_keras():
    v = np.random.default_rng(5).random((2, 6, 7, 8, 2)).astype("float32")
    for kw in [dict(size=2), dict(size=(2, 3, 2), strides=(1, 2, 3))]:
        close(G.extract_patches_3d(v, **kw), keras.ops.image.extract_patches_3d(v, **kw))
    close(G.extract_patches(v, (2, 2, 2)), keras.ops.image.extract_patches_3d(v, 2))


@pytest.mark.parametrize("method", ["linear", "cubic", "lanczos3", "lanczos5"])
def test_scale_and_translate_matches_keras(backend, x, method):
    scale, shift = np.array([0.6, 1.4], "float32"), np.array([0.5, -1.0], "float32")
    for antialias in [True, False]:
        close(G.scale_and_translate(x, (2, 6, 15, 3), scale, shift, (1, 2), method, antialias),
              kimage(backend).scale_and_translate(x, (2, 6, 15, 3), scale, shift, (1, 2),
                                                  method, antialias))


# --- gradients ------------------------------------------------------------------------------
def _finite_difference_check(fn, x, probe, eps=1e-2, n=6):
    """d(sum(fn(x) * probe))/dx from autodiff against central differences at n entries
    (x holds one image: fn must treat the images of a batch apart)."""
    probe = ops.convert_to_tensor(probe)
    loss = lambda v: ops.sum(fn(v) * probe)  # noqa: E731
    grad_fn = nhanh.backend.get().value_and_grad(lambda params: loss(params[0]))
    _, (grad,) = grad_fn([ops.convert_to_tensor(x)])
    grad = np_(grad)
    rng = np.random.default_rng(6)
    idxs = [np.unravel_index(flat, x.shape) for flat in rng.choice(x.size, n, replace=False)]
    # Every nudged copy (+eps, then -eps, per entry) in one batch of single images: one
    # call instead of 2n (each eager call is slow on JAX); the loss is summed per image.
    nudged = np.concatenate([x] * (2 * n))
    for i, idx in enumerate(idxs):
        nudged[(i,) + idx[1:]] += eps
        nudged[(n + i,) + idx[1:]] -= eps
    per_image = np_(ops.sum(fn(nudged) * probe, axis=tuple(range(1, x.ndim))))
    for i, idx in enumerate(idxs):
        numeric = (float(per_image[i]) - float(per_image[n + i])) / (2 * eps)
        assert abs(numeric - grad[idx]) < 2e-3, (idx, numeric, grad[idx])


def test_gradients_of_resize_and_affine_transform(x):
    x = x[:1, :6, :7, :2].astype("float32")
    probe = np.random.default_rng(7).random((1, 4, 9, 2)).astype("float32")
    _finite_difference_check(lambda v: G.resize(v, (4, 9)), x, probe)
    probe = np.random.default_rng(8).random(x.shape).astype("float32")
    t = np.array([0.9, 0.15, 0.3, -0.1, 1.1, 0.4, 0, 0], "float32")
    _finite_difference_check(lambda v: G.affine_transform(v, t, fill_mode="reflect"), x, probe)
