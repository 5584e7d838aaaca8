"""Models: Sequential, functional Model(inputs, outputs), and subclassed Model; saving and
cloning them (Keras 3's `keras.models` names)."""

from nhanh.models.cloning import clone_model
from nhanh.models.functional import Functional
from nhanh.models.model import Model
from nhanh.models.sequential import Sequential
from nhanh.saving.saving_lib import load_model, save_model


def model_from_json(json_string: str, custom_objects: dict | None = None):
    """The model (new weights) that `model.to_json()` (nhanh's or Keras's) describes.

    Args:
        json_string: The JSON text.
        custom_objects: Your classes and functions it names, by name.
    """
    from nhanh.saving.saving_lib import parse_json
    from nhanh.saving.serialization_lib import deserialize_keras_object

    config = parse_json(json_string.encode() if isinstance(json_string, str) else json_string,
                        "model JSON")
    return deserialize_keras_object(config, custom_objects=custom_objects)


__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model",
           "model_from_json", "save_model"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
