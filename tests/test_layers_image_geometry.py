"""The geometric image layers (Resizing, CenterCrop, RandomCrop, RandomFlip and the random
warps) against real Keras 3 where the result is deterministic (forced factors, hand-built
transformations), by invariants where it is random, and inside Sequential.fit."""

import os

import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.layers import image_resizing as R
from nhanh.layers import image_warps as W
from helpers import keras_once

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


def np_keras(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def close(got, want, atol=1e-3):
    got, want = np_(got), np_keras(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=atol, rtol=1e-5)


@pytest.fixture
def images():
    return (np.random.default_rng(0).random((3, 8, 10, 2)) * 255).astype("float32")


@pytest.fixture
def masks():
    return np.random.default_rng(1).integers(0, 4, (3, 8, 10, 1)).astype("int32")


BOXES = {"boxes": np.array([[[1, 1, 5, 6], [2, 0, 9, 3]]] * 3, "float32"),
         "labels": np.array([[0, 1]] * 3, "int32")}


# --- resizing and cropping ------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [dict(), dict(interpolation="nearest"),
                                    dict(crop_to_aspect_ratio=True),
                                    dict(pad_to_aspect_ratio=True, fill_value=3.0)])
def test_resizing_matches_keras(images, masks, kwargs):
    ours, theirs = R.Resizing(5, 6, **kwargs), keras.layers.Resizing(5, 6, **kwargs)
    close(ours(images), theirs(images))
    close(ours(images, training=False), theirs(images, training=False))
    first = R.Resizing(5, 6, data_format="channels_first", **kwargs)
    close(first(images.transpose(0, 3, 1, 2)), np_(ours(images)).transpose(0, 3, 1, 2))
    got = ours({"images": images, "segmentation_masks": masks})["segmentation_masks"]
    assert set(np.unique(np_(got))) <= set(np.unique(masks))  # nearest: ids stay ids
    assert ours.compute_output_shape((None, 8, 10, 2)) == (None, 5, 6, 2)


def test_resizing_moves_boxes_with_the_pixels(images):
    """A plain resize scales boxes as Keras's does. With crop/pad to the aspect ratio, boxes
    follow the pixels nhanh (and Keras) actually keep: Keras's boxes assume an exact aspect
    ratio, which the integer crop/pad only approximates, so they are off by up to a pixel."""
    data = {"images": images, "bounding_boxes": BOXES}
    plain = R.Resizing(5, 6, bounding_box_format="xyxy")(data)["bounding_boxes"]
    theirs = keras.layers.Resizing(5, 6, bounding_box_format="xyxy")(
        {"images": images, "bounding_boxes": dict(BOXES)})["bounding_boxes"]
    close(plain["boxes"], theirs["boxes"])
    # 8x10 -> 5x6 with crop: the kept window is 8x9 at (0, 0), scaled by (5/8, 6/9)
    crop = R.Resizing(5, 6, crop_to_aspect_ratio=True, bounding_box_format="xyxy")(data)
    want = BOXES["boxes"] * np.array([6 / 9, 5 / 8, 6 / 9, 5 / 8], "float32")
    np.testing.assert_allclose(np_(crop["bounding_boxes"]["boxes"]),
                               np.minimum(want, [6, 5, 6, 5]), atol=1e-5)
    # 16x10 -> 5x6 with pad: padded to 16x19 (4 columns left), scaled by (5/16, 6/18)
    tall = np.zeros((1, 16, 10, 1), "float32")
    pad = R.Resizing(5, 6, pad_to_aspect_ratio=True, bounding_box_format="xyxy")(
        {"images": tall, "bounding_boxes": {"boxes": BOXES["boxes"][:1],
                                            "labels": BOXES["labels"][:1]}})
    want = (BOXES["boxes"][:1] + [4, 0, 4, 0]) * np.array([6 / 18, 5 / 16, 6 / 18, 5 / 16])
    np.testing.assert_allclose(np_(pad["bounding_boxes"]["boxes"]), want, atol=1e-5)


@pytest.mark.parametrize("size", [(4, 6), (5, 3), (10, 12)])
def test_center_crop_matches_keras(images, masks, size):
    ours, theirs = R.CenterCrop(*size), keras.layers.CenterCrop(*size)
    close(ours(images), theirs(images))
    close(ours(images[0]), theirs(images[0]))
    first = R.CenterCrop(*size, data_format="channels_first")
    close(first(images.transpose(0, 3, 1, 2)), np_(ours(images)).transpose(0, 3, 1, 2))
    if size[0] <= 8 and size[1] <= 10:
        got = ours({"images": images, "segmentation_masks": masks})["segmentation_masks"]
        close(got, theirs(masks.astype("float32")))


