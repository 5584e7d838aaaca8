"""Embedding and Masking, against NumPy indexing and Keras's mask rules."""

import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.layers.embedding import Embedding, Masking
from nhanh.variables import StatelessScope
from conftest import to_numpy


def test_embedding_looks_up_rows_for_any_index_shape(np_rng):
    layer = Embedding(10, 4)
    for ids in (np.array([3, 0, 9]), np_rng.integers(0, 10, size=(2, 5)),
                np_rng.integers(0, 10, size=(2, 3, 2))):
        out = to_numpy(layer(ids.astype("int32")))
        (table,) = layer.get_weights()
        assert out.shape == (*ids.shape, 4) == layer.compute_output_shape(ids.shape)
        np.testing.assert_array_equal(out, table[ids])
    np.testing.assert_array_equal(to_numpy(layer(np.array([[1.0, 2.0]]))), table[[[1, 2]]])


def test_embedding_weights_and_default_uniform_initializer():
    layer = Embedding(50, 8)
    layer.build()
    assert [(w.name, w.shape) for w in layer.weights] == [(f"{layer.name}/embeddings", (50, 8))]
    table = layer.get_weights()[0]
    assert table.min() >= -0.05 and table.max() <= 0.05 and table.std() > 0.01
    pretrained = np.arange(12, dtype="float32").reshape(4, 3)
    loaded = Embedding(4, 3, weights=[pretrained])
    np.testing.assert_array_equal(loaded.get_weights()[0], pretrained)
    np.testing.assert_array_equal(to_numpy(loaded(np.array([[2, 0]]))), pretrained[[[2, 0]]])


def test_embedding_gradient_adds_up_the_rows_used(np_rng):
    layer = Embedding(6, 3)
    layer.build()
    ids = np.array([[1, 4, 1], [5, 1, 0]], "int32")
    cotangent = np_rng.normal(size=(2, 3, 3)).astype("float32")

    def loss(params):
        with StatelessScope(zip(layer.weights, params)):
            return ops.sum(layer(ids) * ops.convert_to_tensor(cotangent))

    _, (grad,) = nhanh.backend.get().value_and_grad(loss)([layer.embeddings.value])
    expected = np.zeros((6, 3), "float32")
    np.add.at(expected, ids, cotangent)
    np.testing.assert_allclose(to_numpy(grad), expected, rtol=1e-6, atol=1e-6)


def test_embedding_mask_zero():
    ids = np.array([[3, 1, 0, 0], [0, 2, 0, 5]], "int32")
    masked = Embedding(6, 2, mask_zero=True)
    assert masked.supports_masking
    np.testing.assert_array_equal(to_numpy(masked.compute_mask(ops.convert_to_tensor(ids))),
                                  ids != 0)
    plain = Embedding(6, 2)
    assert plain.compute_mask(ops.convert_to_tensor(ids)) is None and not plain.supports_masking


def test_masking_zeroes_and_masks_steps_whose_features_all_equal_the_value(np_rng):
    x = np_rng.normal(size=(2, 4, 3)).astype("float32")
    x[0, 1] = -1.0
    x[1, 3] = -1.0
    x[1, 0, 0] = -1.0  # one feature equal is not enough
    layer = Masking(mask_value=-1.0)
    keep = np.any(x != -1.0, axis=-1)
    np.testing.assert_array_equal(to_numpy(layer.compute_mask(ops.convert_to_tensor(x))), keep)
    np.testing.assert_array_equal(to_numpy(layer(x)), np.where(keep[..., None], x, 0.0))
    assert layer.compute_output_shape((None, 4, 3)) == (None, 4, 3)
    assert keep.tolist() == [[True, False, True, True], [True, True, True, False]]


def test_masking_in_a_model_passes_its_mask_on(np_rng):
    seen = {}

    class Recorder(nhanh.layers.Layer):
        supports_masking = True

        def call(self, inputs, mask=None):
            seen["mask"] = mask
            return inputs

    x = np_rng.normal(size=(2, 3, 2)).astype("float32")
    x[1, 2] = 0.0
    nhanh.Sequential([Masking(), Recorder()])(x)
    np.testing.assert_array_equal(to_numpy(seen["mask"]), [[True, True, True],
                                                           [True, True, False]])
    nhanh.Sequential([Embedding(5, 2, mask_zero=True), Recorder()])(np.array([[1, 0, 4]]))
    np.testing.assert_array_equal(to_numpy(seen["mask"]), [[True, False, True]])


@pytest.mark.parametrize("make_layer", [
    lambda: Embedding(7, 3, mask_zero=True, embeddings_regularizer="l2",
                      embeddings_initializer="glorot_uniform", name="words"),
    lambda: Masking(mask_value=-2.5),
])
def test_config_round_trip(make_layer):
    layer = make_layer()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config and clone.name == layer.name


def test_embedding_bad_arguments():
    with pytest.raises(ValueError, match="input_dim.*positive integer.*0"):
        Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim"):
        Embedding(3, 2.5)
    assert Embedding(5, 2, input_length=10).input_dim == 5  # Keras 2's argument is accepted
    with pytest.raises(ValueError, match=r"shape \(5, 3\)"):
        Embedding(4, 3, weights=[np.zeros((5, 3))])
