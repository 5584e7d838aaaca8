"""`nhanh.layers.serialize` / `deserialize`: a layer as Keras 3's dict and back.

The dict is Keras 3's: `{"module", "class_name", "config", "registered_name"}`. A built-in
layer's module is the one Keras writes (`"keras.layers"`, `"keras"` for Sequential), so a dict
made here reads in Keras and Keras's reads here; a user's class has its module (none in a
script) and its `registered_name` (its class name), and comes back through
`custom_objects`. Lookup goes through `nhanh.registry`, so an unknown class name fails with
the close matches.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from nhanh import registry

def _classes() -> dict[str, type]:
    from nhanh.models.serialization import layer_classes

    return layer_classes()


def serialize(layer) -> dict:
    """`{"module", "class_name", "config", "registered_name"}` for a layer (or model).

    Args:
        layer: The layer or model to describe.
    """
    if not hasattr(layer, "get_config"):
        raise TypeError(f"serialize() expects a layer, got {type(layer).__name__}: {layer!r}.")
    cls = type(layer)
    name = cls.__name__
    known = _classes().get(name)
    # (On PyTorch a layer's class may be an engine subclass of the same name.)
    builtin = known is not None and issubclass(cls, known)
    if name == "Functional" and builtin:  # Keras records its inner module for this one
        module, registered = "keras.src.models.functional", "Functional"
    elif builtin:
        module, registered = ("keras" if name == "Sequential" else "keras.layers"), None
    else:  # a user's class, as Keras writes one: its module (none for a script's class)
        module = None if cls.__module__ == "__main__" else cls.__module__
        registered = getattr(cls, "_registered_name", None) or name
    return {"module": module, "class_name": name, "config": layer.get_config(),
            "registered_name": registered}


def deserialize(config: dict | str, custom_objects: dict[str, Any] | None = None):
    """A layer from serialize's dict (Keras's too; "module" may be left out), or from a class
    name with default arguments.

    Args:
        config: The dict `serialize` (or Keras) wrote, or a class name.
        custom_objects: Class names (or registered names) mapped to your own classes,
            looked up first.
    """
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("deserialize() expects a dict with 'class_name' and 'config' (what "
                         f"nhanh.layers.serialize returns) or a class name; got {config!r}.")
    name = config["class_name"]
    custom = custom_objects or {}
    cls = custom.get(config.get("registered_name") or "") or custom.get(name)
    if cls is None:
        table = {k.lower(): v for k, v in _classes().items()}
        try:
            cls = registry.lookup("layer class", name, table, class_names=True)
        except ValueError as e:
            raise ValueError(f"{e} A class of your own: pass custom_objects={{{name!r}: "
                             "YourClass}.") from None
    return _from_config(cls, copy.deepcopy(config.get("config") or {}))


def _from_config(cls, config: dict):
    """cls.from_config(config); keys newer Keras versions write as null for a feature nhanh
    lacks (Dense's `quantization_config`) are dropped rather than refused."""
    try:
        return cls.from_config(config)
    except TypeError as e:
        match = re.search(r"unexpected argument\(s\) (.*)\.$", str(e))
        unknown = [k.strip() for k in match.group(1).split(",")] if match else []
        if not unknown or any(config.get(k, 0) is not None for k in unknown):
            raise
        return cls.from_config({k: v for k, v in config.items() if k not in unknown})
