"""History: every epoch's logs, returned by fit()."""

from __future__ import annotations

from nhanh.callbacks.callback import Callback


class History(Callback):
    """Records each epoch's logs: `history[key]` lists the values by epoch, `epoch` the epoch
    numbers. `fit()` adds one and returns it."""

    def __init__(self):
        super().__init__()
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
