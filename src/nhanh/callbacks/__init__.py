"""Callbacks, by Keras names."""

from nhanh.callbacks.backup_and_restore import BackupAndRestore
from nhanh.callbacks.callback import Callback, CallbackList
from nhanh.callbacks.csv_logger import CSVLogger
from nhanh.callbacks.early_stopping import EarlyStopping
from nhanh.callbacks.history import History
from nhanh.callbacks.lambda_callback import LambdaCallback
from nhanh.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from nhanh.callbacks.model_checkpoint import ModelCheckpoint
from nhanh.callbacks.progbar_logger import ProgbarLogger
from nhanh.callbacks.remote_monitor import RemoteMonitor
from nhanh.callbacks.swap_ema_weights import SwapEMAWeights
from nhanh.callbacks.tensorboard import TensorBoard
from nhanh.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping",
           "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
           "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor", "SwapEMAWeights",
           "TensorBoard", "TerminateOnNaN"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
