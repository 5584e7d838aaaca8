"""model.summary(): Keras 3's layer table, printed as plain aligned text.

Keras 3 draws the table with `rich`; nhanh prints the same columns, widths and totals as
plain lines, so a log file or a notebook shows the same thing as a terminal. Every line of
the table has exactly `line_length` characters: a cell too long for its column (a 60-char
layer name) wraps onto more lines of the same row instead of pushing the columns apart.

The columns and their defaults follow Keras 3: "Layer (type)", "Output Shape", "Param #"
(88 characters wide), plus "Connected to" for graphs that are not a simple chain (108), plus
"Trainable" with `show_trainable` (12 more); the default width shrinks to fit the terminal.
Sizes are bytes from each variable's dtype, in Keras's units ("244.00 B", "1.95 KB").
"""

from __future__ import annotations

import math
import re
import shutil
import textwrap
from typing import Callable, Sequence

import numpy as np

NESTED_INDENT = "   "
NESTED_MARK = "└ "


def readable_size(n_bytes: float) -> str:
    """'100.00 B', '1.95 KB', '3.81 MB': powers of 1024, two decimals, as Keras prints."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n_bytes < 1024:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} PB"


def _itemsize(dtype) -> int:
    try:
        return np.dtype(str(dtype)).itemsize
    except TypeError:  # bfloat16 and other names numpy does not know
        bits = re.findall(r"\d+", str(dtype))
        return int(bits[-1]) // 8 if bits else 4


def _count(variables) -> tuple[int, int]:
    """(number of values, bytes) over distinct variables."""
    unique = {id(v): v for v in variables}.values()
    count = sum(math.prod(v.shape) for v in unique)
    size = sum(math.prod(v.shape) * _itemsize(v.dtype) for v in unique)
    return int(count), int(size)


def _format_shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _output_shape(model, layer) -> str:
    """The layer's output shape(s) in this model, or '?' when it has not been called."""
    nodes = getattr(model, "_nodes", None)
    if getattr(layer, "_batch_input_shape", None) is not None and not layer._inbound_nodes \
            and hasattr(layer, "output"):
        tensors = [layer.output]  # an InputLayer
    elif nodes is not None and any(n.layer is layer for n in nodes):
        tensors = [t for n in nodes if n.layer is layer for t in n.output_tensors]
    elif layer._inbound_nodes:
        tensors = layer._inbound_nodes[-1].output_tensors
    elif getattr(layer, "_build_input_shape", None) is not None:  # called eagerly only
        try:
            out = layer.compute_output_shape(layer._build_input_shape)
        except Exception:  # a layer that cannot infer its shape: Keras prints '?' too
            return "?"
        shapes = out if isinstance(out, list) else [out]
        return _format_shape(shapes[0]) if len(shapes) == 1 else \
            "[" + ", ".join(_format_shape(s) for s in shapes) + "]"
    else:
        return "?"
    shapes = [_format_shape(t.shape) for t in tensors]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _is_chain(model) -> bool:
    """Keras's "sequential-like": no layer with several inputs or outputs, no branches."""
    nodes = getattr(model, "_nodes", None)
    if nodes is None:
        return True
    if len(getattr(model, "inputs", []) or []) > 1:
        return False
    previous = None
    for node in nodes:
        inputs = node.input_tensors
        if len(inputs) != 1 or len(node.output_tensors) != 1:
            return False
        if previous is not None and inputs[0] is not previous:
            return False
        previous = node.output_tensors[0]
    return True


def _connections(model, layer) -> str:
    names = []
    for node in (n for n in model._nodes if n.layer is layer):
        for t in node.input_tensors:
            source = t._source_layer
            inbound = getattr(source, "_inbound_nodes", [])
            index = inbound.index(t._node) if t._node in inbound else 0
            names.append(f"{source.name}[{index}][{t._index}]")
    return ", ".join(names) or "-"


