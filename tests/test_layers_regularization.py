"""Regularization layers: active only while training, with the right statistics, seeded, and
carried through the training step's state."""

import numpy as np
import pytest

import nhanh
from nhanh import config
from nhanh.layers.regularization import (ActivityRegularization, Dropout, GaussianDropout,
                                         GaussianNoise, SpatialDropout1D, SpatialDropout2D,
                                         SpatialDropout3D)
from nhanh.variables import StatelessScope
from conftest import to_numpy


def _assert_inactive(layer, x):
    for training in (None, False):
        np.testing.assert_array_equal(to_numpy(layer(x, training=training)), x)


# --- spatial dropout -----------------------------------------------------------------------------
def _check_channel_dropout(y, x, channel_axis, rate):
    """Each (sample, channel) map is either all zeros or all x / (1 - rate)."""
    moved_y = np.moveaxis(y, channel_axis, 1).reshape(y.shape[0], y.shape[channel_axis], -1)
    moved_x = np.moveaxis(x, channel_axis, 1).reshape(moved_y.shape)
    dropped = np.all(moved_y == 0, axis=-1)
    np.testing.assert_allclose(moved_y[~dropped], moved_x[~dropped] / (1 - rate), rtol=1e-6)
    assert 0.3 < dropped.mean() < 0.5, dropped.mean()  # rate 0.4 over 1000+ maps
    return dropped


def test_spatial_dropout_1d_drops_whole_channels():
    layer = SpatialDropout1D(0.4, seed=3)
    x = np.random.default_rng(0).uniform(1, 2, size=(100, 6, 12)).astype("float32")
    _assert_inactive(layer, x)
    y = to_numpy(layer(x, training=True))
    _check_channel_dropout(y, x, 2, 0.4)
    # Inverted dropout keeps the mean.
    np.testing.assert_allclose(y.mean(), x.mean(), rtol=0.1)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_spatial_dropout_2d_drops_whole_feature_maps(data_format):
    layer = SpatialDropout2D(0.4, data_format=data_format, seed=1)
    x = np.ones((60, 3, 4, 20), "float32") if data_format == "channels_last" else \
        np.ones((60, 20, 3, 4), "float32")
    _assert_inactive(layer, x)
    y = to_numpy(layer(x, training=True))
    _check_channel_dropout(y, x, 3 if data_format == "channels_last" else 1, 0.4)


def test_spatial_dropout_2d_default_data_format_comes_from_config():
    previous = config.image_data_format()
    config.set_image_data_format("channels_first")
    try:
        assert SpatialDropout2D(0.5).data_format == "channels_first"
    finally:
        config.set_image_data_format(previous)
    assert SpatialDropout2D(0.5).data_format == previous


def test_spatial_dropout_3d_and_rank_checks():
    y = to_numpy(SpatialDropout3D(0.4, seed=2)(np.ones((40, 2, 2, 2, 30), "float32"),
                                              training=True))
    _check_channel_dropout(y, np.ones_like(y), 4, 0.4)
    with pytest.raises(ValueError, match=r"'sd'.*rank 4.*\(2, 3, 4\)"):
        SpatialDropout2D(0.5, name="sd")(np.ones((2, 3, 4), "float32"), training=True)
    with pytest.raises(ValueError, match=r"'sd1'.*rank 3.*\(2, 3\)"):
        SpatialDropout1D(0.5, name="sd1")(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="data_format"):
        SpatialDropout2D(0.5, data_format="channels_middle")
    with pytest.raises(ValueError, match="rate"):
        SpatialDropout1D(1.5)


# --- Gaussian noise and dropout ------------------------------------------------------------------
def test_gaussian_noise_statistics_and_inference_identity():
    layer = GaussianNoise(0.3, seed=5)
    x = np.full((200, 100), 2.0, "float32")
    _assert_inactive(layer, x)
    noise = to_numpy(layer(x, training=True)) - x
    assert abs(noise.mean()) < 0.01
    np.testing.assert_allclose(noise.std(), 0.3, rtol=0.03)
    with pytest.raises(ValueError, match="stddev"):
        GaussianNoise(-0.1)


def test_gaussian_dropout_keeps_the_mean_with_dropout_variance():
    rate = 0.2
    layer = GaussianDropout(rate, seed=5)
    x = np.full((200, 100), 3.0, "float32")
    _assert_inactive(layer, x)
    factor = to_numpy(layer(x, training=True)) / x
    np.testing.assert_allclose(factor.mean(), 1.0, atol=0.01)
    np.testing.assert_allclose(factor.std(), np.sqrt(rate / (1 - rate)), rtol=0.03)
    with pytest.raises(ValueError, match="rate"):
        GaussianDropout(1.0)


