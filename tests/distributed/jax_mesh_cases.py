"""Distribution on JAX over 8 host devices (run by tests/test_distribution.py in a
subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=8, so the rest of the suite
keeps its one device). Each case trains the same model with the same seed and global batch
on one device and under a distribution, and compares what a user sees."""

import os

import jax
import numpy as np
import pytest

import nhanh
from nhanh import distribution as D
from nhanh import layers

pytestmark = pytest.mark.engines("jax")

assert len(jax.devices()) == 8, "run with XLA_FLAGS=--xla_force_host_platform_device_count=8"

RNG = np.random.default_rng(0)
X = RNG.normal(size=(100, 6)).astype("float32")
Y = RNG.normal(size=(100, 4)).astype("float32")
LABELS = RNG.integers(0, 4, size=(100,))


@pytest.fixture(autouse=True)
def no_distribution():
    yield
    D.set_distribution(None)


def mlp(dropout=0.0):
    model = nhanh.Sequential([nhanh.Input((6,)), layers.Dense(16, activation="relu"),
                              layers.BatchNormalization(), layers.Dropout(dropout),
                              layers.Dense(4)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


class EveryBatch(nhanh.callbacks.Callback):
    """Forces the step-by-step path (a per-batch hook)."""

    def on_train_batch_end(self, batch, logs=None):
        pass


def train(dist, build=mlp, callbacks=(), x=X, y=Y, batch_size=16, epochs=2, **fit):
    """(model, history, predictions, evaluation) with `dist` set while the model is made."""
    nhanh.utils.set_random_seed(3)
    D.set_distribution(dist)
    model = build()
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0,
                        callbacks=list(callbacks), **fit)
    predictions = model.predict(x, batch_size=batch_size, verbose=0)
    evaluation = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    D.set_distribution(None)
    return model, history.history, predictions, evaluation


_SINGLE = {}


def single_device():
    """train(None) of mlp(), once for the module (every case compares with the same run)."""
    if not _SINGLE:
        _SINGLE["run"] = train(None)
    return _SINGLE["run"]


def assert_same_training(a, b, atol=2e-6):
    model_a, history_a, pred_a, eval_a = a
    model_b, history_b, pred_b, eval_b = b
    assert history_a.keys() == history_b.keys()
    for key in history_a:
        np.testing.assert_allclose(history_a[key], history_b[key], rtol=1e-5, atol=atol)
    np.testing.assert_allclose(pred_a, pred_b, rtol=1e-5, atol=atol)
    np.testing.assert_allclose(eval_a, eval_b, rtol=1e-5, atol=atol)
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=atol)


def spec(variable):
    return tuple(variable._value.sharding.spec)


def shard_shapes(variable):
    return {tuple(s.data.shape) for s in variable._value.addressable_shards}


@pytest.mark.parametrize("callbacks", [(), (EveryBatch(),)], ids=["fused", "per_batch"])
def test_data_parallel_matches_one_device(callbacks):
    # 100 rows in batches of 16: the last batch (4 rows) does not split over 8 devices and is
    # computed whole on each; batch normalization and the metrics see the global batch.
    spread = train(D.DataParallel(), callbacks=callbacks)
    single = single_device()
    assert_same_training(single, spread)
    kernel = spread[0].trainable_variables[0]
    assert len(kernel._value.sharding.device_set) == 8 and shard_shapes(kernel) == {(6, 16)}


