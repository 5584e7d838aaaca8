"""Sequential: a plain stack of layers, each feeding the next."""

from __future__ import annotations

from nhanh.layers.input_layer import InputLayer
from nhanh.layers.layer import Layer
from nhanh.layers.serialization import deserialize
from nhanh.layers.symbolic import SymbolicTensor
from nhanh.models.model import Model
from nhanh.training import host_prefix


class Sequential(Model):
    """Layers applied in order. Built at once when the first layer knows its input shape,
    otherwise from the first data it sees.

    Args:
        layers: List of layers to add in order; the first may be an `Input` (or its `InputLayer`)
            declaring the input shape. `None` starts empty (see `add`).
        trainable: Whether the model's weights are updated by training.
        name: Name of the model; `None` derives a unique one.
    """

    _convert_input_args = False  # each layer casts its own inputs (as Keras)

    def __init__(self, layers=None, trainable: bool = True, name: str | None = None):
        Layer.__init__(self, trainable=trainable, name=name)
        self._input_layer: InputLayer | None = None
        self._stack: list[Layer] = []
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build_from_declared_shape()

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def add(self, layer, rebuild: bool = True) -> None:
        """Append a layer (or an Input)."""
        if isinstance(layer, SymbolicTensor):
            layer = layer._source_layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError("An Input can only be the first element of a Sequential model.")
            self._input_layer = layer
        elif isinstance(layer, Layer):
            if layer in self._stack:
                raise ValueError(f"Layer {layer.name!r} is already in model {self.name!r}.")
            names = {lay.name for lay in self._stack}
            if layer.name in names:
                raise ValueError(f"Model {self.name!r} already has a layer named {layer.name!r}; "
                                 "layer names must be unique within a model.")
            self._stack.append(layer)
            self._layers.append(layer)
        else:
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}: "
                            f"{layer!r}.")
        self.built = False
        self._steps = None
        if rebuild:
            self._maybe_build_from_declared_shape()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise TypeError(f"There are no layers in model {self.name!r} to pop.")
        layer = self._stack.pop()
        self._layers.remove(layer)
        self.built = False
        self._steps = None
        self._maybe_build_from_declared_shape()
        return layer

    def _declared_input_shape(self):
        if self._input_layer is not None:
            return self._input_layer._batch_input_shape
        if self._stack and self._stack[0]._batch_input_shape is not None:
            return self._stack[0]._batch_input_shape
        return None

    def _maybe_build_from_declared_shape(self) -> None:
        shape = self._declared_input_shape()
        if shape is not None and self._stack:
            self.build(shape)

    def build(self, input_shape=None) -> None:
        """Build every layer in turn, inferring each output shape."""
        if input_shape is None:
            input_shape = self._declared_input_shape()
        if input_shape is None:
            raise ValueError(f"Model {self.name!r} cannot be built without an input shape.")
        input_layer = self._input_layer
        if input_layer is None or input_layer._batch_input_shape != tuple(input_shape):
            input_layer = InputLayer(batch_input_shape=tuple(input_shape))
        x = self._symbolic_input = input_layer.output
        self._layer_output_shapes = []
        for layer in self._stack:  # a symbolic pass builds each layer and infers its shape
            x = layer(x)
            self._layer_output_shapes.append(x.shape)
        self._symbolic_output = x
        self._build_input_shape = tuple(input_shape)
        self.built = True

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(host_prefix.to_boundary(self, inputs), *args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        x, stack = inputs, self._stack
        if host_prefix.is_fed(inputs):  # the host layers already ran (training/host_prefix.py)
            x, stack = inputs[f"{host_prefix.KEY}0"], host_prefix.plan(self).device_layers(stack)
        for layer in stack:
            y = layer(x, training=training, mask=mask)
            mask = layer.compute_mask(x, mask)
            x = y
        return x

    def compute_output_shape(self, input_shape):
        if not self.built:
            self.build(input_shape)
        shape, stack = input_shape, self._stack
        if host_prefix.is_fed(input_shape):  # shapes after the host layers (host_prefix.py)
            shape = input_shape[f"{host_prefix.KEY}0"]
            stack = host_prefix.plan(self).device_layers(stack)
        shape = tuple(shape)
        for layer in stack:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    @property
    def input_shape(self):
        if self._build_input_shape is not None:
            return self._build_input_shape
        declared = self._declared_input_shape()
        if declared is None:
            raise AttributeError(f"Model {self.name!r} has no input shape yet: it is not built.")
        return declared

    @property
    def output_shape(self):
        return self.compute_output_shape(self.input_shape)

    @property
    def input(self) -> SymbolicTensor:
        if not self.built:
            raise AttributeError(f"Model {self.name!r} is not built, so it has no input yet.")
        return self._symbolic_input

    @property
    def output(self) -> SymbolicTensor:
        if self._inbound_nodes:
            return Layer.output.fget(self)
        if not self.built:
            raise AttributeError(f"Model {self.name!r} is not built, so it has no output yet.")
        return self._symbolic_output

    @property
    def inputs(self) -> list[SymbolicTensor]:
        """[the input tensor] once built, as in Keras: `Model(seq.inputs, layer.output)`
        extracts features."""
        if not self.built:
            raise AttributeError(f"Sequential model {self.name!r} has no defined inputs yet: "
                                 "give it an Input (or input_shape=) or build it first.")
        return [self._symbolic_input]

    @property
    def outputs(self) -> list[SymbolicTensor]:
        """[the last layer's output tensor] once built."""
        if not self.built:
            raise AttributeError(f"Sequential model {self.name!r} has no defined outputs yet: "
                                 "give it an Input (or input_shape=) or build it first.")
        return [self._symbolic_output]

    def get_config(self) -> dict:
        """Keras 3's Sequential config: each layer as serialize_keras_object writes it, the
        InputLayer first when there is one."""
        from nhanh.saving.serialization_lib import serialize_keras_object

        layers = [self._input_layer] if self._input_layer is not None else []
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": serialize_keras_object(self.dtype_policy),
                  "layers": [serialize_keras_object(layer) for layer in layers + self._stack]}
        if self.built:
            config["build_input_shape"] = self._build_input_shape
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in config["layers"]:
            model.add(deserialize(layer_config), rebuild=False)
        if config.get("build_input_shape") is not None:
            model.build(config["build_input_shape"])
        else:
            model._maybe_build_from_declared_shape()
        return model
