"""The colour and histogram image layers: the deterministic part (transform_images with a given
transformation) against real Keras 3 and against closed forms / NumPy; randomness (seeded,
only in training, advancing inside fit); value_range; channels_first; configs."""

import colorsys
import os

import numpy as np
import pytest

import nhanh
from nhanh.layers import image_color_layers as C
from nhanh.layers import image_histogram_layers as H
from tests.conftest import to_numpy

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
X = RNG.uniform(0, 255, (2, 8, 8, 3)).astype("float32")
B2 = np.array([True, False])


def col(*values, dtype="float32"):
    return np.array(values, dtype).reshape(-1, 1, 1, 1)


def run(layer, t, x=X, training=True):
    """layer.transform_images; compiled on JAX (one compilation beats dozens of eager ones)."""
    def fn(images):
        return layer.transform_images(images, t, training=training)

    if nhanh.config.backend() == "jax":
        import jax

        return np.asarray(jax.jit(fn)(x))
    return to_numpy(fn(nhanh.ops.convert_to_tensor(x)))


_KERAS = {}


def keras_run(name, kwargs, t, x=X):
    """Keras's layer on the same images, once per session (compiled when Keras is on JAX)."""
    key = (name, repr(kwargs), x.shape, float(x.sum()))
    if key not in _KERAS:
        layer = getattr(keras.layers, name)(**kwargs)

        def fn(images):
            return layer.transform_images(images, t, training=True)

        if keras.backend.backend() == "jax":
            import jax

            fn = jax.jit(fn)
        _KERAS[key] = np.asarray(fn(x))
    return _KERAS[key]


# (layer name, constructor kwargs, a transformation in Keras's structure); the Keras layer of
# the same name must give the same images.
CASES = [
    ("RandomContrast", dict(factor=0.5), {"contrast_factor": col(0.6, 1.4)}),
    ("RandomBrightness", dict(factor=0.5), {"rgb_delta": col(-30.0, 60.0)}),
    ("RandomColorDegeneration", dict(factor=0.5), {"factor": col(0.3, 0.9)}),
    ("RandomSharpness", dict(factor=0.5), {"factor": np.array([0.1, 0.9], "float32")}),
    ("RandomSaturation", dict(factor=0.5), {"factor": np.array([0.3, 0.9], "float32")}),
    ("RandomHue", dict(factor=0.5), {"factor": np.array([0.3, -0.2], "float32")}),
    ("RandomGrayscale", dict(factor=0.5), B2.reshape(2, 1, 1, 1)),
    ("RandomGaussianBlur", dict(factor=0.5, kernel_size=5),
     {"should_apply_blur": B2, "blur_factor": np.array([0.8, 0.8], "float32")}),
    ("RandomPosterization", dict(factor=4), {"shift_factor": np.array([3, 6], "uint8")}),
    ("RandomInvert", dict(factor=0.5), {"apply_inversion": B2}),
    ("Solarization", dict(addition_factor=0.5, threshold_factor=0.5),
     {"additions": col(10.0, 40.0), "thresholds": col(100.0, 200.0)}),
    ("AutoContrast", {}, None),
    ("ContrastLimitedAdaptiveHistogramEqualization", dict(tile_grid_size=(3, 3)), None),
]
MODULES = (C, H)


def nhanh_layer(name, **kwargs):
    return getattr(next(m for m in MODULES if hasattr(m, name)), name)(**kwargs)


@pytest.mark.parametrize("name,kwargs,t", CASES, ids=[c[0] for c in CASES])
def test_transform_matches_keras(name, kwargs, t):
    expected = keras_run(name, kwargs, t)
    out = run(nhanh_layer(name, **kwargs), t)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-3)
    assert not np.allclose(out, X)  # the case does change the images
    inference = run(nhanh_layer(name, **kwargs), t, training=False)
    if name in ("AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization"):
        np.testing.assert_allclose(inference, out)  # Keras applies these in inference too
    else:
        np.testing.assert_array_equal(inference, X)


