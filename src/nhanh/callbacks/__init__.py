"""Callbacks, by Keras names."""

from nhanh.callbacks.callback import Callback, CallbackList
from nhanh.callbacks.early_stopping import EarlyStopping
from nhanh.callbacks.history import History
from nhanh.callbacks.lambda_callback import LambdaCallback
from nhanh.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
           "TerminateOnNaN"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