def test_random_crop_is_a_window_and_identity_in_inference(images, masks):
    layer = R.RandomCrop(5, 4, seed=3)
    out = layer({"images": images, "segmentation_masks": masks})
    got, got_masks = np_(out["images"]), np_(out["segmentation_masks"])
    assert got.shape == (3, 5, 4, 2) and got_masks.shape == (3, 5, 4, 1)
    windows = [(t, l) for t in range(4) for l in range(7)
               if np.allclose(images[:, t:t + 5, l:l + 4], got)]
    assert len(windows) == 1  # one window for the batch, and masks cut at the same place
    t, l = windows[0]
    np.testing.assert_array_equal(got_masks, masks[:, t:t + 5, l:l + 4])
    np.testing.assert_array_equal(np_(layer(images, training=False)), images)  # as Keras
    close(layer(images, training=False), keras.layers.RandomCrop(5, 4)(images, training=False))
    draws = {tuple(np_(layer(images))[0, 0, :2, 0]) for _ in range(6)}
    assert len(draws) > 1  # the generator advances
    small = R.RandomCrop(10, 12)(images)  # smaller than the window: resized, as Keras
    close(small, keras.layers.RandomCrop(10, 12)(images))


# --- RandomFlip -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_random_flip_matches_keras_for_the_same_flips(images, mode):
    ours, theirs = W.RandomFlip(mode, seed=1), keras.layers.RandomFlip(mode)
    flips = np.array([True, False, True])
    t = {"flips": ops.convert_to_tensor(flips), "size": (8, 10)}
    got = ours.transform_images(ops.convert_to_tensor(images), t)
    want = theirs.transform_images(images, {"flips": flips.reshape(3, 1, 1, 1),
                                            "input_shape": images.shape})
    close(got, want)
    # and on the flipped images a flip is undone, the rest unchanged
    twice = np_(ours.transform_images(got, t))
    np.testing.assert_allclose(twice, images)
    ours.bounding_box_format = "xyxy"
    boxes = ours.transform_bounding_boxes(dict(BOXES), t)
    theirs_boxed = keras.layers.RandomFlip(mode, bounding_box_format="xyxy")
    want = theirs_boxed.transform_bounding_boxes(
        {k: v.copy() for k, v in BOXES.items()},
        {"flips": flips.reshape(3, 1, 1, 1), "input_shape": images.shape})
    close(boxes["boxes"], want["boxes"])


def test_random_flip_draws_half_the_time_and_not_in_inference(images):
    layer = W.RandomFlip("horizontal", seed=2)
    batch = np.repeat(images[:1], 64, axis=0)
    out = np_(layer(batch))
    flipped = np.array([np.allclose(o, images[0, :, ::-1]) for o in out])
    same = np.array([np.allclose(o, images[0]) for o in out])
    assert (flipped | same).all() and 16 < flipped.sum() < 48
    np.testing.assert_array_equal(np_(layer(images, training=False)), images)
    again = np_(W.RandomFlip("horizontal", seed=2)(batch))
    np.testing.assert_array_equal(again, out)  # repeatable with a seed


# --- the random warps, forced to one transformation ----------------------------------------
def _forced_pairs():
    return [
        (lambda **k: W.RandomRotation((0.1, 0.1), **k),
         lambda **k: keras.layers.RandomRotation((0.1, 0.1), **k)),
        (lambda **k: W.RandomZoom((0.2, 0.2), (-0.15, -0.15), **k),
         lambda **k: keras.layers.RandomZoom((0.2, 0.2), (-0.15, -0.15), **k)),
        (lambda **k: W.RandomZoom((-0.3, -0.3), **k),
         lambda **k: keras.layers.RandomZoom((-0.3, -0.3), **k)),
        (lambda **k: W.RandomTranslation((0.25, 0.25), (-0.15, -0.15), **k),
         lambda **k: keras.layers.RandomTranslation((0.25, 0.25), (-0.15, -0.15), **k)),
    ]


@pytest.mark.parametrize("pair,fill_mode", [(0, "reflect"), (1, "constant"), (2, "reflect"),
                                            (3, "constant")])
