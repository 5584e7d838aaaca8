"""The functional API: Model(inputs, outputs) over a graph of layer calls."""

from __future__ import annotations

import copy

from nhanh.layers.input_layer import InputLayer
from nhanh.layers.layer import Layer
from nhanh.layers.symbolic import Node, SymbolicTensor, flatten, map_structure
from nhanh.models.model import Model
from nhanh.training import host_prefix


def _check_tensors(structure, what: str) -> None:
    for t in flatten(structure):
        if not isinstance(t, SymbolicTensor):
            raise TypeError(f"Model {what} must be symbolic tensors (from nhanh.Input or from "
                            f"calling layers on them), got {type(t).__name__}: {t!r}.")


def _topological_nodes(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> list[Node]:
    """The nodes between inputs and outputs, each after the nodes it depends on."""
    input_ids = {id(t) for t in inputs}
    ordered: list[Node] = []
    state: dict[int, str] = {}

    def visit(tensor: SymbolicTensor, path: list[str]) -> None:
        if id(tensor) in input_ids:
            return
        node = tensor._node
        if node is None:
            raise ValueError(
                f"Output tensor depends on input {tensor.name!r}, which is not among the model's "
                "inputs. Pass every Input the outputs need in Model(inputs=[...]).")
        if state.get(id(node)) == "done":
            return
        for t in node.input_tensors:
            visit(t, path + [node.layer.name])
        state[id(node)] = "done"
        ordered.append(node)

    for t in outputs:
        visit(t, [])
    return ordered


class Functional(Model):
    """A model defined by connecting layers from Input tensors to output tensors.

    Usually made as `Model(inputs, outputs)`.

    Args:
        inputs: The model's `Input` tensor, or a list / dict / nested structure of them; calls to
            the model take data in the same structure.
        outputs: The tensor(s) computed from `inputs` by calling layers, in the structure the model
            returns.
        name: Name of the model; `None` derives a unique one.
        trainable: Whether the model's weights are updated by training.
    """

    _convert_input_args = False  # each layer casts its own inputs (as Keras)

    def __init__(self, inputs, outputs, name: str | None = None, trainable: bool = True):
        _check_tensors(inputs, "inputs")
        _check_tensors(outputs, "outputs")
        Layer.__init__(self, name=name, trainable=trainable)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs, self.outputs = flatten(inputs), flatten(outputs)
        for t in self.inputs:
            if not isinstance(t._source_layer, InputLayer) or t._node is not None:
                raise ValueError(f"Model inputs must come from nhanh.Input(); {t!r} is the "
                                 "output of a layer.")
        self._nodes = _topological_nodes(self.inputs, self.outputs)
        self._input_layers = [t._source_layer for t in self.inputs]
        for layer in self._input_layers + [n.layer for n in self._nodes]:
            if layer not in self._layers:
                self._layers.append(layer)
        names = [layer.name for layer in self._layers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"Layer names must be unique within a model; {duplicates} repeat.")
        self._build_input_shape = map_structure(lambda t: t.shape, inputs)
        self.built = True

    # --- running the graph -----------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(host_prefix.to_boundary(self, inputs), *args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        values, masks, nodes = {}, {}, self._nodes
        if host_prefix.is_fed(inputs):  # the host layers already ran (training/host_prefix.py)
            plan = host_prefix.plan(self)
            values, nodes = plan.seed(inputs), plan.device_nodes
            masks = dict.fromkeys(values)
        else:
            for t, value in zip(self.inputs, self._match_inputs(inputs)):
                values[id(t)], masks[id(t)] = value, None
        if mask is not None and not host_prefix.is_fed(inputs):
            for t, m in zip(self.inputs, flatten(mask)):
                masks[id(t)] = m
        for node in nodes:
            def real(x):
                return values[id(x)] if isinstance(x, SymbolicTensor) else x

            args = map_structure(real, node.args)
            kwargs = map_structure(real, node.kwargs)
            in_masks = map_structure(
                lambda x: masks.get(id(x)) if isinstance(x, SymbolicTensor) else None,
                node.args[0])
            in_mask = None if all(m is None for m in flatten(in_masks)) else in_masks
            out = node.layer(*args, training=training, mask=in_mask, **kwargs)
            out_mask = node.layer.compute_mask(args[0], in_mask)
            out_masks = out_mask if isinstance(out_mask, (list, tuple)) and \
                isinstance(out, (list, tuple)) else [out_mask] * len(flatten(out))
            for t, value, m in zip(node.output_tensors, flatten(out), out_masks):
                values[id(t)], masks[id(t)] = value, m
        return map_structure(lambda t: values[id(t)], self._outputs_struct)

    def _match_inputs(self, inputs) -> list:
        if isinstance(inputs, dict):
            names = [layer.name for layer in self._input_layers]
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"Model {self.name!r} expects inputs named {names}; "
                                 f"missing {missing}.")
            return [inputs[n] for n in names]
        flat = flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model {self.name!r} expects {len(self.inputs)} input(s), "
                             f"got {len(flat)}.")
        return flat

    def compute_output_shape(self, input_shape):
        return map_structure(lambda t: t.shape, self._outputs_struct)

    # --- introspection ---------------------------------------------------------------------
    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        if self._inbound_nodes:
            return Layer.output.fget(self)
        return self._outputs_struct

    @property
    def input_shape(self):
        return self._build_input_shape

    @property
    def output_shape(self):
        return map_structure(lambda t: t.shape, self._outputs_struct)

    @property
    def output_names(self) -> list[str]:
        if isinstance(self._outputs_struct, dict):
            return list(self._outputs_struct)
        return [t._node.layer.name if t._node else t.name for t in self.outputs]

    # --- configuration ---------------------------------------------------------------------
    def get_config(self) -> dict:
        if _own_constructor(type(self)):  # a subclass made with its own arguments (as Keras)
            return Model.get_config(self)
        node_index: dict[int, tuple[str, int]] = {}
        per_layer: dict[str, list] = {}
        for node in self._nodes:
            per_layer.setdefault(node.layer.name, []).append(node)
            node_index[id(node)] = (node.layer.name, len(per_layer[node.layer.name]) - 1)

        def ref(t):
            if not isinstance(t, SymbolicTensor):
                return t
            if t._node is None:
                return {"__tensor__": [t._source_layer.name, 0, 0]}
            name, index = node_index[id(t._node)]
            return {"__tensor__": [name, index, t._index]}

        layers = []
        for layer in self.layers:
            layers.append({
                "class_name": type(layer).__name__, "name": layer.name,
                "config": copy.deepcopy(layer.get_config()),
                "inbound_nodes": [{"args": map_structure(ref, list(n.args)),
                                   "kwargs": map_structure(ref, n.kwargs)}
                                  for n in per_layer.get(layer.name, [])]})
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": map_structure(ref, self._inputs_struct),
                "output_layers": map_structure(ref, self._outputs_struct)}

    @classmethod
    def from_config(cls, config: dict) -> "Functional":
        from nhanh.models.serialization import deserialize_layer

        layers = {entry["name"]: deserialize_layer(entry) for entry in config["layers"]}
        outputs_of: dict[tuple[str, int], object] = {}
        for name, layer in layers.items():
            if isinstance(layer, InputLayer):
                outputs_of[(name, 0)] = layer.output
        pending = [(entry["name"], i, node) for entry in config["layers"]
                   for i, node in enumerate(entry["inbound_nodes"])]

        def resolve(x):
            if isinstance(x, dict) and "__tensor__" in x:
                name, index, tensor_index = x["__tensor__"]
                out = outputs_of[(name, index)]
                return flatten(out)[tensor_index] if isinstance(out, list) else out
            return x

        def ready(x):
            return not (isinstance(x, dict) and "__tensor__" in x) or \
                tuple(x["__tensor__"][:2]) in outputs_of

        while pending:
            progress = False
            for item in list(pending):
                name, index, node = item
                if all(ready(x) for x in _leaves(node)):
                    args = _map_refs(resolve, node["args"])
                    kwargs = _map_refs(resolve, node["kwargs"])
                    outputs_of[(name, index)] = layers[name](*args, **kwargs)
                    pending.remove(item)
                    progress = True
            if not progress:
                raise ValueError("The model config has nodes whose inputs never appear.")
        return cls(_map_refs(resolve, config["input_layers"]),
                   _map_refs(resolve, config["output_layers"]), name=config.get("name"),
                   trainable=config.get("trainable", True))


def _own_constructor(cls: type) -> bool:
    """Whether cls.__init__ takes other arguments than Functional's, so that the graph config
    could not rebuild it through cls(inputs, outputs)."""
    import inspect

    def names(fn):
        return [p.name for p in inspect.signature(fn).parameters.values()][1:]

    return names(cls.__init__) != names(Functional.__init__)


def _leaves(node: dict) -> list:
    out = []

    def walk(x):
        if isinstance(x, dict) and "__tensor__" in x:
            out.append(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    walk(node["args"])
    walk(node["kwargs"])
    return out


def _map_refs(fn, x):
    if isinstance(x, dict) and "__tensor__" in x:
        return fn(x)
    if isinstance(x, dict):
        return {k: _map_refs(fn, v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_map_refs(fn, v) for v in x)
    return x
