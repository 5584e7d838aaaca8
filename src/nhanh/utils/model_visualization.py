"""plot_model / model_to_dot: a model's layer graph as Graphviz, with Keras 3's arguments.

One box per layer, one arrow per connection; a nested Sequential or functional model is one
box, or with `expand_nested` a dashed cluster of its own layers, arrows going straight to
the layers inside. A subclassed model's `call` is Python, not a graph, so it is one box.

pydot and Graphviz's `dot` program are optional: they are looked up only when a plot is
asked for, and a missing one raises an ImportError that says how to install it before any
file is written. plot_model renders in memory and writes the file in one go, so a failure
never leaves half a picture behind.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

_RANKDIRS = ("TB", "LR", "BT", "RL")
_IMAGE_FORMATS = ("png", "jpg", "jpeg", "gif")


def _import_pydot(caller: str):
    try:
        import pydot
    except ImportError as e:
        raise ImportError(f"{caller} needs pydot: install it with `pip install pydot` (and "
                          "Graphviz's `dot` program to render images).") from e
    return pydot


def _check_graphviz(pydot) -> None:
    """Raise unless Graphviz's `dot` runs (pydot finds it on PATH)."""
    message = ("plot_model needs Graphviz's `dot` program, which was not found on PATH. "
               "Install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), "
               "`brew install graphviz` (macOS) or `conda install graphviz`; see "
               "https://graphviz.org/download/.")
    if shutil.which("dot") is None:
        raise ImportError(message)
    try:
        pydot.Dot().create(format="dot")
    except (OSError, AssertionError, getattr(pydot, "PydotException", OSError)) as e:
        raise ImportError(f"{message} (Running it failed: {e})") from e


def _check_built(model, caller: str) -> None:
    if not getattr(model, "built", False):
        raise ValueError(f"{caller}: model {model.name!r} is not built yet, so it has no layer "
                         "graph to draw. Build it first: give the first layer an input shape, "
                         "call model.build(input_shape), or call the model on a batch.")


def _check_kwargs(kwargs: dict, caller: str) -> None:
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError(f"{caller}: `layer_range` is no longer supported (Keras 3 dropped it); "
                         "draw a sub-model instead.")
    if kwargs:
        raise ValueError(f"{caller} got unexpected keyword arguments {sorted(kwargs)}.")


def _graph_kind(model) -> str | None:
    """'functional', 'sequential', or None for a layer or subclassed model (one box)."""
    from nhanh.models.functional import Functional
    from nhanh.models.sequential import Sequential

    if isinstance(model, Functional):
        return "functional"
    if isinstance(model, Sequential):
        return "sequential"
    return None


def _graph_nodes(model) -> list:
    """The call nodes that make up `model`'s graph, inputs first."""
    if _graph_kind(model) == "functional":
        return list(model._nodes)
    if _graph_kind(model) == "sequential" and model.built:
        nodes, tensor = [], model._symbolic_output
        while tensor is not None and tensor._node is not None:
            nodes.append(tensor._node)
            tensor = tensor._node.args[0]
        return nodes[::-1]
    return []


def _graph_layers(model) -> list:
    """The boxes of a graph model: input layers (functional only), then each layer once."""
    if _graph_kind(model) == "sequential":
        return model.layers
    layers = list(model._input_layers)
    for node in model._nodes:
        if node.layer not in layers:
            layers.append(node.layer)
    return layers


def _model_outputs(model) -> list:
    if _graph_kind(model) == "sequential":
        return [model._symbolic_output]
    return list(model.outputs)


def _format_shape(shapes) -> str:
    if shapes is None:
        return "?"
    if isinstance(shapes, dict):
        return ", ".join(f"{k}: {v}" for k, v in shapes.items())
    return str(shapes)


def _structure(structure, attr: str):
    from nhanh.layers.symbolic import SymbolicTensor, map_structure

    return map_structure(lambda t: getattr(t, attr) if isinstance(t, SymbolicTensor) else t,
                         structure)


def _io(layer, nodes: list) -> tuple[Any, Any]:
    """The layer's (input, output) symbolic structures in this graph, or None where unknown.

    A layer called several times (shared) shows its first call, as Keras does.
    """
    from nhanh.layers.input_layer import InputLayer

    if isinstance(layer, InputLayer):
        return None, layer.output
    node = next((n for n in nodes if n.layer is layer), None)
    if node is None:  # a subclassed model's call is not a graph: Keras shows '?' too
        return None, None
    return node.args[0], node.outputs


