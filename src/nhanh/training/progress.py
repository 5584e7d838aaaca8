"""The progress bar, in the layout of the article (Keras's classic bar):

    Epoch 1/100
    50/50 [==============================] - 0s 709us/step - loss: 1.7199

On a terminal (verbose=1) the bar is redrawn in place, reading device values at most every
~0.1 s; when output is not a terminal, only the finished line is printed. verbose=2 prints
one line per epoch without a bar, in Keras 3's layout:

    50/50 - 0s - 3ms/step - loss: 0.1234 - val_loss: 0.1301
"""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import Callable, Mapping

import numpy as np

WIDTH = 30
REFRESH_S = 0.1


def format_value(value: float) -> str:
    return f"{value:.4f}" if abs(value) > 1e-3 or value == 0 or math.isnan(value) \
        else f"{value:.4e}"


def format_per_step(seconds: float, unit: str = "step") -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def format_logs(logs: Mapping[str, float]) -> str:
    # A metric with several thresholds logs a vector; the bar shows its mean, as Keras's.
    return "".join(f" - {k}: {format_value(float(np.mean(v)))}" for k, v in logs.items())


def is_interactive(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progbar:
    """One epoch's (or one evaluation's) progress line."""

    def __init__(self, target: int | None, verbose: int = 1, stream=None, *,
                 width: int | None = None, interval: float | None = None,
                 unit_name: str = "step"):  # None: the module's WIDTH / REFRESH_S
        self.target = target
        self.width, self.interval, self.unit_name = width, interval, unit_name
        self.stream = stream or sys.stdout
        self.verbose = verbose
        self.interactive = verbose == 1 and is_interactive(self.stream) and \
            _to_stream()
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._drawn_width = 0

    def update(self, current: int, read_logs: Callable[[], Mapping[str, float]]) -> None:
        """Redraw if on a terminal and ~0.1 s have passed; only then are the logs read."""
        if not self.interactive or (self.target is not None and current >= self.target):
            return  # the finished line is finish()'s to draw
        now = time.perf_counter()
        if now - self._last_draw < (REFRESH_S if self.interval is None else self.interval):
            return
        self._last_draw = now
        elapsed = now - self.start
        eta = elapsed / current * (self.target - current) if self.target and current else 0
        line = f"{self._bar(current, done=False)} - ETA: {eta:.0f}s{format_logs(read_logs())}"
        self._write("\r" + line.ljust(self._drawn_width))
        self._drawn_width = len(line)

    def finish(self, current: int, logs: Mapping[str, float]) -> None:
        elapsed = time.perf_counter() - self.start
        per_step = format_per_step(elapsed / max(current, 1), self.unit_name)
        if self.verbose == 2:
            target = self.target if self.target is not None else current
            count = f"{current:>{len(str(target))}}/{target}"
            self._write(f"{count} - {elapsed:.0f}s - {per_step}{format_logs(logs)}\n")
            return
        line = f"{self._bar(current, done=True)} - {elapsed:.0f}s {per_step}{format_logs(logs)}"
        prefix = "\r" if self.interactive else ""
        self._write(prefix + line.ljust(self._drawn_width) + "\n")

    def _bar(self, current: int, done: bool) -> str:
        target = self.target if self.target is not None else current
        digits = len(str(target))
        width = WIDTH if self.width is None else self.width
        if done or not target or current >= target:
            bar = "=" * width
        else:  # Keras's rule: '=' for the steps done, '>' for the current one, '.' for the rest
            filled = int(width * current / target)
            bar = ("=" * (filled - 1) + ">")[:width].ljust(width, ".")
        return f"{current:>{digits}}/{target} [{bar}]"

    def _write(self, text: str) -> None:
        write(text, self.stream)


def print_epoch_header(epoch: int, epochs: int, stream=None) -> None:
    write(f"Epoch {epoch + 1}/{epochs}\n", stream or sys.stdout)


def _to_stream() -> bool:
    from nhanh import config

    return config.is_interactive_logging_enabled()


def write(text: str, stream=None) -> None:
    """Progress output: to `stream` (stdout), or, after
    nhanh.config.disable_interactive_logging(), to the `nhanh` logger (INFO), one record per
    line, as Keras's io_utils does."""
    if _to_stream():
        stream = stream or sys.stdout
        stream.write(text)
        stream.flush()
        return
    line = text.replace("\r", "").strip()
    if line:
        logging.getLogger("nhanh").info(line)
