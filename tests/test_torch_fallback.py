"""PyTorch's captured steps (backend/torch/capture.py) fall back to eager code when any stage of
capturing fails, train exactly as eager PyTorch does, and say so once per model; a user's own
mistake still surfaces as the user's error, and PyTorch's own logging stays off the terminal."""

import logging

import numpy as np
import pytest

import nhanh
from nhanh import layers, ops
from helpers import classification_data


def _capture_module():
    from nhanh.backend.torch import capture
    return capture


def _fit(**compile_args):
    """Two epochs with a partial last batch, validation and predict: several step kinds and
    signatures, each a chance to report the fallback again."""
    x, labels = classification_data(n=40)
    nhanh.utils.set_random_seed(3)
    model = nhanh.Sequential([layers.Input((4,)), layers.Dense(6, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=nhanh.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], **compile_args)
    history = model.fit(x, labels, batch_size=16, epochs=2, verbose=0, shuffle=False,
                        validation_data=(x[:10], labels[:10]))
    return history.history, model.get_weights(), ops.convert_to_numpy(model.predict(x,
                                                                                    verbose=0))


def _assert_same(a, b):
    (history_a, weights_a, predicted_a), (history_b, weights_b, predicted_b) = a, b
    assert history_a.keys() == history_b.keys()
    for key in history_a:
        np.testing.assert_allclose(history_a[key], history_b[key], rtol=1e-5, atol=1e-6)
    for wa, wb in zip(weights_a, weights_b):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predicted_a, predicted_b, rtol=1e-5, atol=1e-6)


def _fallback_warnings(caplog) -> list:
    return [r for r in caplog.records if r.name == "nhanh" and r.levelno == logging.WARNING
            and "could not be captured" in r.getMessage()]


def _raise(*args, **kwargs):
    raise RuntimeError("planted failure")


def _replay_that_breaks(graph):
    """A replay that fails half-way: after writing garbage into the inputs that the graph
    writes in place (the optimizer's state, the weights). The fallback must put them back
    before running the step eagerly."""
    from nhanh.backend.torch.capture import _written_inputs

    written = _written_inputs(graph)
    assert written  # the optimizer's update, at least

    def replay(*tensors):
        for i in written:
            tensors[i].add_(100)
        raise RuntimeError("planted failure")
    return replay


def _compile_that_breaks_later(graph):
    return _replay_that_breaks(graph)  # torch.compile fails lazily, on the first call


def _refuse_recordings(capture, monkeypatch) -> None:
    """Every recording refused after the step ran and wrote its inputs (the weights, the
    optimizer's state): they must be put back before make_fx (or eager code) runs it again."""
    record = capture.recording.record

    def record_then_refuse(fn, inputs):
        def ran_then_refused(*tensors):
            fn(*tensors)
            raise capture.recording.Refused("planted failure")
        return record(ran_then_refused, inputs)
    monkeypatch.setattr(capture.recording, "record", record_then_refuse)


STAGES = {  # stage -> (what to replace in capture.py, by what, compile arguments)
    # (the default: each new step is recorded while it runs, replayed from the next call; a
    # refused recording goes to make_fx, and only then to eager code)
    "tracing": ("make_fx", lambda *a, **k: _raise, {}),
    "graph tidying": ("tidy", _raise, {}),
    "code generation": ("_to_python", _raise, {}),
    "replay": ("_to_python", _replay_that_breaks, {}),
    # (jit_compile=True: traced by make_fx, then torch.compile)
    "tracing ": ("make_fx", lambda *a, **k: _raise, {"jit_compile": True}),
    "torch.compile": ("_inductor", _raise, {"jit_compile": True}),
    "torch.compile ": ("_inductor", _compile_that_breaks_later, {"jit_compile": True}),
}


@pytest.mark.engines("torch")
@pytest.mark.parametrize("stage", list(STAGES))
def test_a_failing_stage_falls_back_to_eager_once(stage, backend, monkeypatch, caplog):
    capture = _capture_module()
    eager = _fit(run_eagerly=True)
    name, replacement, compile_args = STAGES[stage]
    monkeypatch.setattr(capture, name, replacement)
    if stage == "tracing":  # only a step the recording refused reaches make_fx
        _refuse_recordings(capture, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="nhanh"):
        fallen = _fit(**compile_args)
    _assert_same(fallen, eager)
    warnings = _fallback_warnings(caplog)
    assert len(warnings) == 1, [w.getMessage() for w in warnings]
    message = warnings[0].getMessage()
    assert f"{stage.strip()} failed" in message and "planted failure" in message
    assert "sequential" in message and "eager" in message


@pytest.mark.engines("torch")
def test_a_refused_recording_is_undone_and_make_fx_captures_the_step(backend, monkeypatch,
                                                                     caplog):
    capture = _capture_module()
    eager = _fit(run_eagerly=True)
    _refuse_recordings(capture, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="nhanh"):
        _assert_same(_fit(), eager)
    assert not _fallback_warnings(caplog)


@pytest.mark.engines("torch")
def test_captured_steps_train_like_eager_without_a_warning(backend, caplog):
    _capture_module()
    eager = _fit(run_eagerly=True)
    with caplog.at_level(logging.WARNING, logger="nhanh"):
        _assert_same(_fit(), eager)
    assert not _fallback_warnings(caplog)


