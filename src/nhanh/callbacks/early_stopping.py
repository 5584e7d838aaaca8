"""EarlyStopping: stop when a monitored value stops improving.

The bookkeeping and the messages follow Keras 3, so a log reads the same: with verbose=1,
"Epoch N: early stopping" when patience runs out, and, with restore_best_weights, "Restoring
model weights from the end of the best epoch: N." whenever the weights are restored at the
end of training (also when training ran all its epochs).
"""

from __future__ import annotations

import warnings

import numpy as np

from nhanh.callbacks.callback import Callback
from nhanh.callbacks.monitor import monitor_direction


class EarlyStopping(Callback):
    """Stop training when a monitored value has stopped improving.

    Args:
        monitor: the log to watch, e.g. "val_loss" or "accuracy".
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before training stops.
        verbose: 1 prints when training stops and when weights are restored.
        mode: "min", "max", or "auto" (min for a loss, else the compiled metric's own
            direction, as in Keras 3).
        baseline: a value to beat; patience restarts only once it is beaten.
        restore_best_weights: at the end of training, go back to the weights of the best
            epoch (even when training ran all its epochs, as in Keras).
        start_from_epoch: epochs of warm-up before monitoring starts.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: `mode` must be 'auto', 'min' or 'max', got "
                             f"{mode!r}.")
        self.monitor, self.mode, self.patience, self.verbose = monitor, mode, patience, verbose
        self._direction: str | None = None  # 'min' or 'max', decided once the model is known
        self.min_delta = abs(min_delta)
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait, self.stopped_epoch, self.best, self.best_weights, self.best_epoch = \
            0, 0, None, None, 0

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self._direction == "max":
            return bool(np.greater(value - self.min_delta, reference))
        return bool(np.less(value + self.min_delta, reference))

    def on_train_begin(self, logs=None):
        # Reset, so that one instance can serve several fit() calls.
        self.wait, self.stopped_epoch, self.best, self.best_weights, self.best_epoch = \
            0, 0, None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping is monitoring {self.monitor!r}, which is not in the "
                          f"logs (available: {', '.join(logs) or 'none'}); pass one of those "
                          "as `monitor`.", UserWarning, stacklevel=2)
            return
        if self._direction is None:
            self._direction = monitor_direction(self.model, self.monitor, self.mode,
                                                "EarlyStopping")
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Until something improves, the first monitored epoch is the best one.
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Patience restarts only once the baseline is beaten too.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
