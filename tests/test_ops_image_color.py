"""ops.image colour and filter ops, against independent references (colorsys, scipy.ndimage, a
NumPy SSIM from Wang et al.'s formula) and against real Keras 3 (imported once, in process)."""

import colorsys
import os

import numpy as np
import pytest
from scipy import ndimage

from nhanh.ops import image_color as ic
from tests.conftest import to_numpy

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(0, 1, size=(2, 6, 7, 3)).astype("float32")


def _np_gauss(size, sigma):
    x = np.arange(size) - (size - 1) / 2
    w = np.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _per_channel(images, kernel, mode="constant"):
    """Cross-correlate each (image, channel) plane with `kernel`, zero padding ("same")."""
    out = np.empty_like(images, dtype="float64")
    for b in range(images.shape[0]):
        for c in range(images.shape[-1]):
            out[b, ..., c] = ndimage.correlate(images[b, ..., c].astype("float64"), kernel,
                                               mode=mode, cval=0.0)
    return out


def test_rgb_to_grayscale_matches_luma_and_keras():
    out = to_numpy(ic.rgb_to_grayscale(IMAGES))
    expected = IMAGES @ np.array([0.2989, 0.5870, 0.1140], "float32")
    np.testing.assert_allclose(out, expected[..., None], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, np.asarray(keras.ops.image.rgb_to_grayscale(IMAGES)),
                               rtol=1e-5, atol=1e-6)
    first = to_numpy(ic.rgb_to_grayscale(IMAGES.transpose(0, 3, 1, 2), "channels_first"))
    np.testing.assert_allclose(first, expected[:, None], rtol=1e-5, atol=1e-6)
    ints = (IMAGES[0] * 255).astype("uint8")
    got = to_numpy(ic.rgb_to_grayscale(ints))
    assert got.dtype == np.uint8 and got.shape == (6, 7, 1)
    assert np.abs(got[..., 0].astype(float) - ints @ np.array([0.2989, 0.587, 0.114])).max() <= 1
    gray = IMAGES[..., :1]
    np.testing.assert_array_equal(to_numpy(ic.rgb_to_grayscale(gray)), gray)
    with pytest.raises(ValueError, match="1 .grayscale. or 3"):
        ic.rgb_to_grayscale(np.zeros((4, 4, 2), "float32"))


def test_hsv_round_trip_matches_colorsys_and_keras():
    images = IMAGES.copy()
    images[0, 0, 0] = [0.5, 0.5, 0.5]  # gray: hue 0, saturation 0
    images[0, 0, 1] = [0.0, 0.0, 0.0]  # black
    images[0, 0, 2] = [0.2, 0.9, 0.9]  # g == b is the maximum
    hsv = to_numpy(ic.rgb_to_hsv(images))
    expected = np.array([colorsys.rgb_to_hsv(*p) for p in images.reshape(-1, 3)])
    np.testing.assert_allclose(hsv.reshape(-1, 3), expected, atol=1e-5)
    np.testing.assert_allclose(hsv, np.asarray(keras.ops.image.rgb_to_hsv(images)), atol=1e-5)
    back = to_numpy(ic.hsv_to_rgb(hsv))
    np.testing.assert_allclose(back, images, atol=1e-5)
    rgb = np.array([colorsys.hsv_to_rgb(*p) for p in IMAGES.reshape(-1, 3)])
    np.testing.assert_allclose(to_numpy(ic.hsv_to_rgb(IMAGES)).reshape(-1, 3), rgb, atol=1e-5)
    first = to_numpy(ic.rgb_to_hsv(images.transpose(0, 3, 1, 2), data_format="channels_first"))
    np.testing.assert_allclose(first, hsv.transpose(0, 3, 1, 2), atol=1e-6)
    with pytest.raises(ValueError, match="float dtype"):
        ic.rgb_to_hsv(np.zeros((2, 2, 3), "uint8"))


