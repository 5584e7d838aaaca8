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

    def export(self, filepath, format: str = "onnx", verbose: bool | None = None,
               input_signature=None, **kwargs) -> str:
        """Write the model's inference to one file that runs without nhanh (see nhanh.export).

        Args:
            filepath: The file to write (written whole or not at all).
            format: "onnx" (onnxruntime), "jax_export" (jax.export.deserialize) or
                "torch_export" / Keras's "torch" (torch.export.load; a .pt2 path).
            verbose: Print where the file went (None: yes).
            input_signature: None for the model's inputs, else tensors / InputSpecs with a
                shape and dtype, or (shape, dtype) pairs; the batch axis stays free.
            **kwargs: `opset_version` (onnx), `platforms` (jax_export), or
                torch.export.export's options (torch_export).

        Returns:
            The path written.
        """
        from nhanh.export import export_model

        return export_model(self, filepath, format=format, verbose=verbose,
                            input_signature=input_signature, **kwargs)

    # --- saving (nhanh/saving: Keras 3's files) --------------------------------------------
    def save(self, filepath, overwrite: bool = True, zipped: bool | None = None,
             **kwargs) -> None:
        """Write the model (config, weights, optimizer state) to a `.keras` file."""
        from nhanh.saving.saving_lib import save_model

        save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite: bool = True, max_shard_size=None) -> None:
        """Write the weights and optimizer state to a `.weights.h5` file (Keras's layout)."""
        from nhanh.saving.saving_lib import save_weights

        if max_shard_size is not None:
            raise ValueError("nhanh writes weights in one file; max_shard_size is not "
                             "supported.")
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch: bool = False, **kwargs) -> None:
        """Read a `.weights.h5` or `.keras` file's weights into this model: all of them or,
        on any mismatch, none (unless `skip_mismatch`, which skips what does not fit)."""
        from nhanh.saving.saving_lib import load_weights

        if kwargs:
            raise TypeError(f"load_weights got unexpected argument(s) {sorted(kwargs)}.")
        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def to_json(self, **kwargs) -> str:
        """The model's config (no weights) as Keras 3's JSON; `model_from_json` reads it."""
        import json

        from nhanh.saving.serialization_lib import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def get_compile_config(self) -> dict | None:
        """compile()'s arguments as Keras writes them in `compile_config`; None when the
        model is not compiled."""
        from nhanh.saving.serialization_lib import serialize_keras_object

        args = getattr(self, "_compile_args", None)
        if not self.compiled or args is None:
            return None
        if args["steps_per_execution"] == "auto":  # Keras reads only numbers here; a .keras
            args = {**args, "steps_per_execution": 1}  # file keeps "auto" in its metadata
        return serialize_keras_object(args)

    def compile_from_config(self, config: dict) -> None:
        """compile() again from `get_compile_config()`'s dict (Keras's too), and build the
        optimizer so that its saved state can be loaded."""
        from nhanh.saving.serialization_lib import _deserialize

        config = {k: _deserialize(v) for k, v in config.items()}
        known = ("optimizer", "loss", "metrics", "loss_weights", "weighted_metrics",
                 "run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss")
        self.compile(**{k: v for k, v in config.items() if k in known})
        if self.built:
            self.optimizer.build(self.trainable_variables)

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
