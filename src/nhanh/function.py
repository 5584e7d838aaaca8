"""Keras's `Operation` (a computation callable on arrays and on symbolic tensors) and
`Function` (a graph of them from inputs to outputs, callable on arrays).

nhanh's graphs are made of layers (layers/symbolic.py records each call as a Node), so an
Operation is a weightless Layer: called on arrays it runs `call`; called on symbolic tensors
it infers the output shape and joins the graph, so Operations and layers mix in one Function
or Model. A Function is the graph part of a functional Model, without training or saving.
"""

from __future__ import annotations

from nhanh.layers.layer import Layer
from nhanh.layers.symbolic import SymbolicTensor, map_structure


class Operation(Layer):
    """Base class of a stateless computation: subclass it and define `call(*args)`.

    Args:
        name: Name of the operation; `None` derives a unique one from the class name.
    """

    def __init__(self, name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)

    def compute_output_spec(self, *args, **kwargs):
        """Symbolic outputs of a call on symbolic tensors (shape and dtype, no numbers)."""
        return self(*args, **kwargs)


class Function:
    """The computation from `inputs` to `outputs` (symbolic tensors), callable on arrays.

    Args:
        inputs: `nhanh.Input` tensors, in a list, dict or other structure; calls take
            arrays in the same structure.
        outputs: Symbolic tensors computed from `inputs` by layers or Operations.
        name: Name of the function.
    """

    def __init__(self, inputs, outputs, name: str | None = None):
        from nhanh.models.functional import Functional

        self._graph = Functional(inputs, outputs, name=name)
        self.name = self._graph.name
        self._inputs_struct, self._outputs_struct = inputs, outputs

    @property
    def inputs(self) -> list:
        return list(self._graph.inputs)

    @property
    def outputs(self) -> list:
        return list(self._graph.outputs)

    @property
    def operations(self) -> list:
        """The layers and Operations of the graph, inputs first, in call order."""
        return list(self._graph.layers)

    def __call__(self, inputs):
        """Run the graph on arrays (or symbolic tensors, giving new symbolic outputs)."""
        return self._graph(inputs)

    def compute_output_spec(self, inputs):
        """The outputs' shapes and dtypes for inputs of the given shapes, as symbolic tensors."""
        shapes = map_structure(
            lambda t: t.shape if isinstance(t, SymbolicTensor) else tuple(t), inputs)
        out = self._graph.compute_output_shape(shapes)
        return map_structure(lambda s: SymbolicTensor(s, self._graph.dtype), out) \
            if not isinstance(out, tuple) or not all(isinstance(d, (int, type(None)))
                                                      for d in out) \
            else SymbolicTensor(out, self._graph.dtype)

    def __repr__(self) -> str:
        return f"<Function {self.name}: {len(self.inputs)} input(s), " \
               f"{len(self.outputs)} output(s)>"
