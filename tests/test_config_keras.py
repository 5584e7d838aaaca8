"""keras.backend's names (in nhanh.backend) and keras.config's switches, against real Keras 3."""

import itertools
import logging
import os
import warnings

import numpy as np
import pytest

import nhanh
from nhanh import backend as B
from nhanh import config

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

DTYPES = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
          "bfloat16", "float16", "float32", "float64", "complex64", "complex128", int, float,
          None]


def _outcome(fn, *args):
    try:
        return fn(*args)
    except ValueError:
        return ValueError


@pytest.fixture
def floatx_restored():
    yield
    config.set_floatx("float32")
    keras.config.set_floatx("float32")


@pytest.mark.engine_independent
@pytest.mark.parametrize("fx", ["float32", "float16", "float64"])
def test_result_type_promotion_table_matches_keras(fx, floatx_restored):
    config.set_floatx(fx)
    keras.config.set_floatx(fx)
    cases = [(d,) for d in DTYPES] + list(itertools.product(DTYPES, DTYPES)) + \
        list(itertools.product(["bool", "uint8", "int8", "float16", int, float], repeat=3)) + [()]
    wrong = [(c, B.result_type(*c), keras.backend.result_type(*c)) for c in cases
             if _outcome(B.result_type, *c) != _outcome(keras.backend.result_type, *c)]
    assert not wrong, wrong[:5]


@pytest.mark.engine_independent
def test_result_type_accepts_engine_and_numpy_dtypes():
    assert B.result_type(np.int8, np.dtype("uint8")) == keras.backend.result_type("int8",
                                                                                  "uint8")
    with pytest.raises(ValueError, match="float8"):
        B.result_type("float8_e4m3fn", "float32")


def test_standardize_and_dtype_predicates_match_keras():
    x = nhanh.ops.ones((2,), dtype="int16")
    spellings = ["float32", np.float16, np.dtype("int8"), int, float, bool, "bfloat16", None,
                 B.get().dtype_of(x)]
    for d in spellings:
        assert B.standardize_dtype(d) == keras.backend.standardize_dtype(d), d
        assert B.is_float_dtype(d) == keras.backend.is_float_dtype(d), d
        assert B.is_int_dtype(d) == keras.backend.is_int_dtype(d), d


def test_settings_round_trip_and_validate():
    try:
        B.set_epsilon(1e-5)
        assert B.epsilon() == config.epsilon() == 1e-5
        B.set_image_data_format("channels_first")
        assert B.image_data_format() == "channels_first"
        B.set_floatx("float16")
        assert B.floatx() == "float16" and nhanh.random.normal((2,)).dtype == \
            nhanh.ops.ones((1,), "float16").dtype
        with pytest.raises(ValueError, match="channels_last"):
            B.set_image_data_format("NHWC")
    finally:
        B.set_epsilon(1e-7)
        B.set_image_data_format("channels_last")
        B.set_floatx("float32")
    assert B.backend() == nhanh.config.backend() == B.get().NAME


def test_get_uid_counts_like_keras_and_shares_layer_names():
    B.clear_session()
    keras.backend.clear_session()
    ours = [B.get_uid("thing"), B.get_uid("thing"), B.get_uid("other")]
    theirs = [keras.backend.get_uid("thing"), keras.backend.get_uid("thing"),
              keras.backend.get_uid("other")]
    assert ours == theirs == [1, 2, 1]
    nhanh.layers.Dense(2)
    keras.layers.Dense(2)
    assert B.get_uid("dense") == keras.backend.get_uid("dense") == 2
    B.clear_session()
    assert nhanh.layers.Dense(2).name == "dense"


def test_is_keras_tensor():
    x = nhanh.Input((3,))
    assert B.is_keras_tensor(x) and B.is_keras_tensor(nhanh.layers.Dense(2)(x))
    assert not B.is_keras_tensor(nhanh.ops.ones((3,))) and not B.is_keras_tensor(np.ones(3))


@pytest.mark.engine_independent
def test_switch_defaults_match_keras():
    pairs = ["is_interactive_logging_enabled", "is_traceback_filtering_enabled",
             "is_flash_attention_enabled", "is_nnx_enabled", "max_epochs",
             "max_steps_per_epoch"]
    for name in pairs:
        assert getattr(config, name)() == getattr(keras.config, name)(), name
    for on, off, ask in [("enable_flash_attention", "disable_flash_attention",
                          "is_flash_attention_enabled"),
                         ("enable_traceback_filtering", "disable_traceback_filtering",
                          "is_traceback_filtering_enabled")]:
        getattr(config, off)()
        assert getattr(config, ask)() is False
        getattr(config, on)()
        assert getattr(config, ask)() is True
    config._flash_attention = None
    assert not config.is_unsafe_deserialization_enabled()
    config.enable_unsafe_deserialization()
    assert config.is_unsafe_deserialization_enabled()
    config._unsafe_deserialization = False
    with pytest.raises(ValueError, match="max_epochs must be a positive int"):
        config.set_max_epochs(0)


def _model():
    model = nhanh.Sequential([nhanh.Input((2,)), nhanh.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


DATA = (np.ones((40, 2), "float32"), np.ones((40, 1), "float32"))


def test_interactive_logging_off_sends_progress_to_the_nhanh_logger(capsys, caplog):
    model = _model()
    try:
        config.disable_interactive_logging()
        with caplog.at_level(logging.INFO, logger="nhanh"):
            model.fit(*DATA, epochs=2, batch_size=10, verbose=1)
        out = capsys.readouterr().out
        assert out == ""
        messages = [r.getMessage() for r in caplog.records if r.name == "nhanh"]
        assert messages[0] == "Epoch 1/2" and "Epoch 2/2" in messages
        assert any(m.startswith("4/4 [") and "loss:" in m for m in messages)
    finally:
        config.enable_interactive_logging()
    caplog.clear()
    model.fit(*DATA, epochs=1, batch_size=10, verbose=1)
    assert "4/4 [" in capsys.readouterr().out
    assert not [r for r in caplog.records if r.name == "nhanh"]


class _Count(nhanh.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.train, self.test, self.epochs = 0, 0, 0

    def on_train_batch_end(self, batch, logs=None):
        self.train += 1

    def on_test_batch_end(self, batch, logs=None):
        self.test += 1

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def test_max_epochs_and_max_steps_per_epoch_cap_fit_and_evaluate():
    model, count = _model(), _Count()
    try:
        config.set_max_epochs(2)
        config.set_max_steps_per_epoch(3)
        with pytest.warns(UserWarning, match="Limiting epochs to 2"):
            history = model.fit(*DATA, epochs=5, batch_size=10, verbose=0, callbacks=[count])
        assert len(history.epoch) == count.epochs == 2 and count.train == 6
        with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 3"):
            model.evaluate(*DATA, batch_size=10, verbose=0, callbacks=[count])
            assert count.test == 3
            assert len(model.predict(DATA[0], batch_size=10, verbose=0)) == 30
    finally:
        config.set_max_epochs(None)
        config.set_max_steps_per_epoch(None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(model.fit(*DATA, epochs=3, batch_size=10, verbose=0).epoch) == 3
