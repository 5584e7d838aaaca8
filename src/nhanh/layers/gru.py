"""GRU (Cho et al. 2014) with Keras's weight layout: gates z, r, h."""

from __future__ import annotations

from nhanh import activations, ops
from nhanh.layers.rnn import CellRNN
from nhanh.layers.rnn_cell import RecurrentCell, gated_matmul


class GRUCell(RecurrentCell):
    """One GRU step; the state is the output h.

    reset_after=True (Keras 3's default, cuDNN's and PyTorch's form) applies the reset gate
    after the recurrent matmul and keeps a separate recurrent bias: bias (2, 3*units).

    Args:
        units: Positive int, the size of the state and the output.
        activation: Activation of the candidate (name or callable); `None` is linear.
        recurrent_activation: Activation of the gates (name or callable).
        use_bias: Whether the cell has a bias.
        reset_after: If True (Keras 3's default), apply the reset gate after the recurrent matmul,
            with a separate recurrent bias; False is the original GRU form.
        implementation: 2 (one dropout mask shared by the gates' inputs) or 1 (one mask per gate,
            as Keras's mode 1); forced to 1 when `recurrent_dropout` is set. The results are
            otherwise the same.
        **kwargs: The shared cell arguments (`kernel_initializer`, `recurrent_initializer`,
            `bias_initializer`, `*_regularizer`, `*_constraint`, `dropout`, `recurrent_dropout`,
            `seed`; as for `GRU`) and base-layer keywords.
    """

    gates = 3

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, *, reset_after: bool = True, implementation: int = 2,
                 **kwargs):
        super().__init__(units, activation, use_bias, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.implementation = 1 if self.recurrent_dropout else int(implementation)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        return self.bias.value[0] if self.reset_after else self.bias.value

    def _input_mask_count(self) -> int:
        return 3 if self.implementation == 1 else 1

    def _recurrent_mask_count(self) -> int:
        return 3

    def _step_function(self, recurrent_masks):
        units, recurrent_kernel = self.units, self.recurrent_kernel.value
        recurrent_bias = self.bias.value[1] if self.use_bias and self.reset_after else None
        activation, recurrent_activation = self.activation, self.recurrent_activation
        masks = recurrent_masks or [None] * 3

        def step(x, states):
            h = states[0]
            x_z, x_r, x_h = ops.split(x, 3, axis=-1)
            if self.reset_after:
                inner = gated_matmul(h, recurrent_kernel, recurrent_masks)
                if recurrent_bias is not None:
                    inner = inner + recurrent_bias
                r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
            else:
                inner = gated_matmul(h, recurrent_kernel[:, :2 * units],
                                     None if recurrent_masks is None else masks[:2])
                r_z, r_r = ops.split(inner, 2, axis=-1)
            z = recurrent_activation(x_z + r_z)
            r = recurrent_activation(x_r + r_r)
            if self.reset_after:
                candidate = activation(x_h + r * r_h)
            else:
                h_h = h if masks[2] is None else h * masks[2]
                candidate = activation(x_h + ops.matmul(r * h_h, recurrent_kernel[:, 2 * units:]))
            h = z * h + (1 - z) * candidate
            return h, (h,)
        return step

    def _fusable(self, training: bool) -> bool:
        dropping = training and 0.0 < self.dropout < 1.0
        return (self.reset_after and self.activation is activations.tanh
                and self.recurrent_activation is activations.sigmoid
                and not (training and 0.0 < self.recurrent_dropout < 1.0)
                and not (dropping and self._input_mask_count() > 1))

    def fused(self, sequences, states, mask, training, go_backwards, zero_output_for_mask):
        if not self._fusable(training):
            return None
        outputs, h = ops.gru(self.drop_inputs(sequences, training), states[0], self.kernel,
                             self.recurrent_kernel, self.bias, mask=mask,
                             go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask)
        return outputs[:, -1], outputs, (h,)

    def get_config(self) -> dict:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


class GRU(CellRNN):
    """Gated recurrent unit layer, Keras 3's arguments, defaults and weights.

    Weights: kernel (features, 3u), recurrent_kernel (u, 3u), bias (2, 3u) (or (3u,) with
    reset_after=False), gates z, r, h. With tanh / sigmoid, reset_after=True and no recurrent
    dropout while training, the sequence goes to the fused ops.gru (PyTorch's GRU kernel on the
    torch backend, its gates reordered to r, z, n). `activation`, `recurrent_activation` and
    `use_bias` may also be given positionally.

    Args:
        units: Positive int, the size of the state and the output.
        activation: Activation of the candidate (name or callable); `None` is linear.
        recurrent_activation: Activation of the gates (name or callable).
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
        reset_after: If True (Keras 3's default), apply the reset gate after the recurrent matmul,
            with a separate recurrent bias; False is the original GRU form.
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

    cell_class = GRUCell
    cell_name = "gru_cell"

    def __init__(self, units: int, *args, use_cudnn="auto", **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"GRU `use_cudnn` must be 'auto', True or False, got {use_cudnn!r}.")
        super().__init__(units, *args, **kwargs)
        self.use_cudnn = use_cudnn

    def get_config(self) -> dict:
        return {**super().get_config(), "use_cudnn": self.use_cudnn}
