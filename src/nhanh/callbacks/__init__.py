"""Callbacks, by Keras names."""

from nhanh.callbacks.callback import Callback, CallbackList
from nhanh.callbacks.early_stopping import EarlyStopping
from nhanh.callbacks.history import History
from nhanh.callbacks.lambda_callback import LambdaCallback
from nhanh.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
           "TerminateOnNaN"]
