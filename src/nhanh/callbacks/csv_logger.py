"""CSVLogger: one CSV row per epoch, in the layout Keras 3 writes.

The columns are 'epoch' and then the first epoch's log keys, sorted; when those hold no
validation values, a 'val_' column per key is added too (filled with 'NA' until validation runs,
e.g. with validation_freq > 1), as Keras does, so a file's columns do not depend on which epoch
validated first. Rows use the csv module's Excel dialect (CRLF line ends) with `separator` as the
delimiter. With append=True an existing, non-empty file keeps its header and gets new rows only.
"""

from __future__ import annotations

import collections.abc
import csv
import os

import numpy as np

from nhanh.callbacks.callback import Callback
from nhanh.distribution import placement


def _cell(value):
    """A log value as a CSV cell: vectors as "[a, b]", everything else as it is."""
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Stream each epoch's logs to a CSV file.

    Args:
        filename: Path of the CSV file (a str or os.PathLike).
        separator: The delimiter between cells.
        append: True: add rows to an existing file (to continue a training run);
            False: start the file anew.
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"CSVLogger: `filename` must be a path (str or os.PathLike), got "
                            f"{type(filename).__name__} {filename!r}.")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: `separator` must be a single character, got "
                             f"{separator!r}.")
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys: list[str] | None = None
        self.writer = None
        self.csv_file = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                self.append_header = not f.readline()
        else:
            self.append_header = True
        self._close()
        # In a multi-process run, process 0 writes the log; the others write nowhere.
        target = self.filename if placement.writes_files() else os.devnull
        self.csv_file = open(target, "a" if self.append else "w", newline="")
        self.keys, self.writer = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys],
                                         dialect="excel", delimiter=self.sep)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, _cell(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self._close()
        self.writer = None

    def _close(self) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
