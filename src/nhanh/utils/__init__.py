"""Small user-facing helpers."""

from nhanh.utils.numerical import to_categorical
from nhanh.training.step_api import unpack_x_y_sample_weight
from nhanh.utils.seed import set_random_seed


__all__ = ["set_random_seed", "to_categorical", "unpack_x_y_sample_weight"]
