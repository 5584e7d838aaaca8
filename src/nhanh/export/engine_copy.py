"""The model on the engine an export format needs, and its inference as a pure function.

Each format is written by one engine's own exporter: ONNX and torch_export by PyTorch's
(`torch.onnx`, `torch.export`), jax_export by JAX's. A model that lives on the other engine is
rebuilt there from `get_config()` and given the same weights (as NumPy arrays), in this
process: nhanh switches engines at run time, and a model keeps the engine it was built on, so
the user's model is not touched. A model whose config does not rebuild it (a subclassed model
without `get_config`) exports only to its own engine's formats, and the error says so.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

from nhanh import backend as _backend
from nhanh.scopes import StatelessScope
from nhanh.tree import flatten


def engine_of(model) -> str:
    """The engine the model's variables live on ('jax' or 'torch')."""
    for variable in model.variables:
        return variable._backend.NAME
    # no variables: a layer made on PyTorch is a torch.nn.Module subclass of its class
    return "torch" if getattr(type(model), "_nhanh_base", None) is not None else "jax"


@contextlib.contextmanager
def engine(name: str):
    """Make `name` the current engine inside, and restore the previous one after."""
    previous = _backend.get().NAME
    _backend.load(name)
    try:
        yield
    finally:
        _backend.load(previous)


def on_engine(model, name: str, format: str):
    """`model` itself if it lives on engine `name`, else a copy rebuilt there with its weights.
    Call inside `engine(name)`."""
    if engine_of(model) == name:
        return model
    cls = getattr(type(model), "_nhanh_base", type(model))  # the plain class, not torch's mix
    try:
        copy = cls.from_config(model.get_config())
        if not copy.built:
            copy.build(model.input_shape)
        copy.set_weights(model.get_weights())
    except Exception as error:
        other = "jax" if name == "torch" else "torch"
        own = "'jax_export'" if other == "jax" else "'onnx' or 'torch_export'"
        raise ValueError(
            f"model.export(format={format!r}) runs {name}'s exporter, but the model "
            f"{model.name!r} lives on {other} and could not be rebuilt on {name} from its "
            f"get_config() ({type(error).__name__}: {error}). Give {type(model).__name__} a "
            f"get_config() that rebuilds it, build the model under "
            f"nhanh.config.set_backend({name!r}) and load the weights, or export to "
            f"format={own}.") from error
    return copy


def inference(model, signature) -> tuple[list, Callable[..., Any]]:
    """(`model`'s state as NumPy arrays, `fn(state, *inputs)` -> the model's outputs in
    inference mode): pure, so an exporter can bake the state in as constants."""
    variables = list(model.variables)
    values = [v.numpy() for v in variables]

    def fn(state, *inputs):
        with StatelessScope(list(zip(variables, state))):
            return model(signature.pack(inputs), training=False)

    return values, fn


def flat(fn: Callable[..., Any]) -> Callable[..., tuple]:
    """`fn` with its outputs as a flat tuple (for formats that name each output)."""
    def flat_fn(state, *inputs):
        return tuple(flatten(fn(state, *inputs)))

    return flat_fn
