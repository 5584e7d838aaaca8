"""`clone_model`: the same architecture with new layers (and so new weights).

As in Keras 3: a Sequential model is rebuilt from copies of its layers, a functional model by
replaying its graph on copies (the layers made by `clone_function`, each call made by
`call_function`); shared layers stay shared in the copy. Any other model is rebuilt from its
config.
"""

from __future__ import annotations

from typing import Any, Callable

from nhanh.layers.input_layer import Input, InputLayer
from nhanh.layers.symbolic import SymbolicTensor, flatten, map_structure


def clone_model(model, input_tensors=None, clone_function: Callable | None = None,
                call_function: Callable | None = None, recursive: bool = False,
                **kwargs: Any):
    """A new model like `model`, with freshly initialized weights.

    Args:
        model: A Sequential, functional or (with get_config) subclassed model.
        input_tensors: Inputs (from `nhanh.Input`) to build the copy on, instead of new ones.
        clone_function: Makes each layer's copy; by default `cls.from_config(get_config())`.
            Return the layer itself to share it with the original.
        call_function: `(layer, *args, **kwargs) -> outputs`, makes each call in a
            functional copy (e.g. to insert layers); by default the layer is called.
        recursive: Clone nested Sequential and functional models layer by layer too.
    """
    from nhanh.models.functional import Functional
    from nhanh.models.sequential import Sequential
    from nhanh.saving import serialization_lib

    cache = kwargs.pop("cache", None)
    if kwargs:
        raise TypeError(f"clone_model got unexpected argument(s) {sorted(kwargs)}.")
    clone = _wrap(clone_function, call_function, recursive, {} if cache is None else cache)
    if isinstance(model, Sequential):
        if call_function is not None:
            raise ValueError("clone_model: call_function applies to functional models only; "
                             "a Sequential model's layers are listed, not called.")
        return _clone_sequential(model, clone, input_tensors)
    if isinstance(model, Functional) and (clone_function or input_tensors or
                                          type(model).get_config is Functional.get_config):
        return _clone_functional(model, clone, call_function, input_tensors)
    if clone_function or input_tensors or call_function:
        raise ValueError(f"clone_model: clone_function, call_function and input_tensors need "
                         f"a Sequential or functional model; got {type(model).__name__}.")
    config = serialization_lib.serialize_keras_object(model)
    return serialization_lib.deserialize_keras_object(
        config, custom_objects={type(model).__name__: type(model)})


def _wrap(clone_function, call_function, recursive: bool, cache: dict) -> Callable:
    from nhanh.models.functional import Functional
    from nhanh.models.sequential import Sequential

    def default(layer):
        return type(layer).from_config(layer.get_config())

    make = clone_function or default

    def clone(layer):
        if id(layer) not in cache:
            if recursive and isinstance(layer, (Sequential, Functional)):
                cache[id(layer)] = clone_model(layer, clone_function=clone_function,
                                               call_function=call_function, recursive=True,
                                               cache=cache)
            else:
                cache[id(layer)] = make(layer)
        return cache[id(layer)]

    return clone


def _new_inputs(model, input_tensors) -> list[SymbolicTensor]:
    given = flatten(input_tensors) if isinstance(input_tensors, (list, tuple, dict)) else \
        [input_tensors]
    if len(given) != len(model.inputs):
        raise ValueError(f"clone_model: model {model.name!r} has {len(model.inputs)} "
                         f"input(s); input_tensors has {len(given)}.")
    for t in given:
        if not isinstance(t, SymbolicTensor):
            raise ValueError("clone_model: input_tensors must come from nhanh.Input(); got "
                             f"{type(t).__name__}.")
    return given


def _clone_sequential(model, clone, input_tensors):
    from nhanh.models.sequential import Sequential

    layers = [clone(layer) for layer in model._stack]
    if input_tensors is not None:
        (tensor,) = _new_inputs(model, input_tensors)
        return Sequential([tensor._source_layer, *layers], name=model.name,
                          trainable=model.trainable)
    start = []
    if model._input_layer is not None:
        source = model._input_layer
        start = [InputLayer(batch_shape=source._batch_input_shape, dtype=source.dtype,
                            name=source.name)]
    return Sequential(start + layers, name=model.name, trainable=model.trainable)


def _clone_functional(model, clone, call_function, input_tensors):
    if input_tensors is not None:
        new_inputs = _new_inputs(model, input_tensors)
    else:
        new_inputs = [Input(batch_shape=t._source_layer._batch_input_shape, dtype=t.dtype,
                            name=t._source_layer.name) for t in model.inputs]
    values = {id(old): new for old, new in zip(model.inputs, new_inputs)}

    def real(x):
        return values[id(x)] if isinstance(x, SymbolicTensor) else x

    for node in model._nodes:
        layer = clone(node.layer)
        args, kwargs = map_structure(real, node.args), map_structure(real, node.kwargs)
        out = call_function(layer, *args, **kwargs) if call_function else layer(*args, **kwargs)
        for old, new in zip(node.output_tensors, flatten(out)):
            values[id(old)] = new
    inputs = map_structure(lambda t: values[id(t)], model._inputs_struct)
    outputs = map_structure(lambda t: values[id(t)], model._outputs_struct)
    from nhanh.models.functional import Functional, _own_constructor

    cls = Functional if _own_constructor(type(model)) else type(model)
    return cls(inputs, outputs, name=model.name, trainable=model.trainable)