def test_forced_warps_match_keras(images, masks, pair, fill_mode):
    make_ours, make_theirs = _forced_pairs()[pair]
    ours = make_ours(fill_mode=fill_mode, fill_value=7.0, seed=1)

    def keras_side():
        theirs = make_theirs(fill_mode=fill_mode, fill_value=7.0, seed=1)
        return np_keras(theirs(images)), np_keras(theirs(
            {"images": images, "segmentation_masks": masks})["segmentation_masks"])

    want_images, want_masks = keras_once(("forced_warps", pair, fill_mode), keras_side)
    close(ours(images), want_images)
    np.testing.assert_array_equal(np_(ours(images, training=False)), images)
    first = make_ours(fill_mode=fill_mode, fill_value=7.0, seed=1,
                      data_format="channels_first")
    close(first(images.transpose(0, 3, 1, 2)), np_(ours(images)).transpose(0, 3, 1, 2))
    got = ours({"images": images, "segmentation_masks": masks})["segmentation_masks"]
    close(got, want_masks)


def test_random_shear_matches_keras_up_to_its_random_sign(images):
    ours = W.RandomShear((0.3, 0.3), (0.1, 0.1), fill_mode="constant", seed=4)
    theirs = keras.layers.RandomShear((0.3, 0.3), (0.1, 0.1), fill_mode="constant")
    got = np_(ours(images))
    signs = []
    for s in (1.0, -1.0):
        t = {"shear_factor": np.array([[0.3 * s, 0.1 * s]] * 3, "float32"),
             "input_shape": images.shape}
        signs.append(np.asarray(keras.ops.convert_to_numpy(theirs.transform_images(images,
                                                                                  t))))
    for i in range(3):
        assert min(np.abs(got[i] - want[i]).max() for want in signs) < 1e-3


def test_random_perspective_matches_keras_for_the_same_corners(images):
    ours, theirs = W.RandomPerspective(fill_value=2.0), keras.layers.RandomPerspective(
        fill_value=2.0)
    start = np.array([[[0, 0], [9, 0], [0, 7], [9, 7]]] * 3, "float32")
    end = start + np.random.default_rng(5).uniform(-1.5, 1.5, start.shape).astype("float32")
    params = W.image_warps.compute_homography_matrix(ops.convert_to_tensor(start),
                                                     ops.convert_to_tensor(end))
    got = ours.transform_images(ops.convert_to_tensor(images), {"params": params,
                                                                "size": (8, 10)})
    want = theirs.transform_images(images, {"start_points": start, "end_points": end,
                                            "apply_perspective": np.array([True] * 3),
                                            "input_shape": images.shape})
    close(got, want)
    np.testing.assert_allclose(np_(W.RandomPerspective(scale=0.0, seed=1)(images)), images,
                               atol=1e-3)


def test_random_warps_draw_within_their_factors(images):
    """Rotation angles within the factor: a 1-pixel-wide dot rotated about the centre stays
    on its circle; translation moves by at most the factor."""
    dot = np.zeros((16, 1, 9, 9, 1), "float32")[:, 0]
    dot[:, 4, 8] = 1.0  # on the circle of radius 4 about (4, 4)
    out = np_(W.RandomRotation(0.05, fill_mode="constant", seed=6,
                               interpolation="nearest")(dot))
    for o in out:
        (r, c), = np.argwhere(o[..., 0] > 0.5)[:1]
        angle = np.degrees(np.arctan2(4 - r, c - 4))
        assert abs(angle) <= 18.0 + 8.0  # +-0.05 turn, plus a pixel's rounding
    moved = np_(W.RandomTranslation(0.2, 0.2, fill_mode="constant", seed=7,
                                    interpolation="nearest")(dot))
    for o in moved:
        rows, cols = np.nonzero(o[..., 0] > 0.5)
        if rows.size:
            assert abs(rows[0] - 4) <= 2 and abs(cols[0] - 8) <= 2


def test_boxes_follow_the_warp():
    """A translation moves a box by the shift; a half turn maps it about the centre; the
    pixels of the warped image light up inside the moved box."""
    img = np.zeros((1, 8, 10, 1), "float32")
    img[0, 2:5, 3:6] = 1.0  # pixels of the box [3, 2, 6, 5] (xyxy, pixel edges)
    data = {"images": img, "bounding_boxes": {"boxes": np.array([[[3, 2, 6, 5]]], "float32"),
                                              "labels": np.array([[1]], "int32")}}
    shift = W.RandomTranslation((0.25, 0.25), (0.2, 0.2), fill_mode="constant",
                                interpolation="nearest", bounding_box_format="xyxy", seed=1)
    out = shift(data)
    np.testing.assert_allclose(np_(out["bounding_boxes"]["boxes"]), [[[5, 4, 8, 7]]], atol=1e-4)
    rows, cols = np.nonzero(np_(out["images"])[0, ..., 0] > 0.5)
    assert rows.min() == 4 and rows.max() == 6 and cols.min() == 5 and cols.max() == 7
    turn = W.RandomRotation((0.5, 0.5), bounding_box_format="xyxy", seed=1)
    boxes = np_(turn(data)["bounding_boxes"]["boxes"])
    # pixel centres: x -> 9 - x, y -> 7 - y; edges 3..6 -> 3..6, 2..5 -> 2..5
    np.testing.assert_allclose(boxes, [[[3, 2, 6, 5]]], atol=1e-3)
    xywh = W.RandomTranslation((0.25, 0.25), (0.2, 0.2), bounding_box_format="xywh",
                               seed=1)({**data, "bounding_boxes": {
                                   "boxes": np.array([[[3, 2, 3, 3]]], "float32"),
                                   "labels": np.array([[1]], "int32")}})
    np.testing.assert_allclose(np_(xywh["bounding_boxes"]["boxes"]), [[[5, 4, 3, 3]]],
                               atol=1e-4)


