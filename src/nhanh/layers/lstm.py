"""LSTM (Hochreiter & Schmidhuber 1997) with Keras's weight layout: gates i, f, c, o."""

from __future__ import annotations

from nhanh import activations, ops
from nhanh.layers.rnn import CellRNN
from nhanh.layers.rnn_cell import RecurrentCell, gated_matmul



def forget_gate_bias(base, units: int):
    """The initializer of an LSTM's (i, f, c, o) bias with `unit_forget_bias`: `base` for the
    gates, ones for the forget gate (a forget gate near 1 remembers at first)."""

    def forget_gate_ones(shape, dtype=None):
        return ops.concatenate([ops.convert_to_tensor(base((units,), dtype=dtype)),
                                ops.ones((units,), dtype=dtype),
                                ops.convert_to_tensor(base((2 * units,), dtype=dtype))])
    return forget_gate_ones

class LSTMCell(RecurrentCell):
    """One LSTM step; states [h, c], output h.

    Args:
        units: Positive int, the size of the state and the output.
        activation: Activation of the candidate and the output (name or callable); `None` is
            linear.
        recurrent_activation: Activation of the gates (name or callable).
        use_bias: Whether the cell has a bias.
        unit_forget_bias: If True, add 1 to the forget gate's initial bias (the cell starts by
            remembering), as Keras does.
        implementation: 2 (one dropout mask shared by the gates' inputs) or 1 (one mask per gate,
            as Keras's mode 1); forced to 1 when `recurrent_dropout` is set. The results are
            otherwise the same.
        **kwargs: The shared cell arguments (`kernel_initializer`, `recurrent_initializer`,
            `bias_initializer`, `*_regularizer`, `*_constraint`, `dropout`, `recurrent_dropout`,
            `seed`; as for `LSTM`) and base-layer keywords.
    """

    gates = 4

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, *, unit_forget_bias: bool = True,
                 implementation: int = 2, **kwargs):
        super().__init__(units, activation, use_bias, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        # Keras: recurrent dropout (or implementation=1) gives each gate its own dropout masks.
        self.implementation = 1 if self.recurrent_dropout else int(implementation)
        self.state_size = [units, units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return forget_gate_bias(self.bias_initializer, self.units)

    def _input_mask_count(self) -> int:
        return 4 if self.implementation == 1 else 1

    def _recurrent_mask_count(self) -> int:
        return 4

    def _step_function(self, recurrent_masks):
        recurrent_kernel = self.recurrent_kernel.value
        activation, recurrent_activation = self.activation, self.recurrent_activation

        def step(x, states):
            h, c = states
            i, f, g, o = ops.split(x + gated_matmul(h, recurrent_kernel, recurrent_masks), 4,
                                   axis=-1)
            c = recurrent_activation(f) * c + recurrent_activation(i) * activation(g)
            h = recurrent_activation(o) * activation(c)
            return h, (h, c)
        return step

    def _fusable(self, training: bool) -> bool:
        dropping = training and 0.0 < self.dropout < 1.0
        return (self.activation is activations.tanh
                and self.recurrent_activation is activations.sigmoid
                and not (training and 0.0 < self.recurrent_dropout < 1.0)
                and not (dropping and self._input_mask_count() > 1))

    def fused(self, sequences, states, mask, training, go_backwards, zero_output_for_mask):
        if not self._fusable(training):
            return None
        outputs, h, c = ops.lstm(self.drop_inputs(sequences, training), states[0], states[1],
                                 self.kernel, self.recurrent_kernel, self.bias, mask=mask,
                                 go_backwards=go_backwards,
                                 zero_output_for_mask=zero_output_for_mask)
        return outputs[:, -1], outputs, (h, c)

    def get_config(self) -> dict:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class LSTM(CellRNN):
    """Long short-term memory layer, Keras 3's arguments, defaults and weights.

    Weights: kernel (features, 4u), recurrent_kernel (u, 4u), bias (4u,), gates i, f, c, o.
    With tanh / sigmoid and no recurrent dropout while training, the whole sequence goes to the
    fused ops.lstm (PyTorch's own LSTM kernel on the torch backend); use_cudnn=False forces the
    general loop, use_cudnn=True makes a configuration without the fused kernel an error.
    `activation`, `recurrent_activation` and `use_bias` may also be given positionally.

    Args:
        units: Positive int, the size of the state and the output.
        activation: Activation of the candidate and the output (name or callable); `None` is
            linear.
        recurrent_activation: Activation of the gates (name or callable).
        use_bias: Whether the cell has a bias.
        kernel_initializer: Initializer of the input kernel.
        recurrent_initializer: Initializer of the recurrent kernel.
        bias_initializer: Initializer of the bias.
        unit_forget_bias: If True, add 1 to the forget gate's initial bias (the cell starts by
            remembering), as Keras does.
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
        implementation: 2 (one dropout mask shared by the gates' inputs) or 1 (one mask per gate,
            as Keras's mode 1); forced to 1 when `recurrent_dropout` is set. The results are
            otherwise the same.
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
        use_cudnn: `"auto"` uses the fused kernel (see above) when the configuration allows,
            `False` always runs the general loop, `True` raises when the fused kernel cannot be
            used.
        activity_regularizer: Regularizer of the layer's output.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    cell_class = LSTMCell
    cell_name = "lstm_cell"

    def __init__(self, units: int, *args, use_cudnn="auto", **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"LSTM `use_cudnn` must be 'auto', True or False, got "
                             f"{use_cudnn!r}.")
        super().__init__(units, *args, **kwargs)
        self.use_cudnn = use_cudnn

    def get_config(self) -> dict:
        return {**super().get_config(), "use_cudnn": self.use_cudnn}
