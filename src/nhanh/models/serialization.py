"""Layer and model configs back to objects (Sequential's and Functional's entries)."""

from __future__ import annotations


def deserialize_layer(entry: dict, custom_objects: dict | None = None):
    """A layer (or model) from a config entry, Keras 3's or nhanh's."""
    from nhanh.layers.serialization import deserialize

    return deserialize(entry, custom_objects)
