"""Callbacks that change the optimizer's learning rate between epochs.

They set `model.optimizer.learning_rate = x`, as Keras users do. nhanh's optimizer keeps a float
learning rate in a Variable that is part of the training step's state, so the new value reaches
the compiled (and, on JAX, fused) step at the next epoch without recompiling; both callbacks use
epoch hooks only, so fit keeps its fused loops. Like Keras 3, both write the rate in force during
the epoch into the epoch's logs as 'learning_rate', so History, CSVLogger and the progress bar
(which come after the user's callbacks) show it.

Decisions where Keras differs: an unknown `mode` raises instead of warning; a schedule may return
any real number (Keras accepts only floats); and whether a schedule takes (epoch) or
(epoch, lr) is read from its signature, so a TypeError raised inside it is not swallowed.
"""

from __future__ import annotations

import inspect
import numbers
import warnings
from typing import Callable

import numpy as np

from nhanh import ops
from nhanh.callbacks.callback import Callback
from nhanh.callbacks.monitor import monitor_direction


def current_learning_rate(optimizer) -> float:
    """The optimizer's learning rate as a Python float (one host read)."""
    return float(ops.convert_to_numpy(optimizer.learning_rate))


class ReduceLROnPlateau(Callback):
    """Lower the learning rate when a monitored value has stopped improving.

    Args:
        monitor: The log to watch, e.g. "val_loss".
        factor: Multiplier applied to the learning rate, in [0, 1): `new_lr = lr * factor`.
        patience: Epochs without improvement before the rate is lowered.
        verbose: 1 prints a line each time the rate is lowered.
        mode: "min", "max", or "auto" (min for a loss, else the metric's own direction).
        min_delta: The smallest change that counts as an improvement.
        cooldown: Epochs after a reduction during which no further reduction happens.
        min_lr: The rate never goes below this.
        epsilon: Keras 2's name for `min_delta`.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:  # Keras 2 spelling
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau() got unexpected keyword argument(s) "
                            f"{sorted(kwargs)}; accepted: monitor, factor, patience, verbose, "
                            "mode, min_delta, cooldown, min_lr.")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: `factor` must be below 1.0 (the learning rate "
                             f"is multiplied by it), got factor={factor!r}.")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ReduceLROnPlateau: `mode` must be 'auto', 'min' or 'max', got "
                             f"{mode!r}.")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode, self.min_delta, self.cooldown, self.min_lr = mode, abs(min_delta), cooldown, \
            min_lr
        self.best, self.wait, self.cooldown_counter = None, 0, 0
        self._direction: str | None = None

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_improvement(self, value: float) -> bool:
        if self.best is None:
            return True
        # Compared in float32, as Keras does (its comparison runs as a backend op).
        if self._direction == "max":
            return bool(np.float32(value - self.min_delta) > np.float32(self.best))
        return bool(np.float32(value + self.min_delta) < np.float32(self.best))

    def on_epoch_end(self, epoch, logs=None):
        if self._direction is None:
            self._direction = monitor_direction(self.model, self.monitor, self.mode,
                                                "ReduceLROnPlateau")
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = current_learning_rate(optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau is monitoring {self.monitor!r}, which is not in "
                          f"the logs (available: {', '.join(logs)}); pass one of those as "
                          "`monitor`.", UserWarning, stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best, self.wait = current, 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old_lr = logs["learning_rate"]
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                      f"{new_lr}.")
            self.cooldown_counter, self.wait = self.cooldown, 0


def _takes_learning_rate(schedule: Callable) -> bool:
    """Whether schedule(epoch, lr) is a valid call (else Keras 1's schedule(epoch))."""
    try:
        inspect.signature(schedule).bind(0, 0.0)
    except TypeError:
        return False
    except ValueError:  # no signature to read (some builtins): assume the current API
        return True
    return True


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from `schedule(epoch, lr)`.

    Args:
        schedule: A function of the epoch index (from 0) and the current learning rate (float)
            returning the new learning rate; a function of the epoch alone also works.
        verbose: 1 prints the rate set at each epoch.
    """

    def __init__(self, schedule: Callable, verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: `schedule` must be a function "
                            f"(epoch, lr) -> lr, got {type(schedule).__name__} {schedule!r}.")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if _takes_learning_rate(self.schedule):
            value = self.schedule(epoch, current_learning_rate(optimizer))
        else:
            value = self.schedule(epoch)
        if isinstance(value, bool) or not (isinstance(value, numbers.Real) or (
                ops.is_tensor(value) or isinstance(value, np.ndarray)) and ops.shape(value) == ()):
            raise ValueError(f"LearningRateScheduler: the schedule must return a number, got "
                             f"{type(value).__name__} {value!r} at epoch {epoch}.")
        if not isinstance(value, numbers.Real):
            value = float(ops.convert_to_numpy(value))
        optimizer.learning_rate = value
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{value}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)