def test_random_elastic_transform_invariants(images, masks):
    layer = W.RandomElasticTransform(factor=(1.0, 1.0), scale=1.0, seed=8)
    out = layer({"images": images, "segmentation_masks": masks})
    got = np_(out["images"])
    assert got.shape == images.shape and not np.allclose(got, images)
    assert got.min() >= 0 and got.max() <= 255
    assert set(np.unique(np_(out["segmentation_masks"]))) <= set(np.unique(masks))
    np.testing.assert_array_equal(np_(layer(images, training=False)), images)
    never = W.RandomElasticTransform(factor=0.0, seed=8)
    np.testing.assert_array_equal(np_(never(images)), images)
    first = W.RandomElasticTransform(factor=(1.0, 1.0), seed=8, data_format="channels_first")
    again = W.RandomElasticTransform(factor=(1.0, 1.0), seed=8)
    np.testing.assert_allclose(np_(first(images.transpose(0, 3, 1, 2))).transpose(0, 2, 3, 1),
                               np_(again(images)), atol=1e-3)


# --- config, errors, training ---------------------------------------------------------------
LAYERS = [lambda: R.Resizing(4, 5, interpolation="nearest", pad_to_aspect_ratio=True),
          lambda: R.CenterCrop(4, 5), lambda: R.RandomCrop(4, 5, seed=1),
          lambda: W.RandomFlip("vertical", seed=1),
          lambda: W.RandomRotation(0.2, fill_mode="constant", seed=1),
          lambda: W.RandomZoom(0.2, (-0.1, 0.3), seed=1),
          lambda: W.RandomTranslation(0.1, 0.2, interpolation="nearest", seed=1),
          lambda: W.RandomShear(0.2, 0.1, seed=1), lambda: W.RandomPerspective(0.5, 0.3, seed=1),
          lambda: W.RandomElasticTransform(0.5, 0.5, value_range=(0, 1), seed=1)]


@pytest.mark.parametrize("make", range(len(LAYERS)))
def test_config_round_trip(make):
    layer = LAYERS[make]()
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="mode"):
        W.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="fill_mode"):
        W.RandomRotation(0.1, fill_mode="edge")
    with pytest.raises(ValueError, match="height_factor"):
        W.RandomZoom(1.5)
    with pytest.raises(ValueError, match="interpolation"):
        R.Resizing(4, 4, interpolation="cubic")
    with pytest.raises(ValueError, match="height"):
        R.CenterCrop(0, 4)


def _fit(seed, epochs=2):
    x = np.random.default_rng(9).random((16, 8, 8, 1)).astype("float32")
    y = np.random.default_rng(10).random((16, 1)).astype("float32")
    model = nhanh.Sequential([
        nhanh.Input((8, 8, 1)), W.RandomFlip(seed=seed), W.RandomRotation(0.1, seed=seed),
        R.RandomCrop(6, 6, seed=seed), R.Resizing(8, 8), nhanh.layers.Flatten(),
        nhanh.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, shuffle=False)
    return model


def test_layers_train_inside_fit_and_draw_anew_each_step():
    model = _fit(seed=11)
    flip = model.layers[0]
    state = np_(flip.generator.state.value)
    assert state[1] == 4  # one draw per step: 2 epochs x 2 batches, in the compiled steps
    same = _fit(seed=11)
    np.testing.assert_allclose(same.get_weights()[0], model.get_weights()[0], rtol=1e-5)
    other = _fit(seed=12)
    assert not np.allclose(other.get_weights()[0], model.get_weights()[0])
    # two steps' draws differ: the flip's decisions at counter 0 and 1 for one batch
    x = np.random.default_rng(9).random((16, 8, 8, 1)).astype("float32")
    layer = W.RandomFlip(seed=11)
    a, b = np_(layer(x)), np_(layer(x))
    assert not np.allclose(a, b)
    assert model.predict(x[:4], verbose=0).shape == (4, 1)
