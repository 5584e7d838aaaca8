"""Symbolic tensors and the nodes that connect them: the graph of the functional API.

Calling a layer on a SymbolicTensor computes no numbers: it builds the layer for the input
shapes, infers the output shapes, and records a Node (layer, arguments, outputs). A functional
Model replays its nodes in order on real arrays.
"""

from __future__ import annotations

from typing import Any, Callable

from nhanh import backend as _backend


class SymbolicTensor:
    """A placeholder with a shape and dtype, produced by Input() or by a layer's symbolic call.

    Also `nhanh.KerasTensor`, Keras's name for it.

    Args:
        shape: Tuple of ints, `None` for an unknown size (the batch axis).
        dtype: Dtype name.
        node: The layer call that produced it (None for an Input).
        index: Which of that call's outputs it is.
        name: Name of the tensor.
        source_layer: The layer it came from (defaults to the node's layer).
    """

    def __init__(self, shape: tuple, dtype: str, node: "Node | None" = None, index: int = 0,
                 name: str | None = None, source_layer=None):
        self.shape, self.dtype, self.name = tuple(shape), dtype, name
        self._node, self._index = node, index
        self._source_layer = source_layer if source_layer is not None else \
            (node.layer if node is not None else None)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One call of a layer in a graph: its arguments (with symbolic tensors) and outputs."""

    def __init__(self, layer, args: tuple, kwargs: dict, outputs):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs

    @property
    def input_tensors(self) -> list[SymbolicTensor]:
        return [t for t in flatten((self.args, self.kwargs)) if isinstance(t, SymbolicTensor)]

    @property
    def output_tensors(self) -> list[SymbolicTensor]:
        return flatten(self.outputs)


def flatten(structure) -> list:
    """The leaves of nested lists, tuples and dicts, in order."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in flatten(structure[key])]
    return [structure]


def map_structure(fn: Callable, structure):
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def is_symbolic(structure) -> bool:
    return any(isinstance(t, SymbolicTensor) for t in flatten(structure))


def infer_shapes(fn: Callable, structure, dtype_of: Callable[[Any], str]):
    """Output shapes of fn(structure) where structure's leaves are shapes (tuples of ints/None).

    Unknown dims are probed at two sizes; output dims that follow them become None.
    """
    leaves: list = []

    def collect(shape):
        leaves.append(shape)
        return len(leaves) - 1

    template = map_structure_shapes(collect, structure)
    specs = [(shape, dtype_of(shape)) for shape in leaves]

    def call(*arrays):
        # Assignments made while tracing (a SeedGenerator's draw, a moving statistic) are
        # recorded by the scope and dropped: shape inference must not leak traced values.
        from nhanh.variables import StatelessScope

        scope = StatelessScope()
        scope.allows_new_variables = True  # layers first called here build here
        with scope:
            return fn(map_structure_shapes(lambda i: arrays[i], template))

    backend = _backend.get()
    first = backend.eval_shape(call, specs, probe=2)
    if not any(d is None for s in leaves for d in s):
        return first
    second = backend.eval_shape(call, specs, probe=3)
    return _merge(first, second)


def map_structure_shapes(fn: Callable, structure):
    """Like map_structure, but a tuple of ints/None is one leaf (a shape), not a sequence."""
    if is_shape(structure):
        return fn(structure)
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure_shapes(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure_shapes(fn, v) for k, v in structure.items()}
    return fn(structure)


def is_shape(x) -> bool:
    return isinstance(x, tuple) and all(d is None or isinstance(d, int) for d in x)


def _merge(a, b):
    if is_shape(a):
        return tuple(x if x == y else None for x, y in zip(a, b))
    if isinstance(a, (list, tuple)):
        return type(a)(_merge(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: _merge(a[k], b[k]) for k in a}
    return a
