"""The progress lines, in the article's layout, for a terminal and for a log."""

import io
import os
import re

import numpy as np
import pytest

from nhanh.training import progress
from helpers import linear_data, linear_model

FINAL = re.compile(r"^50/50 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: \d+\.\d{4}$")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def render(text: str) -> list[str]:
    """What a terminal shows: carriage returns overwrite the current line."""
    lines = []
    for raw in text.split("\n"):
        lines.append(raw.split("\r")[-1].rstrip())
    return [ln for ln in lines if ln]


def _fit(monkeypatch, stream, verbose, epochs=3):
    monkeypatch.setattr("sys.stdout", stream)
    x, y = linear_data(100)
    model = linear_model()
    model.fit(x, y, epochs=epochs, batch_size=2, verbose=verbose)
    return stream.getvalue()


def _masked(text: str) -> list[str]:
    """Lines with times and values replaced by placeholders, so only the layout is left."""
    text = re.sub(r"\d+(us|ms|s)/step", "T/step", text)
    text = re.sub(r" - \d+s - ", " - Ts - ", text)
    text = re.sub(r"-?\d+\.\d{4}(e[+-]\d+)?", "V", text)
    return text.splitlines()


def _verbose_2_program(L, stream, monkeypatch):
    """The same fit / evaluate / predict calls, on nhanh or on Keras."""
    monkeypatch.setattr("sys.stdout", stream)
    x, y = linear_data(100)
    model = L.Sequential([L.Input((2,)), L.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=2, verbose=2, validation_split=0.2)
    model.evaluate(x, y, verbose=2)
    model.predict(x, verbose=2)
    monkeypatch.undo()
    return stream.getvalue()


def test_verbose_2_prints_keras_3_line_per_epoch(monkeypatch):
    """Keras 3 layout: 'Epoch 1/2', then '40/40 - 0s - 3ms/step - loss: ... - val_mae: ...'
    (no bar, no carriage return); evaluate and predict print one such line too."""
    import nhanh

    os.environ.setdefault("KERAS_BACKEND", "jax")  # the reference layout is engine-free
    keras = pytest.importorskip("keras")
    text = _verbose_2_program(nhanh, io.StringIO(), monkeypatch)
    want = _verbose_2_program(keras, io.StringIO(), monkeypatch)
    assert "\r" not in text
    assert _masked(text) == _masked(want), (text, want)
    assert _masked(text)[1] == "40/40 - Ts - T/step - loss: V - mae: V - val_loss: V - val_mae: V"


def test_verbose_2_prints_one_line_per_epoch_without_carriage_returns(monkeypatch):
    text = _fit(monkeypatch, io.StringIO(), verbose=2)
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert all(re.match(r"^50/50 - \d+s - \d+(us|ms|s)/step - loss: \d+\.\d{4}$", line)
               for line in lines[1::2]), lines


def test_verbose_1_off_terminal_is_like_a_log(monkeypatch):
    text = _fit(monkeypatch, io.StringIO(), verbose=1, epochs=2)
    assert "\r" not in text and len(text.splitlines()) == 4


def test_verbose_1_on_terminal_redraws_in_place(monkeypatch):
    monkeypatch.setattr(progress, "REFRESH_S", 0.0)  # draw on every step
    text = _fit(monkeypatch, Terminal(), verbose=1, epochs=2)
    assert "\r" in text and "ETA" in text
    shown = render(text)
    assert shown[0] == "Epoch 1/2" and shown[2] == "Epoch 2/2"
    assert FINAL.match(shown[1]) and FINAL.match(shown[3]), shown
    partial = [seg for seg in text.split("\r") if seg.startswith("25/50")]
    assert partial and re.match(r"25/50 \[={14}>\.{15}\] - ETA: \d+s - loss: ", partial[0])


def test_verbose_0_prints_nothing(monkeypatch):
    assert _fit(monkeypatch, io.StringIO(), verbose=0) == ""


def test_device_values_are_read_at_most_every_refresh(monkeypatch):
    reads = []
    bar = progress.Progbar(1000, verbose=1, stream=Terminal())
    for step in range(1, 1001):
        bar.update(step, lambda: reads.append(step) or {"loss": 1.0})
    assert len(reads) <= 2  # a fast loop: far fewer reads than steps


@pytest.mark.engine_independent  # formatting only
def test_number_formats():
    assert progress.format_per_step(0.000709) == "709us/step"
    assert progress.format_per_step(0.005) == "5ms/step"
    assert progress.format_per_step(2.0) == "2s/step"
    assert progress.format_value(1.71994) == "1.7199"
    assert progress.format_value(0.0001234) == "1.2340e-04"
    assert np.isnan(float(progress.format_value(float("nan"))))
