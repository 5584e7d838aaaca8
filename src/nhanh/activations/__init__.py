"""Activation functions by name: `get('relu')`, `serialize(fn)`, `deserialize('gelu')`.

Names follow Keras 3 and are case-insensitive; a typo raises at once with the close matches.
"""

from __future__ import annotations

from typing import Callable

from nhanh import registry
from nhanh.activations.activations import (
    ALL_FUNCTIONS, celu, elu, exponential, gelu, glu, hard_shrink, hard_sigmoid, hard_silu,
    hard_swish, hard_tanh, leaky_relu, linear, log_sigmoid, log_softmax, mish, relu, relu6, selu,
    sigmoid, silu, soft_shrink, softmax, softplus, softsign, sparse_plus, sparse_sigmoid,
    sparsemax, squareplus, swish, tanh, tanh_shrink, threshold,
)

_BY_NAME: dict[str, Callable] = {fn.__name__: fn for fn in ALL_FUNCTIONS}
_BY_NAME.update({"swish": silu, "hard_swish": hard_silu})


def serialize(activation: Callable) -> str | dict:
    """The name that `deserialize` turns back into `activation`.

    Args:
        activation: A built-in activation function, an object with `get_config()`, or a named
            function.

    Returns:
        The name (a string), or a config dict for an object with `get_config()`.
    """
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    if hasattr(activation, "get_config"):
        return registry.serialize(activation)
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize activation {activation!r}: it has no name. "
                         "Pass a function or an object with get_config().")
    if name == "<lambda>":  # its bytecode, as Keras writes it (loads only unsafely)
        return registry.serialize(activation)
    from nhanh.saving.object_registration import get_registered_name

    return get_registered_name(activation)


def deserialize(name: str | dict, custom_objects: dict | None = None) -> Callable:
    """The activation called `name` (also accepts Keras's {'class_name', 'config'} form).

    Args:
        name: The activation's name (case-insensitive), or a Keras config dict.
        custom_objects: Dict mapping names to user functions, looked up before the built-ins.

    Returns:
        The activation function.
    """
    if isinstance(name, dict):
        if name.get("class_name", "").startswith("__"):  # a lambda's bytecode, ...: the
            from nhanh.saving import serialization_lib  # loader's rules (safe mode) decide

            return serialization_lib.deserialize_keras_object(name)
        found = registry.user_object(name)
        if found is not None:
            return found
        name = name["config"] if name.get("class_name") == "function" else name["class_name"]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if isinstance(name, str):  # yours: registered ("package>fn") or in a custom-object scope
        from nhanh.saving.object_registration import get_registered_object

        found = get_registered_object(name)
        if found is not None:
            return found
    return registry.lookup("activation", name, _BY_NAME)


def get(identifier: str | dict | Callable | None) -> Callable:
    """None -> linear; a name or serialized form -> that function; a callable -> itself.

    Args:
        identifier: A name, a serialized form, a callable, or `None`.

    Returns:
        The activation function.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation identifier {identifier!r}: expected a "
                     f"name such as 'relu', a callable, or None.")


__all__ = [
    "celu", "deserialize", "elu", "exponential", "gelu", "get", "glu", "hard_shrink",
    "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid",
    "log_softmax", "mish", "relu", "relu6", "selu", "serialize", "sigmoid", "silu", "soft_shrink",
    "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus",
    "swish", "tanh", "tanh_shrink", "threshold",
]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
