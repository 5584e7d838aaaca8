"""Layer and model configs back to objects: the class registry of nhanh's layers and models."""

from __future__ import annotations

import copy


def layer_classes() -> dict[str, type]:
    from nhanh import layers, models
    from nhanh.models.functional import Functional

    classes = {name: obj for name, obj in vars(layers).items() if isinstance(obj, type)}
    classes.update({"Sequential": models.Sequential, "Functional": Functional,
                    "Model": Functional})
    return classes


def deserialize_layer(entry: dict, custom_objects: dict | None = None):
    """A layer (or model) from {'class_name', 'config'}."""
    classes = {**layer_classes(), **(custom_objects or {})}
    name = entry["class_name"]
    if name not in classes:
        raise ValueError(f"Unknown layer class {name!r} in the config; pass it in "
                         "custom_objects={'" + name + "': cls}.")
    return classes[name].from_config(copy.deepcopy(entry["config"]))