@pytest.mark.parametrize("make", [lambda s: GaussianNoise(0.5, seed=s),
                                  lambda s: GaussianDropout(0.5, seed=s),
                                  lambda s: SpatialDropout1D(0.5, seed=s)])
def test_seeded_layers_repeat_and_advance(make):
    x = np.ones((8, 4, 5), "float32")
    a, b, other = make(7), make(7), make(8)
    first_a, first_b = to_numpy(a(x, training=True)), to_numpy(b(x, training=True))
    np.testing.assert_array_equal(first_a, first_b)
    assert not np.array_equal(first_a, to_numpy(other(x, training=True)))
    assert not np.array_equal(first_a, to_numpy(a(x, training=True)))  # the seed advanced


@pytest.mark.parametrize("make", [lambda: GaussianNoise(0.5, seed=1),
                                  lambda: GaussianDropout(0.5, seed=1),
                                  lambda: SpatialDropout1D(0.5, seed=1)])
def test_random_layers_keep_their_seed_as_state_for_the_training_step(make):
    layer = make()
    (state,) = layer.state_variables
    before = state.numpy()
    x = np.ones((4, 3, 2), "float32")
    with StatelessScope() as scope:
        layer(x, training=True)
    assert state in scope.assigned and not np.array_equal(to_numpy(scope.assigned[state]),
                                                          before)
    np.testing.assert_array_equal(state.numpy(), before)


def test_noise_layers_train_in_a_model(backend):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    model = nhanh.Sequential([GaussianNoise(0.1, seed=1, input_shape=(4,)),
                              GaussianDropout(0.1, seed=2), nhanh.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, x.sum(1), epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    # In inference the noise layers are identities (the layers' seeds do not advance in
    # predict, so comparing two predictions would not catch noise left on).
    kernel, bias = model.get_weights()
    first = model.predict(x, verbose=0)
    np.testing.assert_allclose(first, x @ kernel + bias, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(first, model.predict(x, verbose=0))


# --- ActivityRegularization ----------------------------------------------------------------------
def test_activity_regularization_adds_the_batch_mean_penalty(np_rng):
    layer = ActivityRegularization(l1=0.1, l2=0.01)
    x = np_rng.normal(size=(4, 3)).astype("float32")
    np.testing.assert_array_equal(to_numpy(layer(x)), x)
    (penalty,) = layer.losses
    expected = (0.1 * np.abs(x).sum() + 0.01 * np.square(x).sum()) / 4
    np.testing.assert_allclose(float(to_numpy(penalty)), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="l1"):
        ActivityRegularization(l1=-1.0)


def test_activity_regularization_enters_the_training_loss(np_rng):
    x = np_rng.normal(size=(8, 2)).astype("float32")
    model = nhanh.Sequential([nhanh.layers.Dense(2, input_shape=(2,), kernel_initializer="ones"),
                              ActivityRegularization(l2=1.0)])
    model.compile(optimizer=nhanh.optimizers.SGD(learning_rate=0.0), loss="mse")
    loss = model.evaluate(x, np.zeros((8, 2), "float32"), verbose=0)
    h = x @ np.ones((2, 2))
    np.testing.assert_allclose(loss, np.mean(h ** 2) + np.sum(h ** 2) / 8, rtol=1e-4)


# --- config, shapes, masking ---------------------------------------------------------------------
LAYERS = [lambda: SpatialDropout1D(0.3, seed=2), lambda: SpatialDropout2D(0.3, "channels_first"),
          lambda: GaussianNoise(0.2, seed=4), lambda: GaussianDropout(0.3),
          lambda: ActivityRegularization(l1=0.5), lambda: Dropout(0.25, seed=1)]


@pytest.mark.parametrize("make", LAYERS)
def test_config_round_trip(make):
    layer = make()
    config_ = layer.get_config()
    clone = type(layer).from_config(config_)
    assert clone.get_config() == config_
    assert "noise_shape" not in config_ or type(layer).__name__ == "Dropout"


@pytest.mark.parametrize("make", LAYERS)
def test_output_shape_and_masking(make):
    layer = make()
    shape = (2, 3, 4) if not isinstance(layer, SpatialDropout2D) else (2, 3, 4, 5)
    x = np.ones(shape, "float32")
    assert layer.compute_output_shape((None, *shape[1:])) == (None, *shape[1:])
    assert to_numpy(layer(x, training=True)).shape == layer.compute_output_shape(shape)
    mask = np.ones(shape[:2], bool)
    assert layer.supports_masking and layer.compute_mask(x, mask) is mask
