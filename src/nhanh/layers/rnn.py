"""The recurrent layer base: RNN(cell) runs a cell over time as one compiled loop (ops.rnn).

Keras's semantics, kept exactly: inputs (batch, timesteps, features); a mask (batch, timesteps)
makes a masked step keep the previous states and output the previous states[0] (zeros when
zero_output_for_mask, which Bidirectional turns on for sequences); go_backwards reads the
sequence from its end and returns the outputs in that (reversed) order; return_state appends
the final states to the outputs, as a list.

stateful=True keeps the final states in non-trainable Variables that are not weights (so
get_weights matches Keras) but are listed in `state_variables`: the compiled fit, evaluate and
predict steps carry them from batch to batch as they carry seed states, with no host round trip.
A list of cells becomes a StackedRNNCells; the loop carries its states flat, and they are
regrouped per cell only where the user sees them (return_state).

The built-in cells (SimpleRNNCell, LSTMCell, GRUCell) derive from RecurrentCell, which lets the
layer project the inputs of every step in one matmul before the loop and draw the dropout masks
once per call (the same masks at every step, as Keras does); LSTM and GRU hand the whole
sequence to a fused op (ops.lstm, ops.gru) when their configuration allows.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from nhanh import initializers, ops, regularizers, tree
from nhanh.layers.layer import InputSpec, Layer, _accepts
from nhanh.layers.rnn_cell import RecurrentCell
from nhanh.variables import Variable
from nhanh.layers.serialization import deserialize, serialize


def _maybe(fn, value):
    return None if value is None else fn(value)


def check_rank(layer: Layer, shape, ndim: int, what: str) -> None:
    """A ValueError naming the layer, the expected rank and the received shape."""
    if len(shape) != ndim:
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) expects inputs of rank "
                         f"{ndim} {what}, but received shape {tuple(shape)}.")


@functools.lru_cache(maxsize=None)
def init_params(cls: type) -> frozenset[str]:
    """The keyword arguments a cell class accepts (its own and its bases')."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is Layer or not issubclass(klass, Layer) or "__init__" not in klass.__dict__:
            continue
        names |= {p.name for p in inspect.signature(klass.__init__).parameters.values()
                  if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"}
    return frozenset(names)


class RNN(Layer):
    """Runs `cell` over the timesteps of (batch, timesteps, ...) inputs.

    Args:
        cell: The cell computing one step: an object with `call(inputs, states)` returning
            `(output, new_states)` and a `state_size` (e.g. an `LSTMCell`, or a Layer subclass), or
            its serialized config. A list of cells runs as one `StackedRNNCells`.
        return_sequences: If True, return the output of every step (batch, timesteps, units);
            otherwise only the last one (batch, units).
        return_state: If True, return `[output, *final_states]`.
        go_backwards: If True, read the sequence from its end (and return the outputs in that
            reversed order).
        stateful: If True, the final states of a batch are the initial states of the next (sample
            i of a batch continues sample i of the previous one); they live in non-trainable
            Variables, so the batch size must be fixed (`Input(shape, batch_size=...)`).
            `reset_states()` zeros them.
        unroll: Accepted for Keras compatibility and ignored: the loop is always one compiled scan.
        zero_output_for_mask: If True, masked steps output zeros; otherwise they repeat the
            previous output (the states are carried over either way).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True
    use_cudnn: Any = "auto"

    def __init__(self, cell, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs):
        if isinstance(cell, dict):
            cell = deserialize(cell)
        if isinstance(cell, (list, tuple)):
            from nhanh.layers.stacked_rnn_cells import StackedRNNCells

            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call") or getattr(cell, "state_size", None) is None:
            raise ValueError(f"RNN needs a cell with a call() method and a `state_size`, got "
                             f"{cell!r}.")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self._state_variables: list[Variable] = []  # the carried states (stateful only)
        self.unroll = bool(unroll)  # accepted for Keras configs; the loop is always one scan
        self.zero_output_for_mask = bool(zero_output_for_mask)
        sizes = cell.state_size
        self.state_size = tree.flatten(list(sizes) if isinstance(sizes, (list, tuple))
                                       else [sizes])
        self.input_spec = InputSpec(min_ndim=3)

    @property
    def _output_size(self) -> int:
        return getattr(self.cell, "output_size", None) or self.state_size[0]

    def build(self, input_shape) -> None:
        builtin = isinstance(self.cell, RecurrentCell)
        if builtin or len(input_shape) < 3:
            check_rank(self, input_shape, 3, "(batch, timesteps, features)")
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._maybe_build((input_shape[0], *input_shape[2:]))
        if builtin:
            self.input_spec = InputSpec(ndim=3, axes={-1: input_shape[-1]})
        if self.stateful:
            self._build_states(input_shape[0])

    def _build_states(self, batch) -> None:
        """The carried states, as non-trainable Variables the training step carries too."""
        if self._state_variables:
            self.reset_states()
            return
        if batch is None:
            raise ValueError(f"Layer {self.name!r} has stateful=True, which needs a fixed batch "
                             "size, but its input shape has batch size None. Give the model "
                             "Input(shape=(timesteps, features), batch_size=batch).")
        self._state_variables = [
            Variable(initializers.get("zeros"), shape=(int(batch), s), dtype=self.dtype,
                     trainable=False, name=f"{self.name}/rnn_state") for s in self.state_size]

    @property
    def states(self) -> list | None:
        """The carried state Variables of a stateful RNN (None before build or if stateless)."""
        return list(self._state_variables) or None

    @property
    def state_variables(self) -> list[Variable]:
        own = super().state_variables
        return own + [v for v in self._state_variables if all(v is not o for o in own)]

    def reset_states(self) -> None:
        """Zero the carried states of a stateful RNN (between independent sequences)."""
        for v in self._state_variables:
            v.assign(ops.zeros(v.shape, v.dtype))

    reset_state = reset_states

    def compute_output_shape(self, input_shape):
        batch = input_shape[0]
        output = (batch, input_shape[1], self._output_size) if self.return_sequences \
            else (batch, self._output_size)
        if self.return_state:
            return [output] + [(batch, s) for s in self.state_size]
        return output

    def compute_mask(self, inputs, mask=None):
        """The input mask for sequences (return_sequences), None for a last output or a state."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    def _initial_states(self, initial_state, batch: int) -> tuple:
        if initial_state is None:
            init = getattr(self.cell, "get_initial_state", None)
            states = init(batch) if init is not None else [
                ops.zeros((batch, s), self.compute_dtype) for s in self.state_size]
            return tuple(tree.flatten(states if isinstance(states, (list, tuple)) else [states]))
        states = tree.flatten(list(initial_state) if isinstance(initial_state, (list, tuple))
                              else [initial_state])
        if len(states) != len(self.state_size):
            raise ValueError(f"Layer {self.name!r} has {len(self.state_size)} state(s) of sizes "
                             f"{self.state_size}, but initial_state has {len(states)} tensor(s).")
        return tuple(ops.convert_to_tensor(s, self.compute_dtype) for s in states)

    def _loop(self, sequences, states: tuple, mask, training: bool):
        """(last_output, outputs, final states), by the fused op when possible."""
        cell = self.cell
        if isinstance(cell, RecurrentCell):
            if self.use_cudnn is not False:
                result = cell.fused(sequences, states, mask, training, self.go_backwards,
                                    self.zero_output_for_mask)
                if result is not None:
                    return result
                if self.use_cudnn is True:
                    raise ValueError(
                        f"Layer {self.name!r} has use_cudnn=True, but its configuration has no "
                        "fused kernel (that needs activation='tanh', recurrent_activation="
                        "'sigmoid', no recurrent_dropout while training, and reset_after=True "
                        "for GRU). Pass use_cudnn='auto' to use the general loop.")
            xs, step = cell.sequence_step(sequences, training)
        else:
            kwargs = {"training": training} if _accepts(type(cell).call, "training") else {}

            def step(x, states):
                output, new = cell.call(x, list(states), **kwargs)
                return output, tuple(tree.flatten(new if isinstance(new, (list, tuple))
                                                  else [new]))
            xs = sequences
        return ops.rnn(step, xs, states, mask=mask, go_backwards=self.go_backwards,
                       zero_output_for_mask=self.zero_output_for_mask)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            mask = ops.cast(mask, "bool")
        batch = ops.shape(sequences)[0]
        carried = self._state_variables
        if carried and batch is not None and batch != carried[0].shape[0]:
            raise ValueError(f"Layer {self.name!r} has stateful=True with batch size "
                             f"{carried[0].shape[0]}, but received a batch of {batch}. Feed "
                             "batches of that size (drop or pad the last one).")
        if carried and initial_state is None:
            initial_state = [v.value for v in carried]
        states = self._initial_states(initial_state, batch)
        last, outputs, states = self._loop(sequences, states, mask, bool(training))
        for v, state in zip(carried, states):
            v.assign(state)
        output = outputs if self.return_sequences else last
        return [output, *self._nest(states)] if self.return_state else output

    def _nest(self, states) -> list:
        """The final states as Keras returns them: grouped per cell for StackedRNNCells."""
        nest = getattr(self.cell, "nest", None)
        return nest(states) if callable(nest) else list(states)

    def _rnn_config(self) -> dict:
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}

    def get_config(self) -> dict:
        return {**super().get_config(), **self._rnn_config(),
                "cell": serialize(self.cell)}


class CellRNN(RNN):
    """An RNN built around one of the built-in cells: SimpleRNN, LSTM and GRU. The cell's
    arguments are the layer's own; its weights appear as the layer's (Keras's order)."""

    cell_class: type = RecurrentCell
    cell_name: str = "cell"

    def __init__(self, units: int, *args, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, zero_output_for_mask: bool = False, **kwargs):
        params = init_params(self.cell_class)
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in params}
        cell = self.cell_class(units, *args, name=self.cell_name, dtype=kwargs.get("dtype"),
                               trainable=kwargs.get("trainable", True), **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def __getattr__(self, name: str):
        """Keras's read-only views of the cell's arguments: layer.units, layer.dropout, ..."""
        cell = self.__dict__.get("cell")
        if cell is not None and name in init_params(type(cell)) | {"units"}:
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self) -> dict:
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype", "batch_input_shape"):
            cell_config.pop(key, None)
        return {**Layer.get_config(self), **cell_config, **self._rnn_config(),
                "activity_regularizer": _maybe(regularizers.serialize, self.activity_regularizer)}
