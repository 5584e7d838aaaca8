"""keras.preprocessing.sequence: pad_sequences."""

from nhanh.utils.sequence_utils import pad_sequences

__all__ = ["pad_sequences"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
