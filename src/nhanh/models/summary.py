"""model.summary(): the layer table as Keras prints it."""

from __future__ import annotations

import math
from typing import Callable

WIDTHS = (29, 26, 10)


def _fmt_bytes(n_params: int, itemsize: int = 4) -> str:
    size = float(n_params * itemsize)
    for unit in ("Byte", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024


def _row(cells) -> str:
    return "".join(f" {str(c):<{w - 1}}" for c, w in zip(cells, WIDTHS))


def summary_lines(model, rows) -> list[str]:
    """rows: (name, type, output shape, params) per layer."""
    width = sum(WIDTHS)
    lines = [f'Model: "{model.name}"', "_" * width, _row(("Layer (type)", "Output Shape",
                                                          "Param #")), "=" * width]
    for i, (name, kind, shape, params) in enumerate(rows):
        lines.append(_row((f"{name} ({kind})", shape, params)))
        lines.append(" " * width if i < len(rows) - 1 else "")
    if lines[-1] == "":
        lines.pop()
    trainable = sum(math.prod(v.shape) for v in model.trainable_weights)
    total = sum(math.prod(v.shape) for v in model.weights)
    lines += ["=" * width,
              f"Total params: {total:,} ({_fmt_bytes(total)})",
              f"Trainable params: {trainable:,} ({_fmt_bytes(trainable)})",
              f"Non-trainable params: {total - trainable:,} ({_fmt_bytes(total - trainable)})",
              "_" * width]
    return lines


def print_summary(model, rows, line_length=None, print_fn: Callable | None = None) -> None:
    out = "\n".join(summary_lines(model, rows))
    (print_fn or print)(out)
