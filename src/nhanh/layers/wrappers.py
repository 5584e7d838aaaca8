"""Layer wrappers: Bidirectional (an RNN read both ways) and TimeDistributed (a layer per step)."""

from __future__ import annotations

from nhanh import ops
from nhanh.layers.layer import InputSpec, Layer
from nhanh.layers.rnn import CellRNN, check_rank
from nhanh.layers.serialization import deserialize, serialize

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _recreate(layer: Layer, **changes) -> Layer:
    """A fresh copy of `layer` from its config (no weights shared), with some arguments changed."""
    config = {**layer.get_config(), **changes}
    cell = getattr(layer, "cell", None)
    if "cell" in config and cell is not None:
        config["cell"] = type(cell).from_config(cell.get_config())
    return type(layer).from_config(config)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, and merges their outputs.

    merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None for a list [forward, backward].
    The backward outputs are flipped back to the input's time order before merging. Weights:
    the forward layer's, then the backward layer's (Keras's order). With a mask and
    return_sequences, masked steps output zeros (Keras forces zero_output_for_mask there).

    Args:
        layer: The recurrent layer to run forwards; the wrapper builds fresh copies of it from its
            config (its weights are not shared or reused).
        merge_mode: How to combine the two outputs: `"concat"`, `"sum"`, `"mul"`, `"ave"`, or
            `None` to return both as a list.
        weights: Initial weights (a list, forward layer's first), set when the layer is built.
        backward_layer: The layer to run backwards, with `go_backwards` opposite to `layer`'s and
            the same `return_sequences` and `return_state`; `None` copies `layer` with
            `go_backwards=True`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights=None,
                 backward_layer: Layer | None = None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional needs a recurrent layer instance, got {layer!r}.")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional `backward_layer` must be a layer instance, got "
                             f"{backward_layer!r}.")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional `merge_mode` must be one of {_MERGE_MODES}, got "
                             f"{merge_mode!r}.")
        super().__init__(**kwargs)
        if self._batch_input_shape is None:  # Bidirectional(LSTM(8, input_shape=(5, 3)))
            self._batch_input_shape = layer._batch_input_shape
        self.forward_layer = _recreate(layer, name=f"forward_{_strip(layer.name, 'forward_')}")
        self.backward_layer = backward_layer if backward_layer is not None else _recreate(
            layer, go_backwards=True, name=f"backward_{_strip(layer.name, 'backward_')}")
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError("Bidirectional: the forward and backward layers must have different "
                             f"`go_backwards`, both have {forward.go_backwards}.")
        for attr in ("return_sequences", "return_state"):
            if getattr(forward, attr) != getattr(backward, attr):
                raise ValueError(f"Bidirectional: the forward and backward layers must agree on "
                                 f"`{attr}`, got {getattr(forward, attr)} and "
                                 f"{getattr(backward, attr)}.")
        for sub in (forward, backward):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = forward.return_sequences
        self.return_state = forward.return_state
        self.stateful = False
        self._initial_weights = weights

    def build(self, input_shape) -> None:
        if isinstance(self.forward_layer, CellRNN):
            check_rank(self, input_shape, 3, "(batch, timesteps, features)")
            self.input_spec = InputSpec(ndim=3, axes={-1: input_shape[-1]})
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            self.set_weights(weights)

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return ops.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return [y, y_rev]

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {"training": training}
        if mask is not None:
            kwargs["mask"] = mask
        forward_kwargs, backward_kwargs = dict(kwargs), dict(kwargs)
        if initial_state is not None:  # the forward layer's states, then the backward layer's
            half = len(initial_state) // 2
            forward_kwargs["initial_state"] = list(initial_state[:half])
            backward_kwargs["initial_state"] = list(initial_state[half:])
        y = self.forward_layer(sequences, **forward_kwargs)
        y_rev = self.backward_layer(sequences, **backward_kwargs)
        states: list = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        output = self._merge(y, y_rev)
        if self.return_state:
            return (output if self.merge_mode is None else [output]) + states
        return output

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states: list = []
        if self.return_state:
            shape, states = tuple(shape[0]), [tuple(s) for s in shape[1:]]
        shape = tuple(shape)
        if self.merge_mode == "concat":
            shape = (*shape[:-1], None if shape[-1] is None else 2 * shape[-1])
        outputs = [shape, shape] if self.merge_mode is None else [shape]
        if self.return_state:
            return outputs + states + states
        return outputs if self.merge_mode is None else shape

    def compute_mask(self, inputs, mask=None):
        """The input mask for merged sequences (twice with merge_mode=None); None for states."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            masks += [None] * (2 * len(getattr(self.forward_layer, "state_size", [])))
        return masks if len(masks) > 1 else masks[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize(self.forward_layer),
                "backward_layer": serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config: dict) -> "Bidirectional":
        config = dict(config)
        config["layer"] = deserialize(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize(config["backward_layer"])
        return cls(**config)


class TimeDistributed(Layer):
    """Applies `layer` to every timestep of (batch, timesteps, ...) inputs, with shared weights.

    The timesteps are folded into the batch (one call on (batch * timesteps, ...)) rather than
    looped over, so a Dense or Conv runs as one big op; the same result for any layer that
    treats samples independently (Keras loops over steps, which differs only for layers that
    mix the batch, like BatchNormalization while training).

    Args:
        layer: The layer applied to each timestep (one instance, so its weights are shared).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, layer: Layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed needs a layer instance, got {layer!r}.")
        super().__init__(**kwargs)
        self.layer = layer
        if self._batch_input_shape is None and layer._batch_input_shape is not None:
            self._batch_input_shape = (None, *layer._batch_input_shape)

    def _check(self, input_shape) -> None:
        if len(input_shape) < 3:
            raise ValueError(f"Layer {self.name!r} (TimeDistributed) expects inputs of rank >= 3 "
                             f"(batch, timesteps, ...), but received shape {tuple(input_shape)}.")

    def build(self, input_shape) -> None:
        self._check(input_shape)
        step_shape = (input_shape[0], *input_shape[2:])
        self.layer._maybe_build(step_shape)
        if self.layer.input_spec is not None:
            self.layer.input_spec.check(self.layer, step_shape)

    def call(self, inputs, training=None, mask=None):
        shape = ops.shape(inputs)
        self._check(shape)
        batch, steps = shape[0], shape[1]
        kwargs = {"training": training}
        if mask is not None:
            mask_shape = ops.shape(mask)
            if tuple(mask_shape[:2]) != (batch, steps):
                raise ValueError(f"Layer {self.name!r} (TimeDistributed): the mask's shape "
                                 f"{tuple(mask_shape)} does not start with the inputs' (batch, "
                                 f"timesteps) = {(batch, steps)}.")
            kwargs["mask"] = ops.reshape(mask, (batch * steps, *mask_shape[2:]))
        outputs = self.layer(ops.reshape(inputs, (batch * steps, *shape[2:])), **kwargs)
        return ops.reshape(outputs, (batch, steps, *ops.shape(outputs)[1:]))

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        child = tuple(self.layer.compute_output_shape((input_shape[0], *input_shape[2:])))
        return (child[0], input_shape[1], *child[1:])

    def get_config(self) -> dict:
        return {**super().get_config(),
                "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config: dict) -> "TimeDistributed":
        config = dict(config)
        config["layer"] = deserialize(config["layer"])
        return cls(**config)
