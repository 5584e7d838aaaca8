"""What a script's first fit on JAX compiles (issue 13, the first fit): nothing while the model
is built (zeros, ones and numbers are made on the host, not by one small XLA program per
shape), one program for the fused loop and one for a short last batch, and small programs
through XLA:CPU's quicker code generator, training to the same numbers."""

import contextlib

import jax
import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.backend.jax import core as jax_core

pytestmark = pytest.mark.engines("jax")


@contextlib.contextmanager
def counted_compiles():
    """The number of XLA compilations inside the block (JAX's own monitoring events)."""
    seen, counting = [], [True]

    def listener(event, duration, **kwargs):
        if counting[0] and event == "/jax/core/compile/backend_compile_duration":
            seen.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield seen
    finally:
        counting[0] = False  # (JAX 0.4.30 cannot unregister a listener: it then stays idle)
        unregister = getattr(jax.monitoring, "unregister_event_duration_listener", None)
        if unregister is not None:
            unregister(listener)


def small_model(optimizer="adam"):
    model = nhanh.Sequential([nhanh.Input((3,)), nhanh.layers.Dense(4, activation="relu"),
                              nhanh.layers.BatchNormalization(), nhanh.layers.Dense(1)])
    model.compile(loss="mse", optimizer=optimizer, metrics=["mae"])
    return model


def data(n=10):
    rng = np.random.default_rng(0)
    x = rng.random((n, 3)).astype("float32")
    return x, x @ np.array([1.0, -2.0, 0.5], "float32")


def test_building_and_compiling_a_model_compiles_no_program(backend):
    with counted_compiles() as seen:
        model = small_model()
        model.optimizer.build(model.trainable_variables)  # Adam's slots: zeros of each shape
        weights = model.get_weights()
    assert len(seen) == 0
    assert [w.shape for w in weights] == [(3, 4), (4,), (4,), (4,), (4,), (4,), (4, 1), (1,)]
    np.testing.assert_array_equal(weights[1], np.zeros(4, "float32"))  # Dense bias
    np.testing.assert_array_equal(weights[2], np.ones(4, "float32"))  # gamma
    assert all(np.all(ops.convert_to_numpy(v.value) == 0) for v in model.optimizer.variables
               if v.name.endswith(("_momentum", "_velocity")))


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "bfloat16", "uint8"])
def test_zeros_ones_full_and_numbers_match_numpy_outside_and_inside_a_trace(backend, dtype):
    expected_dtype = {"int64": "int32"}.get(dtype, dtype)  # (JAX without x64, as Keras's)
    made = {"zeros": lambda: ops.zeros((2, 3), dtype), "ones": lambda: ops.ones((2, 3), dtype),
            "full": lambda: ops.full((2, 3), 1, dtype),
            "number": lambda: ops.convert_to_tensor(1, dtype)}
    for name, make in made.items():
        expected = np.full((2, 3) if name != "number" else (), 0 if name == "zeros" else 1)
        with counted_compiles() as seen:
            eager = make()
        assert len(seen) == 0, name
        traced = jax.jit(make)()
        for value in (eager, traced):
            assert nhanh.backend.standardize_dtype(value.dtype) == expected_dtype, name
            np.testing.assert_array_equal(ops.convert_to_numpy(value).astype("float64"),
                                          expected, err_msg=name)
    assert nhanh.backend.standardize_dtype(ops.zeros((2,)).dtype) == "float32"  # the default dtype
    assert ops.full((2,), 1.5).dtype == jax.numpy.full((2,), 1.5).dtype  # weak types: JAX's


@pytest.mark.skipif(not jax_core._DEVICE_PUT_MAY_ALIAS,
                    reason="JAX before 0.4.34 copies the state's first buffers by compiled programs")
def test_a_short_last_batch_compiles_one_program_more(backend):
    model = small_model()
    x, y = data(10)  # batches of 4, 4 and 2
    calls = {"fit": lambda: model.fit(x, y, batch_size=4, epochs=2, verbose=0),
             "evaluate": lambda: model.evaluate(x, y, batch_size=4, verbose=0),
             "predict": lambda: model.predict(x, batch_size=4, verbose=0)}
    for name, call in calls.items():
        with counted_compiles() as seen:
            call()
        # the fused loop of full batches, and the step for the last two rows
        assert len(seen) == 2, name
        with counted_compiles() as seen:
            call()
        assert len(seen) == 0, name
    whole = model.predict(x, batch_size=10, verbose=0)
    np.testing.assert_allclose(calls["predict"](), whole, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(calls["evaluate"](), model.evaluate(x, y, batch_size=10,
                                                                   verbose=0), rtol=1e-5)


def fitted_weights(monkeypatch, small_program: int, rows: int = 10):
    monkeypatch.setattr(jax_core, "SMALL_PROGRAM", small_program)
    nhanh.utils.set_random_seed(7)
    model = small_model(nhanh.optimizers.SGD(0.05, momentum=0.9))
    model.fit(*data(rows), batch_size=4, epochs=3, verbose=0)
    return model.get_weights()


QUICK = pytest.mark.skipif(not jax_core._JIT_OPTIONS,
                           reason="this JAX's jit takes no compiler options")


@QUICK
def test_small_programs_take_the_quick_code_generator(backend, monkeypatch):
    # An option XLA refuses shows which programs are compiled with the quick generator.
    monkeypatch.setattr(jax_core, "_QUICK_CODEGEN", {"xla_cpu_use_fusion_emitters": "refused"})
    with pytest.raises(Exception, match="xla_cpu_use_fusion_emitters"):
        fitted_weights(monkeypatch, jax_core.SMALL_PROGRAM)
    x, _ = data(10)
    assert x.size + 37 * 3 < jax_core.SMALL_PROGRAM  # (the model has 37 weights)
    fitted_weights(monkeypatch, small_program=x.size)  # a program at the bound: default options


@QUICK
def test_the_quick_code_generator_trains_to_the_same_numbers(backend, monkeypatch):
    quick = fitted_weights(monkeypatch, jax_core.SMALL_PROGRAM)
    default = fitted_weights(monkeypatch, 0)
    for a, b in zip(quick, default):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