def test_data_parallel_splits_each_batch_and_draws_dropout_as_one_device():
    seen = []

    class Record(layers.Layer):
        def call(self, x):
            jax.debug.inspect_array_sharding(x, callback=lambda s: seen.append(
                s.shard_shape(x.shape)))
            return x

    def build():
        model = nhanh.Sequential([nhanh.Input((6,)), Record(), layers.Dense(8),
                                  layers.Dropout(0.5), layers.Dense(4)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    single = train(None, build=build, batch_size=32)
    seen.clear()
    spread = train(D.DataParallel(), build=build, batch_size=32)
    assert (4, 6) in seen  # 32 rows over 8 devices: each device computes on 4
    assert_same_training(single, spread)


@pytest.mark.parametrize("shape", [(2, 4), (4, 2)])
def test_model_parallel_shards_variables_and_slots(shape):
    mesh = D.DeviceMesh(shape, ("batch", "model"), D.list_devices())
    layout_map = D.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    layout_map[".*dense.*bias"] = ("model",)
    single = single_device()
    spread = train(D.ModelParallel(layout_map=layout_map))
    assert_same_training(single, spread)
    model = spread[0]
    model_axis = shape[1]
    kernel = model.get_layer(index=0).kernel  # (6, 16): columns split over the model axis
    assert spec(kernel) == (None, "model")
    assert shard_shapes(kernel) == {(6, 16 // model_axis)}
    assert shard_shapes(model.get_layer(index=0).bias) == {(16 // model_axis,)}
    for name in ("momentum", "velocity"):  # Adam's slots are split like their variable
        slot = model.optimizer.slot(kernel, name)
        assert spec(slot) == (None, "model") and shard_shapes(slot) == shard_shapes(kernel)
    gamma = model.get_layer(index=1).gamma  # matched by no key: replicated
    assert shard_shapes(gamma) == {(16,)} and len(gamma._value.sharding.device_set) == 8


def test_variables_are_made_in_their_shards():
    mesh = D.DeviceMesh((2, 4), ("batch", "model"))
    layout_map = D.LayoutMap(mesh)
    layout_map[".*kernel"] = ("model", None)
    with D.ModelParallel(layout_map=layout_map).scope():
        layer = layers.Dense(3)
        layer.build((None, 8))
    assert layer.kernel.path == f"{layer.name}/kernel"  # the path the layout map matched
    assert shard_shapes(layer.kernel) == {(2, 3)}
    # the values are the initializer's, as on one device with the same seed
    nhanh.utils.set_random_seed(5)
    with D.ModelParallel(layout_map=layout_map).scope():
        spread = layers.Dense(3, kernel_initializer="glorot_uniform")
        spread.build((None, 8))
    nhanh.utils.set_random_seed(5)
    single = layers.Dense(3, kernel_initializer="glorot_uniform")
    single.build((None, 8))
    np.testing.assert_array_equal(spread.kernel.numpy(), single.kernel.numpy())


def test_model_built_before_the_distribution_is_laid_out_at_fit():
    single = single_device()
    nhanh.utils.set_random_seed(3)
    model = mlp()  # built on one device
    D.set_distribution(D.DataParallel())
    history = model.fit(X, Y, batch_size=16, epochs=2, verbose=0)
    spread = (model, history.history, model.predict(X, batch_size=16, verbose=0),
              model.evaluate(X, Y, batch_size=16, verbose=0))
    assert_same_training(single, spread)
    assert len(model.trainable_variables[0]._value.sharding.device_set) == 8


def test_data_from_a_generator():
    def batches():
        for start in range(0, 96, 16):
            yield X[start:start + 16], Y[start:start + 16]

    def run(dist):
        nhanh.utils.set_random_seed(3)
        D.set_distribution(dist)
        model = mlp()
        history = model.fit(batches(), epochs=1, verbose=0)
        return model.get_weights(), history.history["loss"]

    (w1, l1), (w8, l8) = run(None), run(D.DataParallel())
    np.testing.assert_allclose(l1, l8, rtol=1e-5)
    for a, b in zip(w1, w8):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)


def test_sharded_model_saves_and_loads(tmp_path):
    mesh = D.DeviceMesh((2, 4), ("batch", "model"))
    layout_map = D.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    dist = D.ModelParallel(layout_map=layout_map)
    model = train(dist)[0]
    path = str(tmp_path / "sharded.keras")
    model.save(path)
    with dist.scope():
        loaded = nhanh.models.load_model(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    kernel = loaded.get_layer(index=0).kernel
    assert spec(kernel) == (None, "model") and shard_shapes(kernel) == {(6, 4)}
    plain = nhanh.models.load_model(path)  # and on one device
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(plain.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_bad_input_fails_before_anything_runs():
    with pytest.raises(ValueError, match="needs 3 devices"):
        D.DeviceMesh((3,), ("batch",), D.list_devices())
    with pytest.raises(ValueError, match="unknown device"):
        D.DeviceMesh((1,), ("batch",), ["gpu:9"])
    mesh = D.DeviceMesh((2, 4), ("batch", "model"))
    layout_map = D.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    with D.ModelParallel(layout_map=layout_map).scope():
        with pytest.raises(ValueError, match=r"dense.*kernel.*does not divide by mesh axis "
                                             r"'model' of size 4"):
            nhanh.Sequential([nhanh.Input((6,)), layers.Dense(6)])
    D.set_distribution(D.DataParallel())
    model = mlp()
    before = model.get_weights()
    with pytest.raises(ValueError, match="batch_size=12 does not divide over the 8 devices"):
        model.fit(X, Y, batch_size=12, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_environment():
    assert os.environ.get("XLA_FLAGS", "").endswith("device_count=8")
