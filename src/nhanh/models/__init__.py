"""Models: Sequential, functional Model(inputs, outputs), and subclassed Model."""

from nhanh.models.functional import Functional
from nhanh.models.model import Model
from nhanh.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
