"""Model: a Layer that trains. Subclass it and write call(), or use Sequential."""

from __future__ import annotations

from nhanh.layers.layer import Layer
from nhanh.models.summary import print_summary
from nhanh.training.trainer import Trainer


class Model(Trainer, Layer):
    """A Layer that trains. `Model(inputs, outputs)` builds a functional model; subclass it
    (layers as attributes in __init__, computation in call()) for anything else.

    Args:
        *args: `Model(inputs, outputs)` only: see `Functional` for these arguments.
        **kwargs: `inputs`, `outputs`, `name`, `trainable` (functional form), or the
            base-layer keywords (`name`, `trainable`, `dtype`, ...) in a subclass.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from nhanh.models.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __setattr__(self, name, value):
        from nhanh.metrics import Metric

        if isinstance(value, Metric):  # metrics set as attributes join model.metrics
            tracked = self.__dict__.setdefault("_tracked_metrics", [])
            if value not in tracked:
                tracked.append(value)
        super().__setattr__(name, value)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            # A subclass whose __init__ ends in super().__init__(inputs, outputs) is a
            # functional model with methods of its own, as in Keras.
            from nhanh.models.functional import Functional

            if not _looks_functional(args, kwargs):
                raise TypeError(
                    f"{type(self).__name__}.__init__ passed Model.__init__ positional "
                    f"arguments {args!r}; Model takes only (inputs, outputs) from nhanh.Input "
                    "tensors, or keywords (name=, trainable=, ...). Keep your own arguments "
                    "in your __init__ and call super().__init__() without them.")
            _make_functional(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        """Build by running the model once on placeholder inputs of this shape."""
        if self.built:
            return
        self._build_input_shape = tuple(input_shape)
        self.built = True  # so that shape inference below does not try to build again
        try:
            Layer.compute_output_shape(self, tuple(input_shape))
        except Exception:
            self.built = False
            raise

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Print the layer table (Keras 3's columns and arguments); see models/summary.py."""
        print_summary(self, line_length, positions, print_fn, expand_nested, show_trainable,
                      layer_range)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer of this model by name, or by index in `layers` (negative from the end)."""
        layers = self.layers
        if (name is None) == (index is None):
            raise ValueError(f"get_layer() takes a layer name or an index, exactly one of "
                             f"them; got name={name!r}, index={index!r}.")
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Model {self.name!r} has {len(layers)} layers; no index "
                                 f"{index}.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r} in model {self.name!r}; layers: "
                         f"{[layer.name for layer in layers]}.")

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict) -> "Model":
        if cls is Model and "input_layers" in config:
            from nhanh.models.functional import Functional

            return Functional.from_config(config)
        return super().from_config(config)


def _looks_functional(args: tuple, kwargs: dict) -> bool:
    """Whether Model.__init__'s arguments are (inputs, outputs) symbolic tensors."""
    from nhanh.layers.symbolic import SymbolicTensor, flatten

    given = list(args[:2]) + [kwargs[k] for k in ("inputs", "outputs") if k in kwargs]
    leaves = flatten(given)
    return len(given) == 2 and bool(leaves) and \
        all(isinstance(t, SymbolicTensor) for t in leaves)


def _make_functional(cls: type) -> None:
    """Put Functional where Model is among the bases of `cls` and of the classes between it
    and Model, so every instance of `cls` is a functional model (Keras does the same)."""
    from nhanh.models.functional import Functional

    if issubclass(cls, Functional):
        return
    for klass in cls.__mro__:
        if Model in klass.__bases__:
            klass.__bases__ = tuple(Functional if b is Model else b for b in klass.__bases__)
