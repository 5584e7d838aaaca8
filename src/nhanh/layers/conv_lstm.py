"""ConvLSTM1D / 2D / 3D (Shi et al. 2015): an LSTM whose input and recurrent transforms are
convolutions, with Keras 3's arguments, weights and gate order (i, f, c, o).

The loop is the RNN layer's (ops.rnn: one compiled scan, masks, go_backwards, stateful states
carried by fit); the cell only splits a step as the built-in cells do: the input convolution of
every step runs once, as one batched conv over (batch * time) frames before the loop, and only
the recurrent convolution ('same', stride 1, so the state keeps its spatial shape) runs inside
it. Dropout draws one mask per gate per call (Keras's four masks, the same at every step).
"""

from __future__ import annotations

from nhanh import activations, constraints, initializers, ops, random, regularizers
from nhanh.layers.conv import (
    conv_output_length, normalize_data_format, normalize_padding, normalize_tuple,
)
from nhanh.layers.layer import InputSpec, Layer
from nhanh.layers.lstm import forget_gate_bias
from nhanh.layers.rnn_cell import weights_config
from nhanh.layers.rnn import RNN, CellRNN, check_rank
from nhanh.variables import Variable


_COMMON_ARGS = """\
        filters: Positive int, the output channels.
        kernel_size: Int or tuple, the window of both convolutions.
        strides: Int or tuple, the input convolution's strides (not with dilation_rate > 1).
        padding: `"valid"` or `"same"`, of the input convolution (the recurrent one is 'same').
        data_format: `"channels_last"` or `"channels_first"`; None is the configured default.
        dilation_rate: Int or tuple, of the input convolution.
        activation: Of the candidate and the output (default tanh).
        recurrent_activation: Of the gates (default sigmoid).
        use_bias: Whether the layer has a bias.
        kernel_initializer: Initializer of the input kernel.
        recurrent_initializer: Initializer of the recurrent kernel.
        bias_initializer: Initializer of the bias.
        unit_forget_bias: Add 1 to the forget gate's initial bias (the cell starts remembering).
        kernel_regularizer: Regularizer of the input kernel, added to the loss.
        recurrent_regularizer: Regularizer of the recurrent kernel.
        bias_regularizer: Regularizer of the bias.
        kernel_constraint: Constraint applied to the input kernel after each update.
        recurrent_constraint: Constraint applied to the recurrent kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        dropout: Fraction of the inputs dropped while training (a mask per gate, per call).
        recurrent_dropout: Fraction of the recurrent state dropped while training.
        seed: Int seed of the dropout masks; None draws one.
"""

_ARGS = "\n\n    Args:\n" + _COMMON_ARGS + """\
        activity_regularizer: Regularizer of the layer's output.
        return_sequences: Return every step's output, not only the last.
        return_state: Return `[output, h, c]`.
        go_backwards: Read the sequence from its end (outputs in that reversed order).
        stateful: Carry the final states to the next batch (needs a fixed batch size;
            `reset_states()` zeros them).
        unroll: Accepted for Keras compatibility; the loop is always one compiled scan.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """


