"""Small user-facing helpers."""

from nhanh.utils.batches import pack_x_y_sample_weight, unpack_x_y_sample_weight
from nhanh.utils.dataset_utils import split_dataset
from nhanh.utils.dtype_utils import standardize_dtype
from nhanh.utils.normalization import normalize
from nhanh.utils.numerical import to_categorical
from nhanh.utils.progbar import Progbar
from nhanh.utils.seed import set_random_seed
from nhanh.utils.sequence_utils import pad_sequences
from nhanh.utils.session import clear_session, get_source_inputs, is_keras_tensor


__all__ = ["Progbar", "clear_session", "get_source_inputs", "is_keras_tensor", "normalize",
           "pack_x_y_sample_weight", "pad_sequences", "set_random_seed", "split_dataset",
           "standardize_dtype", "to_categorical", "unpack_x_y_sample_weight"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
