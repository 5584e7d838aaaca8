"""Model: a Layer that trains. Subclass it and write call(), or use Sequential."""

from __future__ import annotations

from nhanh.layers.layer import Layer
from nhanh.models.summary import print_summary
from nhanh.training.trainer import Trainer


class Model(Trainer, Layer):
    """Subclassing API: set layers as attributes in __init__, compute in call()."""

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise NotImplementedError(
                "The functional API, Model(inputs, outputs), is not available yet; use "
                "Sequential or subclass Model.")
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

    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs) -> None:
        if not self.built:
            raise ValueError(f"Model {self.name!r} is not built yet: give its first layer an "
                             "input_shape, or call it on data (fit, predict) before summary().")
        rows = [(layer.name, type(layer).__name__, "?", layer.count_params())
                for layer in self.layers]
        print_summary(self, rows, line_length, print_fn)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}
