"""Small user-facing helpers."""

from nhanh.utils import bounding_boxes
from nhanh.utils.audio_dataset import audio_dataset_from_directory
from nhanh.config import (
    disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled,
)
from nhanh.utils.batches import pack_x_y_sample_weight, unpack_x_y_sample_weight
from nhanh.utils.config_dict import Config
from nhanh.utils.dataset_utils import split_dataset
from nhanh.utils.dtype_utils import standardize_dtype
from nhanh.utils.file_utils import get_file
from nhanh.utils.image_dataset import image_dataset_from_directory
from nhanh.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from nhanh.utils.model_visualization import model_to_dot, plot_model
from nhanh.utils.normalization import normalize
from nhanh.utils.numerical import to_categorical
from nhanh.utils.progbar import Progbar
from nhanh.utils.py_dataset import PyDataset, Sequence
from nhanh.utils.seed import set_random_seed
from nhanh.saving import (
    CustomObjectScope, custom_object_scope, deserialize_keras_object, get_custom_objects,
    get_registered_name, get_registered_object, register_keras_serializable,
    serialize_keras_object,
)
from nhanh.utils.sequence_utils import pad_sequences
from nhanh.utils.session import clear_session, get_source_inputs, is_keras_tensor
from nhanh.utils.text_dataset import text_dataset_from_directory
from nhanh.utils.timeseries_dataset import timeseries_dataset_from_array


__all__ = ["Config", "CustomObjectScope", "FeatureSpace", "Progbar", "disable_interactive_logging", "enable_interactive_logging",
           "is_interactive_logging_enabled", "PyDataset", "Sequence", "array_to_img", "audio_dataset_from_directory", "bounding_boxes",
           "clear_session", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object",
           "register_keras_serializable", "serialize_keras_object",
           "get_file", "get_source_inputs", "image_dataset_from_directory", "img_to_array",
           "is_keras_tensor", "load_img", "model_to_dot", "normalize",
           "pack_x_y_sample_weight", "pad_sequences", "plot_model", "save_img",
           "set_random_seed", "split_dataset", "standardize_dtype",
           "text_dataset_from_directory", "timeseries_dataset_from_array", "to_categorical",
           "unpack_x_y_sample_weight"]


from nhanh import keras_names as _keras_names  # noqa: E402

# Keras names nhanh lacks say so; FeatureSpace (a Layer) is imported when first used.
__getattr__ = _keras_names.module_getattr(
    __name__, lazy={"FeatureSpace": "nhanh.layers.feature_space"})
