"""StackedRNNCells: several cells run as one, each step feeding the next cell's input.

The states keep Keras's nesting (one entry per cell: a tensor, or a list for a cell with several
states such as LSTMCell), so `state_size`, `get_initial_state` and `call` read as in Keras. The RNN
layer carries them flat inside its loop; `call` accepts both the nested and the flat form, so the
loop needs no special case.
"""

from __future__ import annotations

from typing import Any

from nhanh import ops, tree
from nhanh.layers.layer import Layer, _accepts
from nhanh.layers.serialization import deserialize, serialize


def _as_list(cell) -> bool:
    """Whether Keras hands this cell's states around as a list: when its state_size is one, or
    its get_initial_state makes one (as every built-in cell's does)."""
    return isinstance(cell.state_size, (list, tuple)) or hasattr(cell, "get_initial_state")


def _sizes(cell) -> list:
    """A cell's state sizes as a list (Keras allows an int for a single state)."""
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


class StackedRNNCells(Layer):
    """Wraps a list of RNN cells so that `RNN` runs them as one cell, bottom to top.

    Args:
        cells: List of cell instances (each with `call(inputs, states)` and a `state_size`, e.g.
            `LSTMCell(8)`); cell i+1 reads cell i's output at the same step.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells: `cells` must be a non-empty list of RNN cells, "
                             f"got {cells!r}.")
        for cell in cells:
            if not hasattr(cell, "call") or getattr(cell, "state_size", None) is None:
                raise ValueError("StackedRNNCells: every cell needs a `call` method and a "
                                 f"`state_size` attribute, got {cell!r}; pass cells such as "
                                 "LSTMCell(8).")
        self.cells = list(cells)

    @property
    def state_size(self) -> list:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        last = self.cells[-1]
        return getattr(last, "output_size", None) or _sizes(last)[0]

    def build(self, input_shape) -> None:
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell._maybe_build(shape)
            shape = (shape[0], getattr(cell, "output_size", None) or _sizes(cell)[0])

    def get_initial_state(self, batch_size: int) -> list:
        """One entry per cell, nested as its state_size: a tensor or a list of tensors."""
        states = []
        for cell in self.cells:
            init = getattr(cell, "get_initial_state", None)
            value = init(batch_size) if init is not None else [
                ops.zeros((batch_size, s), self.compute_dtype) for s in _sizes(cell)]
            value = list(value) if isinstance(value, (list, tuple)) else [value]
            states.append(value if _as_list(cell) else value[0])
        return states

    def nest(self, flat) -> list:
        """Flat state tensors grouped per cell, as Keras returns them (a list per cell)."""
        return [list(s) if _as_list(c) else s[0] for c, s in zip(self.cells, self._split(flat))]

    def _split(self, states) -> list[list]:
        """Per-cell lists of state tensors, from the nested or the flat form."""
        flat = tree.flatten(list(states) if isinstance(states, (list, tuple)) else [states])
        counts = [len(_sizes(c)) for c in self.cells]
        if len(flat) != sum(counts):
            raise ValueError(f"Layer {self.name!r} (StackedRNNCells) has {sum(counts)} state "
                             f"tensor(s) (state_size {self.state_size}), but received "
                             f"{len(flat)}.")
        out, start = [], 0
        for n in counts:
            out.append(flat[start:start + n])
            start += n
        return out

    def call(self, inputs, states, training=False) -> tuple[Any, list]:
        """(output of the top cell, new states grouped per cell as in Keras)."""
        new_states = []
        for cell, cell_states in zip(self.cells, self._split(states)):
            kwargs = {"training": training} if _accepts(type(cell).call, "training") else {}
            inputs, new = cell.call(inputs, list(cell_states), **kwargs)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            new_states.append(new if _as_list(cell) else new[0])
        return inputs, new_states

    def get_config(self) -> dict:
        return {**super().get_config(),
                "cells": [serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict) -> "StackedRNNCells":

        config = dict(config)
        cells = [c if isinstance(c, Layer) else deserialize(c)
                 for c in config.pop("cells")]
        return cls(cells, **config)