def _activation_name(activation) -> str:
    return getattr(activation, "name", None) or getattr(activation, "__name__", None) or \
        str(activation)


def _cell(text: str, bgcolor: str = "white", colspan: int | None = None,
          color: str | None = None, size: int = 14) -> str:
    span = f' colspan="{colspan}"' if colspan else ""
    font = f'<font point-size="{size}"' + (f' color="{color}"' if color else "") + ">"
    return f'<td bgcolor="{bgcolor}"{span}>{font}{text}</font></td>'


def _label(layer, nodes: list, show_shapes: bool, show_dtype: bool, show_layer_names: bool,
           show_layer_activations: bool, show_trainable: bool) -> str:
    """An HTML-like Graphviz table: a title row, an activation row, a row of facts."""
    kind = type(layer).__name__
    width = max(1, int(show_dtype) + int(show_trainable) + 2 * int(show_shapes))
    title = f"<b>{layer.name}</b> ({kind})" if show_layer_names else f"<b>{kind}</b>"
    rows = [_cell(title, "black", width, "white", 16)]
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        rows.append(_cell(f"Activation: <b>{_activation_name(activation)}</b>", colspan=width))
    facts = []
    inputs, outputs = _io(layer, nodes) if (show_shapes or show_dtype) else (None, None)
    if show_shapes:
        if kind != "InputLayer":
            shape = None if inputs is None else _structure(inputs, "shape")
            facts.append(_cell(f"Input shape: <b>{_format_shape(shape)}</b>"))
        shape = None if outputs is None else _structure(outputs, "shape")
        facts.append(_cell(f"Output shape: <b>{_format_shape(shape)}</b>"))
    if show_dtype:
        dtype = None if outputs is None else _structure(outputs, "dtype")
        facts.append(_cell(f"Output dtype: <b>{dtype or '?'}</b>"))
    if show_trainable and layer.weights:
        if layer.trainable:
            facts.append(_cell("<b>Trainable</b>", "forestgreen", color="white"))
        else:
            facts.append(_cell("<b>Non-trainable</b>", "firebrick", color="white"))
    body = "".join(f"<tr>{row}</tr>" for row in rows)
    if facts:
        body += f"<tr>{''.join(facts)}</tr>"
    return f'<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">{body}</table>>'


def _node_id(layer) -> str:
    return str(id(layer))


def _add_edge(pydot, dot, source, destination) -> None:
    src, dst = _node_id(source), _node_id(destination)
    if not dot.get_edge(src, dst):
        dot.add_edge(pydot.Edge(src, dst, penwidth="2"))


def _inner_source(layer, output_index: int):
    """The real layer inside (nested) models that produces their output `output_index`."""
    while _graph_kind(layer) is not None:
        outputs = _model_outputs(layer)
        tensor = outputs[min(output_index, len(outputs) - 1)]
        layer, output_index = tensor._source_layer, tensor._index
    return layer


def _inner_destination(layer, input_index: int):
    """The real layer inside (nested) models that receives their input `input_index`."""
    while _graph_kind(layer) is not None:
        if _graph_kind(layer) == "functional":
            inputs = layer.inputs
            layer = inputs[min(input_index, len(inputs) - 1)]._source_layer
        else:
            layer, input_index = layer.layers[0], 0
    return layer


