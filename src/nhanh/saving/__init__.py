"""nhanh.saving: Keras 3's files (.keras, .weights.h5), both ways, loaded safely.

See saving_lib.py for the file layouts and serialization_lib.py for what a config may name.
"""

from nhanh.saving.object_registration import (
    CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
    get_registered_object, register_keras_serializable,
)
from nhanh.saving.saving_lib import load_model, save_model
from nhanh.saving.serialization_lib import deserialize_keras_object, serialize_keras_object


def save_weights(model, filepath, overwrite: bool = True, max_shard_size=None) -> None:
    """`model.save_weights(filepath)`: weights and optimizer state in a `.weights.h5` file."""
    model.save_weights(filepath, overwrite=overwrite, max_shard_size=max_shard_size)


def load_weights(model, filepath, skip_mismatch: bool = False, **kwargs) -> None:
    """`model.load_weights(filepath)`: all of a file's weights, or none."""
    model.load_weights(filepath, skip_mismatch=skip_mismatch, **kwargs)


__all__ = [
    "CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
    "get_custom_objects", "get_registered_name", "get_registered_object", "load_model",
    "load_weights", "register_keras_serializable", "save_model", "save_weights",
    "serialize_keras_object",
]
