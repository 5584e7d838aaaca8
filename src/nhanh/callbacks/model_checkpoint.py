"""ModelCheckpoint: save the model, or its weights, as training goes, as Keras 3 does.

Arguments, file names, the choice of what is "best" and the printed lines follow Keras 3.
Saving at each epoch's end uses epoch hooks only, so fit keeps its fused loops; only an
integer `save_freq` asks for per-batch calls (and so steps batch by batch).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from nhanh import ops
from nhanh.callbacks.callback import Callback
from nhanh.callbacks.monitor import monitor_direction
from nhanh.training import progress


class ModelCheckpoint(Callback):
    """Save the model (`model.save`) or its weights (`model.save_weights`) during `fit`.

    Args:
        filepath: where to save; may hold `{epoch}`, `{batch}` (with an integer `save_freq`)
            and any log key, with formats: `"ckpt-{epoch:02d}-{val_loss:.2f}.keras"`. It must
            end in ".keras" for whole models (Keras also takes its legacy ".h5", which
            nhanh does not write), in ".weights.h5" with `save_weights_only`.
        monitor: the log compared between saves when `save_best_only`.
        verbose: 1 prints a line whenever the callback saves or decides not to.
        save_best_only: save only when `monitor` improves on the best value so far.
        save_weights_only: save the weights (and the optimizer's state) only.
        mode: "min", "max" or "auto" (min for a loss, else the compiled metric's own
            direction, as in Keras 3).
        save_freq: "epoch", or a number of batches between saves.
        initial_value_threshold: the value `monitor` must beat for the first save.
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"ModelCheckpoint mode '{mode}' is unknown, fallback to auto mode.",
                          stacklevel=2)
            mode = "auto"
        self.monitor, self.mode, self.verbose = monitor, mode, verbose
        self.best = initial_value_threshold
        self.filepath = os.fspath(filepath)
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        if save_freq != "epoch" and (not isinstance(save_freq, (int, np.integer))
                                     or isinstance(save_freq, bool) or save_freq <= 0):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are "
                             "'epoch' or a positive integer (a number of batches).")
        self.save_freq = save_freq
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                             "filepath provided must end in `.weights.h5` (Keras weights "
                             f"format). Received: filepath={self.filepath}")
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5")):
            raise ValueError("The filepath provided must end in `.keras` (Keras model format). "
                             f"Received: filepath={self.filepath}")
        if not save_weights_only and self.filepath.endswith(".h5"):
            # Keras takes it (its legacy HDF5 model file); nhanh does not write that format,
            # so say so now rather than at the first save, mid-training.
            raise ValueError("nhanh does not write Keras 2's legacy HDF5 model files, so "
                             "ModelCheckpoint cannot save whole models to a `.h5` path. Use a "
                             "`.keras` path, or save_weights_only=True with a `.weights.h5` "
                             f"path. Received: filepath={self.filepath}")
        self._direction: str | None = None
        self._batches_seen_since_last_saving, self._last_batch_seen = 0, None
        self._current_epoch = 0

    def wants_batch_logs(self) -> bool:
        return self.save_freq != "epoch"  # saving each epoch keeps fit's fused loops

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:  # a new epoch
            self._batches_seen_since_last_saving += batch + 1
        else:
            self._batches_seen_since_last_saving += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _is_improvement(self, current, best) -> bool:
        if best is None:
            return True
        if self._direction is None:
            self._direction = monitor_direction(self.model, self.monitor, self.mode,
                                                "ModelCheckpoint")
        compare = np.greater if self._direction == "max" else np.less
        return bool(compare(current, best))

    def _should_save_model(self, epoch: int, logs: dict, filepath: str) -> bool:
        if not self.save_best_only:
            self._say(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        if (isinstance(current, np.ndarray) or ops.is_tensor(current)) and \
                len(current.shape) > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. "
                          f"Received: {current}. Falling back to `save_best_only=False`.",
                          stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            self._say(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        self._say(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch: int, batch: int | None, logs) -> None:
        logs = logs or {}
        filepath = self._file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {filepath}")
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        self._say(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _file_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        """The template filled with the epoch (from 1), the batch (from 1) and the logs."""
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}. The keys it can use: epoch"
                           f"{'' if batch is None else ', batch'}, "
                           f"{', '.join(logs) or '(no logs)'}.") from None

    def _say(self, message: str) -> None:
        if self.verbose > 0:
            progress.write(message + "\n")