class ConvLSTMCell(Layer):
    __doc__ = """One ConvLSTM step: states [h, c], output h, each (batch, *out_spatial, filters)
    (channels first: (batch, filters, *out_spatial)).

    Args:
        rank: 1, 2 or 3, the number of spatial axes.
""" + _COMMON_ARGS + """        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, rank: int, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias: bool = True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if rank not in (1, 2, 3):
            raise ValueError(f"ConvLSTMCell `rank` must be 1, 2 or 3, got {rank!r}.")
        if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"ConvLSTM `filters` must be a positive integer, got {filters!r}.")
        self.rank, self.filters = rank, filters
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = normalize_tuple(strides, rank, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"ConvLSTM cannot combine strides > 1 with dilation_rate > 1, got "
                             f"strides={self.strides} and dilation_rate={self.dilation_rate}. "
                             "Set one of them to 1.")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed, name=f"{self.name}/seed_generator")
        self.state_size = [filters, filters]  # channels; the full shape is `state_shape`
        self.output_size = filters
        self.spatial_dims: tuple | None = None

    # --- shapes ----------------------------------------------------------------------------
    @property
    def _channel_axis(self) -> int:
        """The channel axis of one step's tensors (batch, ...)."""
        return -1 if self.data_format == "channels_last" else 1

    @property
    def state_shape(self) -> tuple:
        """One state's shape without the batch axis (known once built)."""
        spatial = tuple(conv_output_length(n, k, s, d, self.padding) for n, k, s, d in zip(
            self.spatial_dims, self.kernel_size, self.strides, self.dilation_rate))
        if self.data_format == "channels_last":
            return (*spatial, self.filters)
        return (self.filters, *spatial)

    def build(self, input_shape) -> None:
        """`input_shape` is one step's: (batch, *spatial, channels) or channels first."""
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects steps of rank "
                             f"{self.rank + 2} (batch, {self.rank} spatial axes, channels), but "
                             f"received shape {input_shape}.")
        last = self.data_format == "channels_last"
        spatial = input_shape[1:-1] if last else input_shape[2:]
        channels = input_shape[-1] if last else input_shape[1]
        if None in spatial or channels is None:
            raise ValueError(f"ConvLSTM needs known spatial and channel sizes, but received "
                             f"input shape {input_shape}. Give the Input its full shape "
                             "(only the batch and time axes may be None).")
        self.spatial_dims, self.input_dim = tuple(spatial), channels
        size = 4 * self.filters
        self.kernel = self.add_weight((*self.kernel_size, channels, size),
                                      self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            (*self.kernel_size, self.filters, size), self.recurrent_initializer,
            name="recurrent_kernel", regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        self.bias = self.add_weight((size,), self._bias_initializer(), name="bias",
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return forget_gate_bias(self.bias_initializer, self.filters)

    # --- the loop's pieces -----------------------------------------------------------------
    def _masks(self, like_shape, rate: float, training: bool):
        """Four scaled keep-masks shaped like one step's tensor, or None (Keras: 0<rate<1)."""
        if not (training and 0.0 < rate < 1.0):
            return None
        ones = ops.ones(like_shape, self.compute_dtype)
        return [random.dropout(ones, rate, seed=self.seed_generator) for _ in range(4)]

    def _gated_conv(self, x, kernel, masks, **conv_args):
        """conv(x, kernel), x times a different dropout mask for each gate's block of filters."""
        if masks is None:
            return ops.conv(x, kernel, data_format=self.data_format, **conv_args)
        blocks = ops.split(kernel, 4, axis=-1)
        return ops.concatenate([ops.conv(x * m, k, data_format=self.data_format, **conv_args)
                                for m, k in zip(masks, blocks)], axis=self._channel_axis)

    def sequence_step(self, sequences, training: bool):
        """(input convolutions of every step (batch, time, ...), step function)."""
        shape = tuple(ops.shape(sequences))
        steps = shape[1]
        frames = ops.reshape(sequences, (-1, *shape[2:]))  # (batch * time, ...)
        masks = self._masks((shape[0], *shape[2:]), self.dropout, training)
        if masks is not None:  # the same mask at every step of a sample
            masks = [ops.reshape(ops.repeat(ops.expand_dims(m, 1), steps, axis=1),
                                 (-1, *shape[2:])) for m in masks]
        xs = self._gated_conv(frames, self.kernel.value, masks, strides=self.strides,
                              padding=self.padding, dilation_rate=self.dilation_rate)
        if self.use_bias:
            bias = self.bias.value
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (-1,) + (1,) * self.rank)
            xs = xs + bias
        xs = ops.reshape(xs, (-1, steps, *tuple(ops.shape(xs))[1:]))
        rec_masks = self._masks((shape[0], *self.state_shape), self.recurrent_dropout, training)
        recurrent_kernel = self.recurrent_kernel.value
        activation, gate = self.activation, self.recurrent_activation
        axis = self._channel_axis

        def step(x, states):
            h, c = states
            z = x + self._gated_conv(h, recurrent_kernel, rec_masks, padding="same")
            i, f, g, o = ops.split(z, 4, axis=axis)
            c = gate(f) * c + gate(i) * activation(g)
            h = gate(o) * activation(c)
            return h, (h, c)
        return xs, step

    def call(self, inputs, states, training=False):
        """One step, Keras's cell API: (h, [h, c]) for inputs (batch, *spatial, channels)."""
        states = tuple(ops.convert_to_tensor(s, self.compute_dtype) for s in states)
        xs, step = self.sequence_step(ops.expand_dims(inputs, 1), bool(training))
        output, new = step(xs[:, 0], states)
        return output, list(new)

    def get_initial_state(self, batch_size: int):
        return [ops.zeros((batch_size, *self.state_shape), self.compute_dtype) for _ in range(2)]

    def get_config(self) -> dict:
        return {**super().get_config(), "rank": self.rank, "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias, "unit_forget_bias": self.unit_forget_bias,
                **weights_config(self)}


class ConvLSTM(CellRNN):
    """The ConvLSTM layers' base: a ConvLSTMCell run over (batch, time, ...) by the RNN loop.
    The cell's arguments are the layer's own (layer.filters, ...), its weights the layer's."""

    rank: int = 2

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias: bool = True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, **kwargs):
        kwargs.pop("rank", None)  # a config from get_config of the cell's layout
        cell = ConvLSTMCell(
            self.rank, filters, kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate, activation=activation,
            recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
            name="conv_lstm_cell", dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True))
        RNN.__init__(self, cell, return_sequences=return_sequences, return_state=return_state,
                     go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                     activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def build(self, input_shape) -> None:
        check_rank(self, input_shape, self.rank + 3,
                   f"(batch, time, {self.rank} spatial axes, channels)")
        if not self.cell.built:
            self.cell._maybe_build((input_shape[0], *input_shape[2:]))
        self.input_spec = InputSpec(ndim=self.rank + 3, axes={
            i: n for i, n in enumerate(input_shape) if i >= 2 and n is not None})
        if self.stateful:
            self._build_states(input_shape[0])

    def _build_states(self, batch) -> None:
        if self._state_variables:
            self.reset_states()
            return
        if batch is None:
            raise ValueError(f"Layer {self.name!r} has stateful=True, which needs a fixed batch "
                             "size, but its input shape has batch size None. Give the model "
                             "Input(shape=(time, ...), batch_size=batch).")
        self._state_variables = [
            Variable(initializers.get("zeros"), shape=(int(batch), *self.cell.state_shape),
                     dtype=self.dtype, trainable=False, name=f"{self.name}/rnn_state")
            for _ in range(2)]

    def _loop(self, sequences, states: tuple, mask, training: bool):
        xs, step = self.cell.sequence_step(sequences, training)
        return ops.rnn(step, xs, states, mask=mask, go_backwards=self.go_backwards,
                       zero_output_for_mask=self.zero_output_for_mask)

    def compute_output_shape(self, input_shape):
        if not self.cell.built:
            self.cell.spatial_dims = tuple(input_shape[3:] if self.cell.data_format ==
                                           "channels_first" else input_shape[2:-1])
        batch, state = input_shape[0], self.cell.state_shape
        output = (batch, input_shape[1], *state) if self.return_sequences else (batch, *state)
        return [output, (batch, *state), (batch, *state)] if self.return_state else output

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("rank", None)
        return config


class ConvLSTM1D(ConvLSTM):
    __doc__ = """1-D convolutional LSTM: inputs (batch, time, steps, channels) (channels_last) or
    (batch, time, channels, steps); outputs (batch, [time,] new_steps, filters) or channels
    first. Keras 3's weights: kernel (k, channels, 4 * filters), recurrent_kernel
    (k, filters, 4 * filters), bias (4 * filters,), gates i, f, c, o.""" + _ARGS

    rank = 1


class ConvLSTM2D(ConvLSTM):
    __doc__ = """2-D convolutional LSTM: inputs (batch, time, rows, cols, channels)
    (channels_last) or (batch, time, channels, rows, cols). Keras 3's weights: kernel
    (kr, kc, channels, 4 * filters), recurrent_kernel (kr, kc, filters, 4 * filters),
    bias (4 * filters,), gates i, f, c, o.""" + _ARGS

    rank = 2


class ConvLSTM3D(ConvLSTM):
    __doc__ = """3-D convolutional LSTM: inputs (batch, time, d1, d2, d3, channels)
    (channels_last) or (batch, time, channels, d1, d2, d3). Keras 3's weights: kernel
    (*k, channels, 4 * filters), recurrent_kernel (*k, filters, 4 * filters),
    bias (4 * filters,), gates i, f, c, o.""" + _ARGS

    rank = 3
