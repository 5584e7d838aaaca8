"""SimpleRNN: h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)."""

from __future__ import annotations

from nhanh import ops
from nhanh.layers.rnn import CellRNN
from nhanh.layers.rnn_cell import RecurrentCell


class SimpleRNNCell(RecurrentCell):
    """One step of a fully connected recurrence; the state is the output."""

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

    SimpleRNN(units, activation='tanh', use_bias=True, kernel_initializer='glorot_uniform',
    recurrent_initializer='orthogonal', bias_initializer='zeros', *_regularizer, *_constraint,
    dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
    go_backwards=False, stateful=False, unroll=False): Keras 3's arguments and weights
    (kernel (features, units), recurrent_kernel (units, units), bias (units,)).
    """

    cell_class = SimpleRNNCell
    cell_name = "simple_rnn_cell"