def model_to_dot(model, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB",
                 expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False,
                 splines: str = "ortho", **kwargs):
    """The model's layer graph as a `pydot.Dot` (a `pydot.Cluster` with `subgraph=True`).

    Args:
        model: A built model (Sequential, functional, or subclassed: one box).
        show_shapes: Show each layer's input and output shapes.
        show_dtype: Show each layer's output dtype.
        show_layer_names: Show layer names beside their class names.
        rankdir: Graphviz layout direction: "TB" (top to bottom), "LR", "BT" or "RL".
        expand_nested: Draw nested Sequential / functional models as clusters of their layers.
        dpi: Image resolution in dots per inch.
        subgraph: Return a dashed `pydot.Cluster` (for nesting) instead of a `pydot.Dot`.
        show_layer_activations: Show the activation of layers that have one.
        show_trainable: Show whether each layer with weights is trainable.
        splines: Graphviz edge style: "ortho", "curved", "polyline", "spline", "line".
        **kwargs: Only Keras 2's `layer_range`, which raises (Keras 3 dropped it).

    Returns:
        A `pydot.Dot`, or a `pydot.Cluster` with `subgraph=True`.
    """
    _check_built(model, "model_to_dot")
    pydot = _import_pydot("model_to_dot")
    _check_kwargs(dict(kwargs), "model_to_dot")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"model_to_dot: `rankdir` must be one of {list(_RANKDIRS)}; got "
                         f"{rankdir!r}.")
    if subgraph:
        dot = pydot.Cluster(graph_name=model.name, style="dashed", label=model.name,
                            labeljust="l")
    else:
        dot = pydot.Dot(rankdir=rankdir, concentrate=True, dpi=dpi, splines=splines)
        dot.set_node_defaults(shape="record")
    flags = dict(show_shapes=show_shapes, show_dtype=show_dtype,
                 show_layer_names=show_layer_names,
                 show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    kind = _graph_kind(model)
    if kind is None:
        dot.add_node(_box(pydot, model, [], flags))
        return dot

    nodes = _graph_nodes(model)
    for layer in _graph_layers(model):
        if expand_nested and _graph_kind(layer) is not None:
            dot.add_subgraph(model_to_dot(
                layer, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                dpi, subgraph=True, show_layer_activations=show_layer_activations,
                show_trainable=show_trainable, splines=splines))
        else:
            dot.add_node(_box(pydot, layer, nodes, flags))

    if kind == "sequential":
        layers = model.layers
        for source, destination in zip(layers, layers[1:]):
            if expand_nested:
                source, destination = _inner_source(source, 0), _inner_destination(destination, 0)
            _add_edge(pydot, dot, source, destination)
        return dot
    for node in nodes:
        for input_index, tensor in enumerate(node.input_tensors):
            source, destination = tensor._source_layer, node.layer
            if expand_nested:
                source = _inner_source(source, tensor._index)
                destination = _inner_destination(destination, input_index)
            _add_edge(pydot, dot, source, destination)
    return dot


def _box(pydot, layer, nodes: list, flags: dict):
    return pydot.Node(_node_id(layer), label=_label(layer, nodes, **flags),
                      fontname="Helvetica", border="0", margin="0")


def plot_model(model, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = False, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200,
               show_layer_activations: bool = False, show_trainable: bool = False,
               splines: str = "ortho", **kwargs):
    """Draw the model's layer graph into an image file (format from `to_file`'s extension).

    Args:
        model: A built model.
        to_file: Path of the file to write; its extension picks the format (png, svg, pdf,
            dot, jpg, ... anything Graphviz writes); no extension means png.
        show_shapes: Show each layer's input and output shapes.
        show_dtype: Show each layer's output dtype.
        show_layer_names: Show layer names beside their class names.
        rankdir: Graphviz layout direction: "TB" (top to bottom), "LR", "BT" or "RL".
        expand_nested: Draw nested Sequential / functional models as clusters of their layers.
        dpi: Image resolution in dots per inch.
        show_layer_activations: Show the activation of layers that have one.
        show_trainable: Show whether each layer with weights is trainable.
        splines: Graphviz edge style: "ortho", "curved", "polyline", "spline", "line".
        **kwargs: Only Keras 2's `layer_range`, which raises (Keras 3 dropped it).

    Returns:
        An `IPython.display.Image` (or `SVG`) of the file when IPython is installed, so a
        notebook shows it inline; otherwise, and for pdf / dot files, None.
    """
    _check_built(model, "plot_model")
    pydot = _import_pydot("plot_model")
    _check_graphviz(pydot)
    _check_kwargs(dict(kwargs), "plot_model")
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    folder = os.path.dirname(os.path.abspath(to_file))
    if not os.path.isdir(folder):
        raise ValueError(f"plot_model: the folder of `to_file` ({folder!r}) does not exist; "
                         "create it first or choose another path.")
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, splines=splines)
    try:
        data = dot.create(format=extension)
    except Exception as e:  # pydot raises AssertionError / PydotException / OSError
        raise ValueError(f"plot_model: Graphviz could not write format {extension!r} (from "
                         f"`to_file`={to_file!r}): {e}. Use an extension Graphviz knows, "
                         "e.g. .png, .svg, .pdf or .dot.") from e
    partial = f"{to_file}.partial"
    with open(partial, "wb") as f:
        f.write(data)
    os.replace(partial, to_file)
    return _inline(to_file, extension)


def _inline(path: str, extension: str):
    """What a notebook displays: an Image for bitmaps, an SVG for svg, None otherwise."""
    try:
        from IPython import display
    except ImportError:
        return None
    if extension in _IMAGE_FORMATS:
        return display.Image(filename=path)
    if extension == "svg":
        return display.SVG(filename=path)
    return None


__all__ = ["model_to_dot", "plot_model"]