def _params(layer) -> str:
    if not getattr(layer, "built", True):
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _layer_range(layers: list, layer_range) -> list:
    """Layers from the first matching layer_range[0] to the last matching layer_range[1]."""
    if layer_range is None:
        return layers
    if len(layer_range) != 2 or not all(isinstance(n, str) for n in layer_range):
        raise ValueError("summary(): `layer_range` must be two layer names (regular "
                         f"expressions), [first, last]; got {layer_range!r}.")
    lower = [i for i, la in enumerate(layers) if re.match(layer_range[0], la.name)]
    upper = [i for i, la in enumerate(layers) if re.match(layer_range[1], la.name)]
    if not lower or not upper:
        raise ValueError(f"summary(): `layer_range` {list(layer_range)} matches no layer of "
                         f"the model; its layers are {[la.name for la in layers]}.")
    start, stop = min(lower), max(upper) + 1
    if start >= stop:
        start, stop = min(upper), max(lower) + 1
    return layers[start:stop]


def _widths(line_length: int, positions: Sequence[float], header: list[str]) -> list[int]:
    if len(positions) != len(header):
        raise ValueError(f"summary(): `positions` needs one entry per column "
                         f"({', '.join(header)}), got {list(positions)}.")
    absolute = positions[-1] > 1
    ends = [int(p if absolute else p * line_length) for p in positions]
    widths = [end - start for start, end in zip([0] + ends[:-1], ends)]
    for name, width in zip(header, widths):
        if width < 4:
            raise ValueError(f"summary(): column {name!r} would be {width} characters wide "
                             f"with line_length={line_length} and positions="
                             f"{list(positions)}; give a larger line_length.")
    return widths


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` characters, broken at spaces; a longer word is cut (rich
    truncates it with an ellipsis, but the whole name is worth keeping). A nested layer's
    continuation lines keep its indent."""
    indent = " " * len(re.match(f"^ *(?:{NESTED_MARK})?", text).group(0))
    if len(indent) >= width // 2:
        indent = ""
    return textwrap.wrap(text, width, break_on_hyphens=False,
                         subsequent_indent=indent) or [""]


def _row(cells: list[str], widths: list[int], aligns: str) -> list[str]:
    """One table row: each cell wrapped to its column; as many lines as the tallest cell."""
    wrapped = [_wrap(str(c), w - 2) for c, w in zip(cells, widths)]
    height = max(len(w) for w in wrapped)
    out = []
    for i in range(height):
        parts = []
        for lines, width, align in zip(wrapped, widths, aligns):
            text = lines[i] if i < len(lines) else ""
            fit = {"l": text.ljust, "r": text.rjust, "c": text.center}[align](width - 2)
            parts.append(f" {fit} ")
        out.append("".join(parts))
    return out


def summary_lines(model, line_length: int | None = None,
                  positions: Sequence[float] | None = None, expand_nested: bool = False,
                  show_trainable: bool = False, layer_range=None) -> list[str]:
    """The summary as lines (what print_summary prints)."""
    chain = _is_chain(model)
    header = ["Layer (type)", "Output Shape", "Param #"]
    aligns = "llr"
    default_length, default_positions = 88, [0.45, 0.80, 1.0]
    if not chain:
        header.append("Connected to")
        aligns += "l"
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
    if show_trainable:
        header.append("Trainable")
        aligns += "c"
        default_length += 12
        if positions is None:
            default_positions = [p * 0.9 for p in default_positions] + [1.0]
    if positions is not None and show_trainable and len(positions) == len(header) - 1:
        positions = [p * 0.9 for p in positions] + [1.0] if positions[-1] <= 1 else \
            list(positions) + [positions[-1] + 12]
    positions = list(positions if positions is not None else default_positions)
    if line_length is None:
        if positions[-1] > 1:
            line_length = int(positions[-1])
        else:
            line_length = min(default_length, shutil.get_terminal_size().columns - 4)
    widths = _widths(line_length, positions, header)
    line_length = sum(widths)

    def rows_of(container, layer, level: int) -> list[list[str]]:
        prefix = NESTED_INDENT * level + NESTED_MARK if level else ""
        cells = [f"{prefix}{layer.name} ({type(layer).__name__})",
                 _output_shape(container, layer), _params(layer)]
        if not chain:
            cells.append(_connections(container, layer) if level == 0 else "")
        if show_trainable:
            cells.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows = [cells]
        if expand_nested and getattr(layer, "layers", None):
            for inner in layer.layers:
                rows += rows_of(layer, inner, level + 1)
        return rows

    lines = [f'Model: "{model.name}"', "_" * line_length]
    fitted = [h if len(h) <= w - 2 else h[:w - 3] + "…" for h, w in zip(header, widths)]
    lines += _row(fitted, widths, aligns.replace("c", "l"))
    lines.append("=" * line_length)
    chosen = _layer_range(list(model.layers), layer_range)
    host = _host_side(model)
    sections = [(None, chosen)] if not host else [
        (HOST_LINE, [la for la in chosen if id(la) in host]),
        (DEVICE_LINE, [la for la in chosen if id(la) not in host])]
    first = True
    for title, members in sections:
        if title is not None and members:
            if not first:
                lines.append(" " * line_length)
            lines.append(f" {title} ".ljust(line_length, " ")[:line_length])
            first = True
        for layer in members:
            for cells in rows_of(model, layer, 0):
                if not first:
                    lines.append(" " * line_length)
                first = False
                lines += _row(cells, widths, aligns)
    lines.append("=" * line_length)

    trainable, trainable_size = _count(model.trainable_weights)
    frozen, frozen_size = _count(model.non_trainable_weights)
    optimizer = getattr(model, "optimizer", None)
    opt_vars = list(optimizer.variables) if optimizer is not None and \
        getattr(optimizer, "built", False) else []
    opt_count, opt_size = _count(opt_vars)
    total, total_size = trainable + frozen + opt_count, trainable_size + frozen_size + opt_size
    lines += [f" Total params: {total:,} ({readable_size(total_size)})",
              f" Trainable params: {trainable:,} ({readable_size(trainable_size)})",
              f" Non-trainable params: {frozen:,} ({readable_size(frozen_size)})"]
    if opt_vars:
        lines.append(f" Optimizer params: {opt_count:,} ({readable_size(opt_size)})")
    return lines


HOST_LINE = "── on the host (before the compiled step) ──"
DEVICE_LINE = "── on the device (the compiled step) ──"


def _host_side(model) -> set[int]:
    """Ids of the layers that run on the host, before the compiled step (the model's host
    prefix, with the inputs only it reads); empty when the model has no host prefix."""
    from nhanh.training import host_prefix

    plan = host_prefix.plan(model)
    if plan is None or plan.empty:
        return set()
    side = {id(layer) for layer in plan.host_layers}
    device_reads = {id(t) for n in getattr(plan, "device_nodes", []) for t in n.input_tensors}
    for t in getattr(model, "inputs", None) or []:
        if id(t) not in device_reads:
            side.add(id(t._source_layer))
    return side


def print_summary(model, line_length: int | None = None,
                  positions: Sequence[float] | None = None,
                  print_fn: Callable[[str], None] | None = None, expand_nested: bool = False,
                  show_trainable: bool = False, layer_range=None) -> None:
    """Print the table with `print_fn` (default: print), as one string, as Keras does when
    given a print_fn."""
    if not model.built:
        raise ValueError(f"Model {model.name!r} is not built yet: give its first layer an "
                         "input_shape (or start with nhanh.Input), or call it on data (fit, "
                         "predict) before summary().")
    text = "\n".join(summary_lines(model, line_length, positions, expand_nested,
                                   show_trainable, layer_range))
    (print_fn or print)(text)
