"""The base of the image layers: factor ranges as Keras parses them, one image or a batch,
dict inputs (passed through, never modified), the training default, and clear errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

import nhanh
from nhanh import ops, random
from nhanh.layers.image_augmentation import ImageAugmentation

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
from keras.src.layers.preprocessing.image_preprocessing.base_image_preprocessing_layer import (  # noqa: E402,E501
    BaseImagePreprocessingLayer,
)


class Shift(ImageAugmentation):
    """Adds a random per-image offset in `factor` while training; labels + 1 (to see them)."""

    def get_random_transformation(self, data, training=True, seed=None):
        n = ops.shape(data["images"])[0]
        low, high = self.factor
        return random.uniform((n, 1, 1, 1), low, high, seed=seed or self.generator)

    def transform_images(self, images, transformation, training=True):
        return images + transformation if training else images

    def transform_labels(self, labels, transformation, training=True):
        return labels + 1


@pytest.mark.engine_independent
@pytest.mark.parametrize("factor", [0.3, -0.3, 0, 1, (0.2, -0.1), [-1, 1], (0.5, 0.5)])
def test_factor_range_matches_keras(factor):
    expected = BaseImagePreprocessingLayer(factor=factor).factor
    np.testing.assert_allclose(Shift(factor=factor).factor, expected)


@pytest.mark.engine_independent
@pytest.mark.parametrize("factor", [1.5, (2, 3), (0.1,), "big", None])
def test_bad_factors_are_refused_like_keras(factor):
    if factor is not None:
        with pytest.raises(ValueError):
            BaseImagePreprocessingLayer(factor=factor)
        with pytest.raises(ValueError, match="factor"):
            Shift(factor=factor)
    else:
        assert Shift(factor=None).factor == (0.0, 0.0)


def test_one_image_a_batch_and_a_dict():
    images = np.zeros((2, 4, 4, 1), "uint8")
    layer = Shift(factor=(1, 1), seed=0)
    out = np.asarray(layer(images))
    assert out.dtype == np.float32 and np.allclose(out, 1.0)  # uint8 -> compute dtype
    assert np.asarray(layer(images[0])).shape == (4, 4, 1)
    assert np.allclose(np.asarray(layer(images, training=False)), 0.0)
    data = {"images": images[0], "labels": np.array(2), "extra": np.array([5.0])}
    out = layer(data)
    assert set(out) == {"images", "labels", "extra"} and float(np.asarray(out["extra"])[0]) == 5
    assert int(np.asarray(out["labels"])) == 3 and np.asarray(out["images"]).shape == (4, 4, 1)
    assert data["images"].dtype == np.uint8 and int(data["labels"]) == 2  # caller's dict intact
    assert set(data) == {"images", "labels", "extra"}


def test_draws_repeat_with_a_seed_and_differ_between_calls():
    images = np.zeros((3, 2, 2, 1), "float32")
    a, b = Shift(factor=0.5, seed=7), Shift(factor=0.5, seed=7)
    first, second = np.asarray(a(images)), np.asarray(a(images))
    np.testing.assert_array_equal(first, np.asarray(b(images)))
    assert not np.allclose(first, second)
    assert np.all(np.abs(first) <= 0.5)


def test_augmentation_acts_in_fit_only_and_draws_anew_each_step():
    x = np.zeros((4, 2, 2, 1), "float32")
    model = nhanh.Sequential([nhanh.Input((2, 2, 1)), Shift(factor=0.5, seed=1),
                              nhanh.layers.Flatten(), nhanh.layers.Dense(1)])
    model.compile("sgd", "mse")
    np.testing.assert_array_equal(model.predict(x, verbose=0), 0.0)
    state = np.asarray(model.layers[0].generator.state.value).copy()
    model.fit(x, np.zeros((4, 1), "float32"), epochs=2, batch_size=2, verbose=0)
    assert np.asarray(model.layers[0].generator.state.value)[1] == state[1] + 4  # 4 steps


def test_bad_inputs_say_what_is_wrong():
    layer = Shift(factor=0.1)
    with pytest.raises(ValueError, match="rank 3"):
        layer(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="'images'"):
        layer({"labels": np.zeros(2)})
    with pytest.raises(ValueError, match="bounding_box_format"):
        layer({"images": np.zeros((1, 2, 2, 1)), "bounding_boxes": {"boxes": np.zeros((1, 1, 4)),
                                                                    "labels": np.zeros((1, 1))}})
    with pytest.raises(ValueError, match="data_format"):
        Shift(data_format="nhwc")