class WrongShape(layers.Layer):
    """A user's mistake: a scale whose length does not fit the inputs. Capturing the step fails
    (under make_fx, torch's fake tensors log a traceback at ERROR level to stderr unless
    silenced)."""

    def build(self, input_shape):
        self.scale = self.add_weight((input_shape[-1] + 1,), "ones", name="scale")

    def compute_output_shape(self, input_shape):
        return input_shape  # so that building the model does not run call()

    def call(self, inputs):
        return inputs * self.scale.value


def _fit_wrong_shape(**compile_args):
    x, labels = classification_data(n=16)
    model = nhanh.Sequential([layers.Input((4,)), WrongShape(),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", **compile_args)
    model.fit(x, labels, batch_size=8, epochs=1, verbose=0)


def _torch_loggers() -> dict:
    return {name: (logger.level, logger.disabled)
            for name, logger in logging.Logger.manager.loggerDict.items()
            if isinstance(logger, logging.Logger) and name.startswith("torch")}


@pytest.mark.engines("torch")
def test_a_user_error_surfaces_as_itself(backend, caplog):
    _capture_module()
    with pytest.raises(Exception) as eager:
        _fit_wrong_shape(run_eagerly=True)
    torch_loggers = _torch_loggers()
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(Exception) as captured:
            _fit_wrong_shape()
    assert type(captured.value) is type(eager.value)
    assert str(captured.value) == str(eager.value)  # the eager error, not the tracer's
    assert not _fallback_warnings(caplog)  # nothing fell back: the user's code is wrong
    assert not [r for r in caplog.records if r.name.startswith("torch")]
    now = _torch_loggers()
    assert {name: now[name] for name in torch_loggers} == torch_loggers  # put back as they were


_QUIET_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import test_torch_fallback
try:
    test_torch_fallback._fit_wrong_shape()
except Exception as error:
    print("raised", type(error).__name__)
"""


@pytest.mark.engines("torch")
def test_nothing_from_torch_reaches_stderr(backend):
    """As a user runs it, in a process of its own: under pytest, torch's log handlers write to
    the stream they found at import, which no capture fixture sees."""
    _capture_module()
    import os
    import subprocess
    import sys

    tests = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run([sys.executable, "-c", _QUIET_SCRIPT.format(tests=tests)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NHANH_BACKEND": "torch"})
    assert done.stdout.startswith("raised"), done.stdout + done.stderr
    assert done.stderr == "", done.stderr


@pytest.mark.engines("torch")
def test_a_step_that_cannot_be_keyed_runs_eagerly_and_says_so(backend, caplog):
    capture = _capture_module()
    import torch

    step = capture.CapturedStep(lambda x, offset: x + torch.as_tensor(offset))
    x = torch.zeros(2)
    with caplog.at_level(logging.WARNING, logger="nhanh"):
        for offset in ([1.0, 2.0], [3.0, 4.0]):
            np.testing.assert_array_equal(step(x, np.array(offset)).numpy(), offset)
    assert len(_fallback_warnings(caplog)) == 1


class HostRead(layers.Layer):
    """Reads a device value on the host inside call(): a recording would freeze the value of
    the first step into every later one, so make_fx (or eager code) must run it instead."""

    def __init__(self, how, **kwargs):
        super().__init__(**kwargs)
        self.how = how

    def call(self, inputs):
        mean = ops.mean(inputs)
        value = float(mean) if self.how == "float" else ops.convert_to_numpy(mean).item()
        return inputs * value


class SignBranch(layers.Layer):
    """A branch on a tensor: the batches below take each branch in turn."""

    def call(self, inputs):
        return ops.cond(ops.mean(inputs) > 0, lambda: inputs * 2.0, lambda: inputs - 1.0)


def _fit_with(layer, **compile_args):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    x[8:16] += 3.0  # the second batch's mean is positive, the others' mostly negative
    x[[0, 16, 24]] -= 3.0
    y = rng.normal(size=(32, 1)).astype("float32")
    nhanh.utils.set_random_seed(1)
    model = nhanh.Sequential([layers.Input((4,)), layer, layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", **compile_args)
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    return history.history, model.get_weights(), ops.convert_to_numpy(model.predict(x,
                                                                                    verbose=0))


@pytest.mark.engines("torch")
@pytest.mark.parametrize("how", ["float", "numpy"])
def test_a_step_reading_a_value_on_the_host_trains_as_eager_code(how, backend):
    _capture_module()
    eager = _fit_with(HostRead(how), run_eagerly=True)
    _assert_same(_fit_with(HostRead(how)), eager)  # not the first step's value frozen


@pytest.mark.engines("torch")
def test_a_branch_on_a_tensor_is_captured_with_both_branches(backend, caplog):
    _capture_module()
    eager = _fit_with(SignBranch(), run_eagerly=True)
    with caplog.at_level(logging.WARNING, logger="nhanh"):
        _assert_same(_fit_with(SignBranch()), eager)
    assert not _fallback_warnings(caplog)  # make_fx captured it, branches and all
