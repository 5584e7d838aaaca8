"""keras.preprocessing's names: image and sequence helpers, and the dataset builders.

The same functions as in nhanh.utils; this module exists so Keras code that imports them from
`keras.preprocessing` runs after changing its imports (and under `python -m nhanh`).
"""

from nhanh.preprocessing import image, sequence
from nhanh.utils.image_dataset import image_dataset_from_directory
from nhanh.utils.text_dataset import text_dataset_from_directory
from nhanh.utils.timeseries_dataset import timeseries_dataset_from_array

__all__ = ["image", "image_dataset_from_directory", "sequence", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
