"""CutMix, MixUp, RandomErasing and MaxNumBoundingBoxes.

Keras's layers draw differently from nhanh, so the comparison with Keras 3 (on JAX, in this
process) is on the deterministic part: the same hand-built transformation, in Keras's
structure, given to both layers' transform_* methods. The random part is checked by
invariants: with images that are constant per image (value = class + 1) and one-hot labels, a
mixed image's mean equals its label's expectation of class + 1, for every draw.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import nhanh
from nhanh import layers, ops
from nhanh.layers.image_mixing import CutMix, MixUp, RandomErasing
from nhanh.layers.max_num_bounding_boxes import MaxNumBoundingBoxes

os.environ.setdefault("KERAS_BACKEND", "jax")


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def np_(x):
    return ops.convert_to_numpy(x)


def constant_batch(n=6, size=8, channels=3, channels_first=False):
    """Image i is filled with i + 1; its one-hot label is class i."""
    values = np.arange(1, n + 1, dtype="float32")
    shape = (n, channels, size, size) if channels_first else (n, size, size, channels)
    return np.broadcast_to(values[:, None, None, None], shape).copy(), np.eye(n, dtype="float32")


def rectangle_mask(n, size, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, size, size, 1), bool)
    for i in range(n):
        y, x = rng.integers(0, size - 2, 2)
        mask[i, y:y + rng.integers(1, 4), x:x + rng.integers(1, 5)] = True
    return mask


# --- the deterministic part against Keras -----------------------------------------------------
def test_cutmix_transform_matches_keras(keras):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    labels = np.eye(4, dtype="float32")[[0, 1, 2, 1]]
    masks = rng.integers(0, 3, (4, 8, 8, 1)).astype("int32")
    t = {"permutation_order": np.array([2, 0, 3, 1], "int32"),
         "batch_masks": np.repeat(rectangle_mask(4, 8), 3, -1),
         "mix_weight": np.array([0.8, 0.5, 0.9, 0.7], "float32")}
    ours, theirs = CutMix(), keras.layers.CutMix()
    np.testing.assert_allclose(np_(ours.transform_images(images, t)),
                               np.asarray(theirs.transform_images(images, t)))
    np.testing.assert_allclose(np_(ours.transform_labels(labels, t)),
                               np.asarray(theirs.transform_labels(labels, t)), atol=1e-6)
    t1 = {**t, "batch_masks": t["batch_masks"][..., :1]}  # Keras needs a mask per channel
    np.testing.assert_array_equal(np_(ours.transform_segmentation_masks(masks, t1)),
                                  np.asarray(theirs.transform_segmentation_masks(masks, t1)))


def test_mixup_transform_matches_keras(keras):
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    labels = np.eye(3, dtype="float32")[[0, 1, 2, 1]]
    t = {"mix_weight": np.array([0.8, 0.1, 0.5, 0.3], "float32"),
         "permutation_order": np.array([3, 2, 1, 0], "int32")}
    ours, theirs = MixUp(), keras.layers.MixUp()
    np.testing.assert_allclose(np_(ours.transform_images(images, t)),
                               np.asarray(theirs.transform_images(images, t)), rtol=1e-6)
    np.testing.assert_allclose(np_(ours.transform_labels(labels, t)),
                               np.asarray(theirs.transform_labels(labels, t)), atol=1e-6)
    boxes = {"boxes": rng.uniform(0, 8, (4, 2, 4)).astype("float32"),
             "labels": np.array([[0, 1], [2, -1], [1, 1], [0, -1]], "int32")}
    mixed = ours.transform_bounding_boxes(boxes, t)
    np.testing.assert_allclose(np_(mixed["boxes"]),
                               np.asarray(theirs.transform_bounding_boxes(boxes, t)["boxes"]))
    # labels go with their boxes (Keras stacks them along the batch axis instead)
    np.testing.assert_array_equal(np_(mixed["labels"]),
                                  np.concatenate([boxes["labels"], boxes["labels"][::-1]], 1))


@pytest.mark.parametrize("fill_value", [None, 7.0, [10.0, 20.0, 300.0]])
def test_random_erasing_transform_matches_keras(keras, fill_value):
    rng = np.random.default_rng(2)
    images = rng.uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    fill = (rng.normal(size=images.shape).astype("float32") * 255 if fill_value is None
            else np.clip(np.broadcast_to(np.float32(fill_value), images.shape), 0, 255))
    t = {"apply_erasing": np.array([True, False, True, True]),
         "batch_masks": np.repeat(rectangle_mask(4, 8, seed=3), 3, -1),
         "fill_value": np.clip(fill, 0, 255)}
    ours = RandomErasing(fill_value=fill_value)
    theirs = keras.layers.RandomErasing(fill_value=fill_value)
    np.testing.assert_allclose(np_(ours.transform_images(images, t)),
                               np.asarray(theirs.transform_images(images, t)))
    # the fill our layer draws itself is Keras's: the constant, or noise, clipped to the range
    own = np_(ours._fill(ops.convert_to_tensor(images)))
    if fill_value is None:
        assert own.shape == images.shape and own.min() >= 0 and own.max() <= 255
        assert 0.3 < (own == 0).mean() < 0.7  # negative noise clipped to the low end
    else:
        np.testing.assert_allclose(np.broadcast_to(own, images.shape), t["fill_value"])


def test_max_num_bounding_boxes_matches_keras(keras):
    images = np.zeros((2, 8, 8, 3), "float32")
    boxes = {"boxes": np.arange(24, dtype="float32").reshape(2, 3, 4),
             "labels": np.array([[1, 2, 3], [4, 5, -1]], "int32")}
    for n in (2, 5):
        ours = MaxNumBoundingBoxes(n, bounding_box_format="xyxy")(
            {"images": images, "bounding_boxes": boxes})["bounding_boxes"]
        theirs = keras.layers.MaxNumBoundingBoxes(n, bounding_box_format="xyxy")(
            {"images": images, "bounding_boxes": dict(boxes)})["bounding_boxes"]
        for key in ("boxes", "labels"):
            np.testing.assert_array_equal(np_(ours[key]), np.asarray(theirs[key]))


def test_ragged_boxes_are_densified_then_padded():
    images = np.zeros((2, 8, 8, 3), "float32")
    ragged = {"boxes": [[[1, 1, 2, 2]], [[0, 0, 3, 3], [1, 1, 4, 4]]], "labels": [[1], [2, 3]]}
    out = MaxNumBoundingBoxes(3, bounding_box_format="xyxy")(
        {"images": images, "bounding_boxes": ragged})["bounding_boxes"]
    np.testing.assert_array_equal(np_(out["labels"]), [[1, -1, -1], [2, 3, -1]])
    np.testing.assert_array_equal(np_(out["boxes"])[0], [[1, 1, 2, 2], [-1] * 4, [-1] * 4])
    single = MaxNumBoundingBoxes(2, bounding_box_format="xyxy")(
        {"images": images[0], "bounding_boxes": {"boxes": [[0, 0, 3, 3]], "labels": [5]}})
    np.testing.assert_array_equal(np_(single["bounding_boxes"]["labels"]), [5, -1])
    with pytest.raises(ValueError, match="bounding_box_format"):
        MaxNumBoundingBoxes(2)({"images": images, "bounding_boxes": ragged})
    with pytest.raises(ValueError, match="max_number"):
        MaxNumBoundingBoxes(0)


# --- the random part: invariants ---------------------------------------------------------------
@pytest.mark.parametrize("layer_cls", [CutMix, MixUp])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_mixing_keeps_labels_consistent_with_pixels(layer_cls, data_format):
    first = data_format == "channels_first"
    images, labels = constant_batch(channels_first=first)
    layer = layer_cls(seed=3, data_format=data_format)
    mixed_any = False
    for _ in range(3):  # fresh draws each call
        out = layer({"images": images, "labels": labels})
        pixels, mixed = np_(out["images"]), np_(out["labels"])
        np.testing.assert_allclose(mixed.sum(1), 1.0, atol=1e-5)
        # the mean pixel is the label's expectation of (class + 1)
        np.testing.assert_allclose(pixels.mean(axis=(1, 2, 3)), mixed @ np.arange(1, 7),
                                   rtol=1e-5)
        assert ((mixed > 0).sum(1) <= 2).all()  # two images at most per result
        mixed_any |= bool((mixed.max(1) < 0.999).any())
        if layer_cls is CutMix:  # pixels are copied, never blended
            assert set(np.unique(pixels)) <= set(range(1, 7))
    assert mixed_any


def test_cutmix_pastes_one_rectangle_of_one_other_image():
    images, labels = constant_batch()
    out = CutMix(seed=0)({"images": images, "labels": labels,
                          "segmentation_masks": images[..., :1].astype("int32")})
    pixels, masks = np_(out["images"])[..., 0], np_(out["segmentation_masks"])[..., 0]
    np.testing.assert_array_equal(masks, pixels.astype("int32"))  # same rectangles
    for i in range(len(images)):
        ys, xs = np.nonzero(pixels[i] != i + 1)
        if len(ys):
            assert len(ys) == (np.ptp(ys) + 1) * (np.ptp(xs) + 1)  # a full rectangle
            assert len(np.unique(pixels[i][ys, xs])) == 1  # from one other image


def test_random_erasing_erases_a_rectangle_with_probability_factor():
    images = np.full((6, 8, 8, 3), 100.0, "float32")
    out = np_(RandomErasing(factor=(1.0, 1.0), fill_value=3.0, seed=1)(images))
    for image in out:
        ys, xs = np.nonzero(image[..., 0] == 3.0)
        assert len(ys) == (np.ptp(ys) + 1) * (np.ptp(xs) + 1)
        assert np.ptp(xs) + 1 <= 8 * np.sqrt(0.33) + 1 and np.ptp(ys) + 1 <= 8 * np.sqrt(0.33) + 1
        assert set(np.unique(image)) == {3.0, 100.0}
    np.testing.assert_array_equal(np_(RandomErasing(factor=0.0, seed=1)(images)), images)
    layer = RandomErasing(fill_value=3.0, seed=2)  # factor 1: probability ~ U(0, 1)
    erased = [np_(layer(images)).min(axis=(1, 2, 3)) == 3.0 for _ in range(30)]
    assert 0.35 < np.mean(erased) < 0.65
    first = np_(RandomErasing((1.0, 1.0), fill_value=[1, 2, 3], seed=0,
                              data_format="channels_first")(
        np.full((6, 3, 8, 8), 100.0, "float32")))
    erased = first != 100.0
    assert erased.any()
    for c in range(3):
        assert set(np.unique(first[:, c][erased[:, c]])) <= {c + 1.0}


@pytest.mark.parametrize("layer", [CutMix(seed=1), MixUp(seed=1), RandomErasing(seed=1)])
def test_identity_when_not_training_and_repeatable_with_seed(layer):
    images, labels = constant_batch()
    out = layer({"images": images, "labels": labels}, training=False)
    np.testing.assert_array_equal(np_(out["images"]), images)
    np.testing.assert_array_equal(np_(out["labels"]), labels)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    a = np_(type(layer)(seed=5)(images))
    np.testing.assert_array_equal(a, np_(type(layer)(seed=5)(images)))


def test_configs_round_trip_and_bad_arguments():
    for layer in [CutMix(factor=(0.2, 0.6), seed=2, data_format="channels_first"),
                  MixUp(alpha=0.4), RandomErasing(factor=0.5, scale=(0.1, 0.2), fill_value=3,
                                                  value_range=(0, 1)),
                  MaxNumBoundingBoxes(4, fill_value=-2, bounding_box_format="xyxy")]:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert CutMix(factor=0.5).factor == (0.0, 0.5)
    with pytest.raises(ValueError, match="factor"):
        CutMix(factor=2.0)
    with pytest.raises(ValueError, match="alpha"):
        MixUp(alpha=0)
    with pytest.raises(ValueError, match="scale"):
        RandomErasing(scale=(2, 3))
    with pytest.raises(ValueError, match="fill_value"):
        RandomErasing(fill_value=[1, 2])
    with pytest.raises(ValueError, match="one-hot"):
        MixUp()({"images": constant_batch()[0], "labels": np.arange(6)})


def test_trains_inside_a_model_and_draws_anew_each_step():
    x = np.random.default_rng(0).uniform(0, 1, (32, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")
    erasing = RandomErasing(value_range=(0, 1), seed=4)
    model = nhanh.Sequential([layers.Input((8, 8, 1)), erasing, MixUp(seed=2),
                              CutMix(seed=3), layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    state = [np_(erasing.generator.state.value)]
    for _ in range(2):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        state.append(np_(erasing.generator.state.value))
    steps = [b[1] - a[1] for a, b in zip(state, state[1:])]
    assert steps[0] == steps[1] > 0  # the same number of draws per epoch, never repeated
    np.testing.assert_array_equal(np_(model.predict(x[:4], verbose=0)),
                                  np_(model.predict(x[:4], verbose=0)))
    assert np.isfinite(model.evaluate(x, y, verbose=0))
