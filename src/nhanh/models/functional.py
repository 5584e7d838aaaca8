"""The functional API: Model(inputs, outputs) over a graph of layer calls."""

from __future__ import annotations

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
        for layer in _keras_layer_order(self.inputs, outputs):
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
        """Keras 3's functional config: each layer's config with its calls ("inbound_nodes",
        tensors as `__keras_tensor__` with their `keras_history`), and the input and output
        tensors as [layer name, node index, tensor index]."""
        from nhanh.saving.serialization_lib import serialize_keras_object

        if _own_constructor(type(self)):  # a subclass made with its own arguments (as Keras)
            return Model.get_config(self)
        index_of: dict[int, int] = {}
        per_layer: dict[int, list] = {}
        for node in self._nodes:
            calls = per_layer.setdefault(id(node.layer), [])
            index_of[id(node)] = len(calls)
            calls.append(node)

        def history(t: SymbolicTensor) -> list:
            if t._node is None:
                return [t._source_layer.name, 0, 0]
            # Keras counts a nested functional model's own construction as its node 0.
            shift = 1 if isinstance(t._node.layer, Functional) else 0
            return [t._node.layer.name, index_of[id(t._node)] + shift, t._index]

        def tensor(x):
            if not isinstance(x, SymbolicTensor):
                return x
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(x.shape), "dtype": x.dtype,
                               "keras_history": history(x)}}

        layers = []
        for layer in self.layers:
            entry = serialize_keras_object(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [
                {"args": serialize_keras_object(map_structure(tensor, list(n.args))),
                 "kwargs": serialize_keras_object(map_structure(tensor, n.kwargs))}
                for n in per_layer.get(id(layer), [])]
            layers.append(entry)
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": map_structure(history, self._inputs_struct),
                "output_layers": map_structure(history, self._outputs_struct)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Functional":
        """The model of a functional config (Keras 3's, or one written here)."""
        from nhanh.layers.serialization import deserialize
        from nhanh.saving.object_registration import CustomObjectScope

        with CustomObjectScope(custom_objects):
            return _functional_from_config(cls, config, deserialize)


def _functional_from_config(cls, config: dict, deserialize) -> "Functional":
    layers: dict[str, Layer] = {}
    pending: list[tuple[Layer, list]] = []
    for entry in config["layers"]:
        layer = deserialize(entry)
        if not isinstance(layer, Layer):
            raise ValueError(f"The model config lists {entry.get('class_name')!r}, which is "
                             "not a layer.")
        layers[entry["name"]] = layer
        pending.append((layer, list(entry.get("inbound_nodes") or [])))

    def output_of(name, node_index, tensor_index):
        if name not in layers:
            raise ValueError(f"The model config refers to layer {name!r}, which it does not "
                             "list.")
        layer = layers[name]
        if isinstance(layer, InputLayer):
            return layer.output
        if isinstance(layer, Functional):  # Keras counts its construction as node 0
            node_index -= 1
        calls = made.get(id(layer), [])
        if node_index >= len(calls):
            raise _NotYet
        return flatten(calls[node_index])[tensor_index]

    def revive(x):
        if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
            return output_of(*x["config"]["keras_history"])
        if isinstance(x, dict) and "__tensor__" in x:  # nhanh's earlier form
            return output_of(*x["__tensor__"])
        if isinstance(x, dict):
            return {k: revive(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [revive(v) for v in x]
        return x

    made: dict[int, list] = {}
    while any(nodes for _, nodes in pending):
        progress = False
        for layer, nodes in pending:
            while nodes:
                try:
                    args, kwargs = revive(nodes[0]["args"]), revive(nodes[0]["kwargs"])
                except _NotYet:
                    break
                made.setdefault(id(layer), []).append(layer(*args, **kwargs))
                nodes.pop(0)
                progress = True
        if not progress:
            stuck = [layer.name for layer, nodes in pending if nodes]
            raise ValueError("The model config's graph cannot be rebuilt: the calls of "
                             f"{stuck} wait on tensors no layer produces (a cycle or a "
                             "missing layer).")

    def tensors(refs):
        if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
            return output_of(*refs)
        if isinstance(refs, dict) and "__tensor__" in refs:
            return output_of(*refs["__tensor__"])
        if isinstance(refs, dict):
            return {k: tensors(v) for k, v in refs.items()}
        return [tensors(v) for v in refs]

    inputs, outputs = tensors(config["input_layers"]), tensors(config["output_layers"])
    return cls(inputs, outputs, name=config.get("name"),
               trainable=config.get("trainable", True))


class _NotYet(Exception):
    """A node's input comes from a call not rebuilt yet."""


def _keras_layer_order(inputs: list, outputs) -> list[Layer]:
    """The layers in Keras's order (deepest first, ties in first-visit order of a depth-first
    walk from the outputs), which the saved weights' paths ("layers/dense_1") follow."""
    visit_index: dict[int, int] = {}
    post_order: list = []  # nodes, and InputLayers for the inputs
    done: set[int] = set()
    input_ids = {id(t) for t in inputs}
    owner = {}

    def key_of(t):
        return t._node if t._node is not None else t._source_layer

    def walk(t):
        item = key_of(t)
        layer = item.layer if t._node is not None else item
        if id(item) in done:
            return
        if t._node is not None and id(t) in input_ids:
            done.add(id(item))
            return
        visit_index.setdefault(id(layer), len(visit_index))
        owner[id(layer)] = layer
        if t._node is not None:
            for x in t._node.input_tensors:
                walk(x)
        done.add(id(item))
        post_order.append(item)

    for t in _keras_flatten(outputs):
        walk(t)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for item in reversed(post_order):
        layer = item.layer if isinstance(item, Node) else item
        depth = max(node_depth.setdefault(id(item), 0), layer_depth.get(id(layer), 0))
        layer_depth[id(layer)] = node_depth[id(item)] = depth
        if isinstance(item, Node):
            for x in item.input_tensors:
                parent = key_of(x)
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:
        if id(t._source_layer) not in layer_depth:
            layer_depth[id(t._source_layer)] = 0
            visit_index[id(t._source_layer)] = -1
            owner[id(t._source_layer)] = t._source_layer
    order = sorted(layer_depth, key=lambda i: (-layer_depth[i], visit_index[i]))
    return [owner[i] for i in order]


def _keras_flatten(structure) -> list:
    """Leaves as Keras's tree.flatten gives them (a dict's values by sorted key)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _keras_flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _keras_flatten(item)]
    return [structure]


def _own_constructor(cls: type) -> bool:
    """Whether cls.__init__ takes other arguments than Functional's, so that the graph config
    could not rebuild it through cls(inputs, outputs)."""
    import inspect

    def names(fn):
        return [p.name for p in inspect.signature(fn).parameters.values()][1:]

    return names(cls.__init__) != names(Functional.__init__)
