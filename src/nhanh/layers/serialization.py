"""`nhanh.layers.serialize` / `deserialize`: a layer as Keras 3's dict and back.

The dict is Keras 3's (`{"module", "class_name", "config", "registered_name"}`, plus
`build_config`), written and read by `nhanh.saving.serialization_lib`, so a dict made here
reads in Keras and Keras's reads here. Lookup is that module's whitelist: nhanh's own layers
and the classes you pass or register; an unknown class name fails with the close matches.
"""

from __future__ import annotations

import copy
from typing import Any

from nhanh import registry


def serialize(layer) -> dict:
    """`{"module", "class_name", "config", "registered_name"}` for a layer (or model).

    Args:
        layer: The layer or model to describe.
    """
    from nhanh.saving.serialization_lib import serialize_keras_object

    if not hasattr(layer, "get_config") or isinstance(layer, type):
        raise TypeError(f"serialize() expects a layer, got {type(layer).__name__}: {layer!r}.")
    return serialize_keras_object(layer)


def deserialize(config: dict | str, custom_objects: dict[str, Any] | None = None):
    """A layer from serialize's dict (Keras's too; "module" may be left out), or from a class
    name with default arguments.

    Args:
        config: The dict `serialize` (or Keras) wrote, or a class name.
        custom_objects: Class names (or registered names) mapped to your own classes,
            looked up first.
    """
    from nhanh.saving import serialization_lib as lib
    from nhanh.saving.object_registration import CustomObjectScope

    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("deserialize() expects a dict with 'class_name' and 'config' (what "
                         f"nhanh.layers.serialize returns) or a class name; got {config!r}.")
    with CustomObjectScope(custom_objects):
        try:
            cls = lib.resolve_class(config, family="keras.layers")
        except lib.UnsafeObjectError as error:
            if config.get("module") not in (None, "keras.layers", "keras", "nhanh.layers"):
                raise
            tables = lib.family_tables()
            table = {k.lower(): v for k, v in {**tables["keras"],
                                                **tables["keras.layers"]}.items()
                     if isinstance(v, type)}
            name = config["class_name"]
            try:
                registry.lookup("layer class", name, table, class_names=True)
            except ValueError as unknown:  # a typo: name the close matches
                raise ValueError(f"{unknown} A class of your own: pass custom_objects="
                                 f"{{{name!r}: YourClass}}.") from None
            raise error from None
        layer = _from_config(cls, copy.deepcopy(config.get("config") or {}))
        build = config.get("build_config")
        if build and not getattr(layer, "built", True) and hasattr(layer, "build_from_config"):
            layer.build_from_config(build)
    return layer


def _from_config(cls, config: dict):
    """cls.from_config(config); keys newer Keras versions write as null for a feature nhanh
    lacks (Dense's `quantization_config`) are dropped rather than refused."""
    import re

    try:
        return cls.from_config(config)
    except TypeError as e:
        match = re.search(r"unexpected argument\(s\) (.*)\.$", str(e))
        unknown = [k.strip() for k in match.group(1).split(",")] if match else []
        if not unknown or any(config.get(k, 0) is not None for k in unknown):
            raise
        return cls.from_config({k: v for k, v in config.items() if k not in unknown})
