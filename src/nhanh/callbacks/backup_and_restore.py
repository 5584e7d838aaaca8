"""BackupAndRestore: a `fit` killed at any moment, run again, ends as if never interrupted.

Keras 3's arguments; nhanh goes further than Keras in three ways, so that the resumed run's
weights, optimizer state and History equal an uninterrupted run's:

- it resumes at the saved epoch *and step*: fit replays the interrupted run's shuffling
  (the seed is in the backup) and skips the batches already done (training/resume.py);
- the metrics accumulated so far in that epoch are in the backup (their Variables' values, in
  the JSON), so the epoch's logged loss and metrics cover all of its batches;
- the logs of the epochs already finished are in the backup too, and go back into History.

A backup is a pair, each file written whole before it is used: the weights (with the
optimizer's state, by `model.save_weights`) under a new name, then `training_metadata.json`,
written under a temporary name and renamed into place, which names that weights file. The
rename is the commit: a kill before it leaves the previous pair whole; the files no longer
named are removed after it.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np

from nhanh.callbacks.callback import Callback
from nhanh.distribution import placement
from nhanh.callbacks.history import History

_METADATA = "training_metadata.json"
_WEIGHTS = re.compile(r"^backup-(\d+)\.weights\.h5$")


class BackupAndRestore(Callback):
    """Back up the training state during `fit`, and restore it when `fit` starts again.

    Args:
        backup_dir: folder for the backup; it must serve this one training run only.
        save_freq: "epoch" (back up at each epoch's end) or a positive integer (every that many
            batches, which makes fit step batch by batch). `False`: never back up (Keras's
            preemption checkpointing, which it serves, does not exist in nhanh).
        double_checkpoint: keep the previous backup too, and fall back on it when the latest
            one cannot be read.
        delete_checkpoint: remove `backup_dir` when training ends.
    """

    def __init__(self, backup_dir, save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True):
        super().__init__()
        if not backup_dir:
            raise ValueError(f"Empty `backup_dir` argument passed (got {backup_dir!r}): give "
                             "the folder to keep the backup in.")
        if save_freq is not False and save_freq != "epoch" and (
                not isinstance(save_freq, (int, np.integer)) or save_freq <= 0):
            raise ValueError("Invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq!r}. Expected either 'epoch' or a positive "
                             "integer (a number of batches).")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint, self.delete_checkpoint = double_checkpoint, delete_checkpoint
        self._metadata_path = os.path.join(self.backup_dir, _METADATA)
        self._reset()

    def _reset(self) -> None:
        self._epoch, self._step, self._since_save, self._save_at_epoch_end = 0, 0, 0, False
        self._history: list[list] = []  # [epoch, logs] of each finished epoch
        self._resume_at, self._metric_values = None, None
        self._saved: list[dict] = []  # the backups in the metadata, newest first
        self._generation = 0

    def _batch_freq(self) -> bool:
        return self.save_freq not in ("epoch", False)

    def wants_batch_logs(self) -> bool:
        return self._batch_freq()  # backing up each epoch keeps fit's fused loops

    # --- restoring -------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._reset()
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, your model must be built "
                             f"before you call `fit()`. Model {self.model.name!r} is unbuilt. "
                             "Build it first, e.g. by calling it on a batch of data.")
        if not os.path.exists(self._metadata_path):
            return
        with open(self._metadata_path, encoding="utf-8") as f:
            metadata = json.load(f)
        entries = metadata.get("checkpoints") or [_keras_entry(metadata)]
        for i, entry in enumerate(entries):
            try:
                self._restore(entry)
                break
            except (OSError, ValueError):
                if i + 1 == len(entries):  # no older backup left to fall back on
                    raise
        self._saved = entries[i:]
        self._generation = max(int(e.get("generation", 0)) for e in entries)

    def _restore(self, entry: dict) -> None:
        path = os.path.join(self.backup_dir, entry["weights"])
        if not os.path.exists(path):
            raise FileNotFoundError(f"The backup in {self.backup_dir!r} names the weights file "
                                    f"{entry['weights']!r}, which is not there.")
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self.model.load_weights(path)
        epoch, step = int(entry["epoch"]), int(entry.get("step", 0))
        self.model._initial_epoch, self.model._initial_step = epoch, step
        if entry.get("seed") is not None:
            self.model._shuffle_seed = int(entry["seed"])
        self._history = [[e, _logs_from_json(lg)] for e, lg in entry.get("history", [])]
        history = getattr(self.model, "history", None)
        if isinstance(history, History):  # fit's own, made before on_train_begin
            for e, lg in self._history:
                history.on_epoch_end(e, lg)
        self._resume_at, self._metric_values = (epoch, step), entry.get("metrics")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._step = epoch, 0
        if self._resume_at is not None and self._resume_at[0] == epoch:
            self._step = self._resume_at[1]
            if self._step and self._metric_values is not None:  # fit reset them just before
                _assign_metric_values(self.model, self._metric_values)
        self._resume_at, self._metric_values = None, None

    # --- backing up ------------------------------------------------------------------------
    def on_train_batch_end(self, batch, logs=None):
        if not self._batch_freq():
            return
        self._step = batch + 1
        self._since_save += 1
        if self._since_save < self.save_freq:
            return
        self._since_save = 0
        if self._step == self.params.get("steps"):  # the epoch's end says it better
            self._save_at_epoch_end = True
        else:
            self._save(self._epoch, self._step)

    def on_epoch_end(self, epoch, logs=None):
        self._history.append([epoch, logs if logs is not None else {}])
        if self.save_freq == "epoch" or self._save_at_epoch_end:
            self._save_at_epoch_end = False
            self._save(epoch + 1, 0)

    def _save(self, epoch: int, step: int) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        self._generation += 1
        name = f"backup-{self._generation}.weights.h5"
        self.model.save_weights(os.path.join(self.backup_dir, name), overwrite=True)
        entry = {"generation": self._generation, "weights": name, "epoch": epoch,
                 "step": step, "seed": getattr(self.model, "_shuffle_seed", None),
                 "history": [[e, _logs_to_json(lg)] for e, lg in self._history],
                 "metrics": _metric_values(self.model) if step else None}
        self._saved = [entry] + self._saved[:1 if self.double_checkpoint else 0]
        # Keras's own keys first ("epoch", "batch"), so Keras's reader sees where it stood.
        _write_atomically(self._metadata_path, json.dumps(
            {"epoch": epoch, "batch": step, "checkpoints": self._saved}))
        kept = {e["weights"] for e in self._saved}
        if not placement.writes_files():  # (another process's files; process 0 keeps them)
            return
        for file in os.listdir(self.backup_dir):
            if _WEIGHTS.match(file) and file not in kept:
                os.remove(os.path.join(self.backup_dir, file))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir) and \
                placement.writes_files():
            shutil.rmtree(self.backup_dir)


def _keras_entry(metadata: dict) -> dict:
    """A backup Keras wrote: its weights file and the epoch to start from."""
    return {"weights": "latest.weights.h5", "epoch": metadata.get("epoch", 0), "step": 0}


def _metric_values(model) -> list:
    return [{"dtype": str(v.numpy().dtype), "value": v.numpy().tolist()}
            for m in model.metrics for v in m.variables]


def _assign_metric_values(model, values: list) -> None:
    variables = [v for m in model.metrics for v in m.variables]
    if len(variables) != len(values):
        raise ValueError(f"The backup holds {len(values)} metric values but the model's "
                         f"metrics have {len(variables)} variables: the backup comes from a "
                         "model compiled with other metrics. Delete the backup folder to "
                         "start afresh, or compile as the backed-up run did.")
    for v, value in zip(variables, values):
        v.assign(np.asarray(value["value"], dtype=value["dtype"]))


def _logs_to_json(logs: dict) -> dict:
    return {k: np.asarray(v).tolist() for k, v in logs.items()}


def _logs_from_json(logs: dict) -> dict:
    return {k: v if isinstance(v, (int, float)) else np.asarray(v, dtype="float32")
            for k, v in logs.items()}


def _write_atomically(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, fsynced and renamed
    into place: the old file stays whole until the new one is."""
    from nhanh.saving.archive import atomic_open  # nhanh's one way of writing a file safely

    with atomic_open(path, "w") as f:
        f.write(text)
