"""Small user-facing helpers."""

from nhanh.utils.batches import pack_x_y_sample_weight, unpack_x_y_sample_weight
from nhanh.utils.numerical import to_categorical
from nhanh.utils.seed import set_random_seed


__all__ = ["pack_x_y_sample_weight", "set_random_seed", "to_categorical",
           "unpack_x_y_sample_weight"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