@pytest.mark.parametrize("name,kwargs,t", CASES, ids=[c[0] for c in CASES])
def test_channels_first_is_channels_last_transposed(name, kwargs, t):
    last = run(nhanh_layer(name, **kwargs), t)
    first = run(nhanh_layer(name, data_format="channels_first", **kwargs), t,
                x=X.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(first, last.transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-3)


def test_equalization_per_image_matches_numpy_and_keras_on_one_image():
    x = np.round(X * 0.5 + 20).astype("float32")  # levels in [20, 148)
    out = run(H.Equalization(), None, x=x)
    for b in range(2):
        for c in range(3):
            v = x[b, ..., c].astype(int)
            cdf = np.cumsum(np.bincount(v.ravel(), minlength=256))
            low = cdf[cdf > 0][0]
            table = np.clip(np.round((cdf - low) * 255.0 / (cdf[-1] - low)), 0, 255)
            np.testing.assert_allclose(out[b, ..., c], table[v])
    keras_one = keras_run("Equalization", dict(bins=32), None, x=x[:1])
    # Keras's table rounds x.5 by its own arithmetic order: allow one level
    np.testing.assert_allclose(run(H.Equalization(bins=32), None, x=x)[:1], keras_one, atol=1)
    flat = np.full((1, 4, 4, 3), 7.0, "float32")  # a single level: left as it is
    np.testing.assert_allclose(run(H.Equalization(), None, x=flat), flat)
    np.testing.assert_allclose(run(H.Equalization(), None, training=False), X)


def test_clahe_with_one_tile_and_no_limit_is_global_equalization():
    x = np.round(X[:1]).astype("float32")
    out = run(H.ContrastLimitedAdaptiveHistogramEqualization(clip_limit=0,
                                                             tile_grid_size=(1, 1)), None, x=x)
    for c in range(3):
        v = x[0, ..., c].astype(int)
        cdf = np.cumsum(np.bincount(v.ravel(), minlength=256))
        np.testing.assert_allclose(out[0, ..., c], (cdf[v] - cdf[0]) * 255.0 / (64 - cdf[0]),
                                   rtol=1e-5, atol=1e-3)


def test_closed_forms():
    # contrast keeps each channel's mean; brightness shifts every pixel of an image alike
    out = run(C.RandomContrast(0.5), {"contrast_factor": col(0.5, 0.5)})
    np.testing.assert_allclose(out.mean(axis=(1, 2)), X.mean(axis=(1, 2)), rtol=1e-5)
    # a hue turn of 1/3 sends red to green: (r, g, b) -> (b, r, g)
    np.testing.assert_allclose(run(C.RandomHue(0.9), {"factor": np.array([1 / 3, 1 / 3])}),
                               X[..., [2, 0, 1]], rtol=1e-4, atol=1e-2)
    # saturation 0 leaves the value (largest channel) in every channel
    gray = run(C.RandomSaturation(0.5), {"factor": np.zeros(2, "float32")})
    np.testing.assert_allclose(gray, np.repeat(X.max(-1, keepdims=True), 3, -1), rtol=1e-5)
    # saturation doubled, checked with colorsys
    x01 = X[:1] / 255.0
    got = run(C.RandomSaturation(0.5, value_range=(0, 1)), {"factor": np.array([2.0])}, x=x01)
    ref = np.array([colorsys.hsv_to_rgb(h, min(2 * s, 1.0), v) for h, s, v in
                    (colorsys.rgb_to_hsv(*p) for p in x01.reshape(-1, 3))])
    np.testing.assert_allclose(got.reshape(-1, 3), ref, atol=1e-5)
    # posterization keeps the top bits: multiples of 2**shift
    post = run(H.RandomPosterization(4), {"shift_factor": np.array([3, 6])})
    np.testing.assert_array_equal(post, np.floor(X / [[[[8.0]]], [[[64.0]]]]) *
                                  [[[[8.0]]], [[[64.0]]]])
    # inversion twice is the identity, in any value range
    inv = H.RandomInvert(value_range=(-1, 1))
    x11 = X / 127.5 - 1
    once = run(inv, {"apply_inversion": B2}, x=x11)
    np.testing.assert_allclose(once[0], -x11[0], rtol=1e-6)
    np.testing.assert_allclose(run(inv, {"apply_inversion": B2}, x=once), x11, rtol=1e-6)
    # auto contrast: each channel's min and max reach the ends of the range
    auto = run(H.AutoContrast(value_range=(0, 1)), None, x=X / 510.0 + 0.2)
    np.testing.assert_allclose(auto.min(axis=(1, 2)), 0.0, atol=1e-6)
    np.testing.assert_allclose(auto.max(axis=(1, 2)), 1.0, atol=1e-6)


def test_value_range_is_respected():
    x01 = X / 255.0
    bright = C.RandomBrightness((0.2, 0.2), value_range=(0, 1), seed=1)
    out = to_numpy(bright(x01))
    np.testing.assert_allclose(out, np.clip(x01 + 0.2, 0, 1), rtol=1e-5, atol=1e-6)
    hue = {"factor": np.array([0.3, -0.2], "float32")}
    base = run(C.RandomHue(0.5), hue)
    np.testing.assert_allclose(run(C.RandomHue(0.5, value_range=(-1, 1)), hue, x=X / 127.5 - 1),
                               base / 127.5 - 1, atol=1e-4)
    sol = {"additions": col(0.0, 0.0), "thresholds": col(128.0, 128.0)}
    np.testing.assert_allclose(run(H.Solarization(0, 0.5, value_range=(0, 1)), sol, x=x01),
                               run(H.Solarization(0, 0.5), sol) / 255.0, atol=1e-6)
    for layer in (C.RandomContrast(0.9), C.RandomBrightness(0.9), C.RandomSharpness(1.0)):
        y = to_numpy(layer(X))
        assert y.min() >= 0 and y.max() <= 255


RANDOM = [C.RandomContrast(0.5, seed=3), C.RandomBrightness(0.3, seed=3),
          C.RandomSaturation(0.9, seed=3), C.RandomHue(0.5, seed=3),
          C.RandomGrayscale(0.5, seed=3), C.RandomColorDegeneration(0.8, seed=3),
          C.RandomSharpness(0.9, seed=3), C.RandomGaussianBlur(1.0, seed=3),
          H.RandomPosterization(5, seed=3), H.RandomInvert(0.9, seed=3),
          H.Solarization(0.5, 0.5, seed=3),
          C.RandomColorJitter(brightness_factor=0.3, contrast_factor=0.5, hue_factor=0.3,
                              saturation_factor=0.5, seed=3)]


@pytest.mark.parametrize("make", [lambda: type(layer).from_config(layer.get_config())
                                  for layer in RANDOM],
                         ids=[type(layer).__name__ for layer in RANDOM])
def test_random_layers_seeded_training_only(make):
    a, b = make(), make()
    first = to_numpy(a(X))
    np.testing.assert_allclose(to_numpy(b(X)), first, rtol=1e-5, atol=1e-4)  # same seed
    assert not np.allclose(to_numpy(a(X)), first)  # the generator moved on
    np.testing.assert_array_equal(to_numpy(a(X, training=False)), X)
    assert 0 <= first.min() and first.max() <= 255


def test_a_single_image_is_a_batch_of_one():
    layer = C.RandomContrast((0.5, -0.5), seed=0)  # contrast exactly 1.5
    one = to_numpy(layer(X[0]))
    assert one.shape == X[0].shape
    np.testing.assert_allclose(one, run(layer, {"contrast_factor": col(1.5)}, x=X[:1])[0],
                               rtol=1e-5, atol=1e-3)


def test_per_image_draws():
    out = to_numpy(C.RandomBrightness(0.5, seed=0)(np.full((6, 4, 4, 3), 100.0, "float32")))
    deltas = out[:, 0, 0, 0] - 100.0
    np.testing.assert_allclose(out - 100.0, deltas[:, None, None, None] * np.ones_like(out))
    assert np.all(np.abs(deltas) <= 0.5 * 255) and len(np.unique(deltas)) == 6
    gray = to_numpy(C.RandomGrayscale(0.5, seed=0)(np.repeat(X, 4, axis=0)))
    is_gray = np.all(np.isclose(gray[..., :1], gray), axis=(1, 2, 3))
    assert is_gray.any() and not is_gray.all()


def test_color_jitter_is_its_steps_in_order():
    both = C.RandomColorJitter(brightness_factor=(0.3, 0.3), contrast_factor=(-0.5, 0.5))
    bright = np.clip(X + 76.5, 0, 255)  # brightness first, then contrast 1.5
    mean = bright.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(to_numpy(both(X)), np.clip((bright - mean) * 1.5 + mean, 0, 255),
                               rtol=1e-4, atol=1e-2)

    jitter = C.RandomColorJitter(brightness_factor=(0.1, 0.1), contrast_factor=(0.0, 0.0),
                                 saturation_factor=(0.5, 0.5), hue_factor=(0.0, 0.0), seed=2)
    expected = np.clip(X + 25.5, 0, 255)  # contrast exactly 1, saturation x1, hue +-0
    np.testing.assert_allclose(to_numpy(jitter(X)), expected, rtol=1e-4, atol=1e-2)


def test_dict_inputs_pass_labels_masks_and_boxes():
    boxes = {"boxes": np.array([[[1.0, 1.0, 4.0, 5.0]]] * 2, "float32"),
             "labels": np.array([[3], [4]])}
    box = dict(bounding_box_format="xyxy")
    for layer in (C.RandomContrast(0.5, seed=1, **box), H.AutoContrast(**box),
                  C.RandomGrayscale(seed=1, **box)):
        out = layer({"images": X, "labels": np.array([1, 2]), "segmentation_masks": X[..., :1],
                     "bounding_boxes": boxes}, training=True)
        np.testing.assert_array_equal(to_numpy(out["labels"]), [1, 2])
        np.testing.assert_array_equal(to_numpy(out["segmentation_masks"]), X[..., :1])
        np.testing.assert_array_equal(to_numpy(out["bounding_boxes"]["boxes"]), boxes["boxes"])


def test_fit_with_colour_layers_advances_the_seeds():
    layers = [C.RandomContrast(0.3, seed=1), C.RandomBrightness(0.2, seed=2),
              H.RandomPosterization(6, seed=3), C.RandomSharpness(0.5, seed=4),
              H.AutoContrast()]
    model = nhanh.Sequential([nhanh.Input((8, 8, 3)), *layers, nhanh.layers.Flatten(),
                              nhanh.layers.Dense(1)])
    model.compile("sgd", "mse")
    y = np.ones((8, 1), "float32")
    history = model.fit(np.concatenate([X] * 4), y, batch_size=4, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    counters = [int(to_numpy(layer.generator.state.value)[1]) for layer in layers[:4]]
    assert all(c >= 4 for c in counters), counters  # one draw per step: 2 steps x 2 epochs
    pred = model.predict(X, verbose=0)
    np.testing.assert_allclose(pred, model.predict(X, verbose=0))  # inference is deterministic


@pytest.mark.parametrize("name,kwargs,t", CASES + [
    ("Equalization", dict(bins=128, value_range=(0, 1)), None),
    ("RandomColorJitter", dict(brightness_factor=0.2, hue_factor=(0.1, 0.3)), None)],
    ids=[c[0] for c in CASES] + ["Equalization", "RandomColorJitter"])
def test_config_round_trip(name, kwargs, t):
    layer = nhanh_layer(name, **kwargs)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    if t is not None:
        np.testing.assert_allclose(run(clone, t), run(layer, t), rtol=1e-6)
    keras_config = getattr(keras.layers, name)(**kwargs).get_config()
    assert set(keras_config) - set(config) <= {"name", "trainable", "dtype"}


def test_bad_arguments_say_what_to_pass():
    with pytest.raises(ValueError, match="value_range"):
        C.RandomContrast(0.5, value_range=(0, 0))
    with pytest.raises(ValueError, match=r"factor.*\[0, 1\]"):
        C.RandomContrast(1.5)
    with pytest.raises(ValueError, match="probability"):
        C.RandomGrayscale(2)
    with pytest.raises(ValueError, match="kernel_size"):
        C.RandomGaussianBlur(kernel_size=4)
    with pytest.raises(ValueError, match="tile_grid_size"):
        H.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=8)
    with pytest.raises(ValueError, match="addition_factor"):
        H.Solarization(addition_factor=2.0)
