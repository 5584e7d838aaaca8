"""SimpleRNN: h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)."""

from __future__ import annotations

from nhanh import ops
from nhanh.layers.rnn import CellRNN
from nhanh.layers.rnn_cell import RecurrentCell


class SimpleRNNCell(RecurrentCell):
    """One step of a fully connected recurrence; the state is the output.

    Args:
        units: Positive int, the size of the state and the output.
        activation: Activation of the output (name or callable); `None` is linear.
        use_bias: Whether the cell has a bias.
        kernel_initializer: Initializer of the input kernel.
        recurrent_initializer: Initializer of the recurrent kernel.
        bias_initializer: Initializer of the bias.
        kernel_regularizer: Regularizer of the input kernel, added to the loss.
        recurrent_regularizer: Regularizer of the recurrent kernel.
        bias_regularizer: Regularizer of the bias.
        kernel_constraint: Constraint applied to the input kernel after each update.
        recurrent_constraint: Constraint applied to the recurrent kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        dropout: Float in [0, 1], fraction of the input units dropped while training (one mask per
            call, the same at every step).
        recurrent_dropout: Float in [0, 1], fraction of the recurrent state units dropped while
            training (one mask per call).
        seed: Int seed for the dropout masks; `None` draws one from the global seed.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    gates = 1

    def _step_function(self, recurrent_masks):
        recurrent_kernel, activation = self.recurrent_kernel.value, self.activation

        def step(x, states):
            h = states[0] if recurrent_masks is None else states[0] * recurrent_masks[0]
            output = activation(x + ops.matmul(h, recurrent_kernel))
            return output, (output,)
        return step


class SimpleRNN(CellRNN):
    """A fully connected RNN whose output is fed back as the next step's state.

    Keras 3's arguments and weights: kernel (features, units), recurrent_kernel (units,
    units), bias (units,). `activation` and `use_bias` may also be given positionally.

    Args:
        units: Positive int, the size of the state and the output.
        activation: Activation of the output (name or callable); `None` is linear.
        use_bias: Whether the cell has a bias.
        kernel_initializer: Initializer of the input kernel.
        recurrent_initializer: Initializer of the recurrent kernel.
        bias_initializer: Initializer of the bias.
        kernel_regularizer: Regularizer of the input kernel, added to the loss.
        recurrent_regularizer: Regularizer of the recurrent kernel.
        bias_regularizer: Regularizer of the bias.
        kernel_constraint: Constraint applied to the input kernel after each update.
        recurrent_constraint: Constraint applied to the recurrent kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        dropout: Float in [0, 1], fraction of the input units dropped while training (one mask per
            call, the same at every step).
        recurrent_dropout: Float in [0, 1], fraction of the recurrent state units dropped while
            training (one mask per call).
        seed: Int seed for the dropout masks; `None` draws one from the global seed.
        return_sequences: If True, return the output of every step (batch, timesteps, units);
            otherwise only the last one (batch, units).
        return_state: If True, return `[output, *final_states]`.
        go_backwards: If True, read the sequence from its end (and return the outputs in that
            reversed order).
        stateful: If True, the last states of each batch are the initial states of the next
            (needs a fixed batch size; `reset_states()` zeros them).
        unroll: Accepted for Keras compatibility and ignored: the loop is always one compiled scan.
        zero_output_for_mask: If True, masked steps output zeros; otherwise they repeat the
            previous output (the states are carried over either way).
        activity_regularizer: Regularizer of the layer's output.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    cell_class = SimpleRNNCell
    cell_name = "simple_rnn_cell"