@pytest.mark.parametrize("kernel_size,sigma", [((3, 3), (1.0, 1.0)), ((5, 3), (2.0, 0.7))])
def test_gaussian_blur_matches_scipy(kernel_size, sigma):
    out = to_numpy(ic.gaussian_blur(IMAGES, kernel_size, sigma))
    kernel = np.outer(_np_gauss(kernel_size[0], sigma[0]), _np_gauss(kernel_size[1], sigma[1]))
    np.testing.assert_allclose(out, _per_channel(IMAGES, kernel), rtol=1e-5, atol=1e-6)
    if kernel_size[0] == kernel_size[1] and sigma[0] == sigma[1]:  # Keras's own is square-only
        np.testing.assert_allclose(
            out, np.asarray(keras.ops.image.gaussian_blur(IMAGES, kernel_size, sigma,
                                                         data_format="channels_last")),
            rtol=1e-5, atol=1e-6)
    first = to_numpy(ic.gaussian_blur(IMAGES[0].transpose(2, 0, 1), kernel_size, sigma,
                                      data_format="channels_first"))
    np.testing.assert_allclose(first, out[0].transpose(2, 0, 1), rtol=1e-5, atol=1e-6)


def test_sobel_edges_match_scipy_and_keras():
    out = to_numpy(ic.sobel_edges(IMAGES))
    assert out.shape == IMAGES.shape + (2,)
    dx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], "float64")
    np.testing.assert_allclose(out[..., 0], _per_channel(IMAGES, dx.T), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[..., 1], _per_channel(IMAGES, dx), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out, np.asarray(keras.ops.image.sobel_edges(IMAGES, "channels_last")),
                               rtol=1e-5, atol=1e-5)
    first = to_numpy(ic.sobel_edges(IMAGES.transpose(0, 3, 1, 2), "channels_first"))
    np.testing.assert_allclose(first, out.transpose(0, 3, 1, 2, 4), rtol=1e-5, atol=1e-5)


def _np_ssim(x, y, max_val, size, sigma, k1=0.01, k2=0.03):
    """SSIM from the paper: Gaussian-weighted local statistics, mean of the map."""
    w = np.outer(_np_gauss(size, sigma), _np_gauss(size, sigma))
    h, wd = x.shape[1] - size + 1, x.shape[2] - size + 1
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    out = []
    for b in range(x.shape[0]):
        vals = []
        for c in range(x.shape[-1]):
            a, bb = x[b, ..., c].astype("float64"), y[b, ..., c].astype("float64")
            for i in range(h):
                for j in range(wd):
                    pa, pb = a[i:i + size, j:j + size], bb[i:i + size, j:j + size]
                    ma, mb = (w * pa).sum(), (w * pb).sum()
                    va, vb = (w * (pa - ma) ** 2).sum(), (w * (pb - mb) ** 2).sum()
                    cov = (w * (pa - ma) * (pb - mb)).sum()
                    vals.append((2 * ma * mb + c1) * (2 * cov + c2)
                                / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
        out.append(np.mean(vals))
    return np.array(out)


def test_ssim_matches_the_papers_formula_and_keras():
    x = RNG.uniform(0, 255, size=(2, 9, 10, 3)).astype("float32")
    y = np.clip(x + RNG.normal(0, 30, size=x.shape), 0, 255).astype("float32")
    out = to_numpy(ic.ssim(x, y, max_val=255.0, filter_size=5, filter_sigma=1.2))
    assert out.shape == (2,)
    np.testing.assert_allclose(out, _np_ssim(x, y, 255.0, 5, 1.2), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        out, np.asarray(keras.ops.image.ssim(x, y, max_val=255.0, filter_size=5,
                                             filter_sigma=1.2)), rtol=1e-4, atol=1e-5)
    one = to_numpy(ic.ssim(x[0], x[0], max_val=255.0, filter_size=5))
    assert one.shape == () and abs(float(one) - 1.0) < 1e-5
    first = to_numpy(ic.ssim(x.transpose(0, 3, 1, 2), y.transpose(0, 3, 1, 2), max_val=255.0,
                             filter_size=5, filter_sigma=1.2, data_format="channels_first"))
    np.testing.assert_allclose(first, out, rtol=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        ic.ssim(x, y[:, :8])


def test_image_namespace_exports_the_colour_ops():
    from nhanh.ops import image

    for name in ic.__all__:
        assert getattr(image, name) is getattr(ic, name)
