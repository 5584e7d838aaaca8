"""RecurrentCell: what the built-in cells (SimpleRNNCell, LSTMCell, GRUCell) share.

A cell computes one step; the RNN layer runs it over time. A built-in cell also splits a step
into the part that does not depend on the state (the input projection and input dropout, done for
every step at once before the loop) and the part that does (the step function inside the loop),
and draws its dropout masks once per call, the same at every step, as Keras does.
"""

from __future__ import annotations

from typing import Any

from nhanh import activations, constraints, initializers, ops, random, regularizers
from nhanh.layers.layer import Layer


def _maybe(fn, value):
    return None if value is None else fn(value)


def weights_config(cell) -> dict:
    """The config entries every gated cell shares (the LSTM/GRU/SimpleRNN cells, ConvLSTM's):
    its three weights' initializers, regularizers and constraints, dropouts and seed."""
    config = {}
    for weight in ("kernel", "recurrent", "bias"):
        config[f"{weight}_initializer"] = initializers.serialize(
            getattr(cell, f"{weight}_initializer"))
    for weight in ("kernel", "recurrent", "bias"):
        config[f"{weight}_regularizer"] = _maybe(regularizers.serialize,
                                                 getattr(cell, f"{weight}_regularizer"))
    for weight in ("kernel", "recurrent", "bias"):
        config[f"{weight}_constraint"] = _maybe(constraints.serialize,
                                                getattr(cell, f"{weight}_constraint"))
    return {**config, "dropout": cell.dropout, "recurrent_dropout": cell.recurrent_dropout,
            "seed": cell.seed}


class RecurrentCell(Layer):
    """What the built-in cells share: Keras's kernel (input_dim, gates*units), recurrent_kernel
    (units, gates*units) and bias, and dropout masks that stay the same across the steps."""

    gates = 1  # blocks of `units` on the kernels' last axis

    def __init__(self, units: int, activation="tanh", use_bias: bool = True, *,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{type(self).__name__} `units` must be a positive integer, got "
                             f"{units!r}.")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))  # clipped to [0, 1] as in Keras
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed, name=f"{self.name}/seed_generator")
        self.state_size: Any = units
        self.output_size = units

    # --- weights ---------------------------------------------------------------------------
    def _bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape) -> None:
        size = self.gates * self.units
        self.kernel = self.add_weight((input_shape[-1], size), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(
            (self.units, size), self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = self.add_weight(self._bias_shape(), self._bias_initializer(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None

    # --- dropout ---------------------------------------------------------------------------
    def _input_mask_count(self) -> int:
        return 1

    def _recurrent_mask_count(self) -> int:
        return 1

    def _dropout_masks(self, batch: int, size: int, rate: float, count: int, training: bool):
        """`count` scaled keep-masks (batch, size), or None outside training (Keras: 0<rate<1)."""
        if not (training and 0.0 < rate < 1.0):
            return None
        ones = ops.ones((batch, size), self.compute_dtype)
        return [random.dropout(ones, rate, seed=self.seed_generator) for _ in range(count)]

    def drop_inputs(self, sequences, training: bool):
        """Sequences times one input-dropout mask shared by all steps (for the fused ops)."""
        masks = self._dropout_masks(ops.shape(sequences)[0], ops.shape(sequences)[-1],
                                    self.dropout, 1, training)
        return sequences if masks is None else sequences * ops.expand_dims(masks[0], 1)

    # --- the loop's pieces -----------------------------------------------------------------
    def _input_bias(self):
        return self.bias.value

    def sequence_step(self, sequences, training: bool):
        """(inputs of every step, step function): everything that does not depend on the state
        (input projection, input dropout, mask draws) is done once here, outside the loop."""
        batch, size = ops.shape(sequences)[0], ops.shape(sequences)[-1]
        in_masks = self._dropout_masks(batch, size, self.dropout, self._input_mask_count(),
                                       training)
        rec_masks = self._dropout_masks(batch, self.units, self.recurrent_dropout,
                                        self._recurrent_mask_count(), training)
        if in_masks is not None:
            in_masks = [ops.expand_dims(m, 1) for m in in_masks]
        xs = gated_matmul(sequences, self.kernel.value, in_masks)
        if self.use_bias:
            xs = xs + self._input_bias()
        return xs, self._step_function(rec_masks)

    def _step_function(self, recurrent_masks):
        raise NotImplementedError

    def fused(self, sequences, states, mask, training, go_backwards, zero_output_for_mask):
        """(last_output, outputs, states) from a fused op, or None where it does not apply."""
        return None

    def call(self, inputs, states, training=False):
        """One step, Keras's cell API: (output, new states) for inputs (batch, features)."""
        single = not isinstance(states, (list, tuple))
        states = tuple(ops.convert_to_tensor(s, self.compute_dtype) for s in
                       ((states,) if single else states))
        xs, step = self.sequence_step(ops.expand_dims(inputs, 1), bool(training))
        output, new = step(xs[:, 0], states)
        return output, (new[0] if single else list(new))

    def get_initial_state(self, batch_size: int):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [
            self.state_size]
        return [ops.zeros((batch_size, s), self.compute_dtype) for s in sizes]

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weights_config(self)}


def gated_matmul(x, kernel, masks):
    """x @ kernel, with x multiplied by one dropout mask per block of the kernel's columns."""
    if masks is None:
        return ops.matmul(x, kernel)
    if len(masks) == 1:
        return ops.matmul(x * masks[0], kernel)
    blocks = ops.split(kernel, len(masks), axis=1)
    return ops.concatenate([ops.matmul(x * m, k) for m, k in zip(masks, blocks)], axis=-1)
