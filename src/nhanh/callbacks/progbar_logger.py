"""ProgbarLogger: the callback that draws fit's "Epoch i/n" line and progress bar.

As in Keras 3, fit adds one after the user's callbacks and History when verbose is not 0, and
uses the user's own instead when one is in `callbacks` (its position in the list then decides
which callbacks' printed lines come before the epoch's finished bar). Being last, it finishes an
epoch's bar after every other callback's on_epoch_end, so the bar shows what they added to the
logs (ReduceLROnPlateau's 'learning_rate').

Unlike Keras's, it overrides no per-batch hook, so it does not force fit to step batch by batch:
fit updates `progbar` itself while the fused loops run (reading device values about every 0.1 s,
see training/progress.py) and records in `seen` how many steps the epoch ran. Its text follows
fit's `verbose` (params["verbose"]): 1 a bar, 2 one line per epoch, 0 nothing. evaluate() and
predict() draw their own bars from their `verbose`; this callback adds nothing there.
"""

from __future__ import annotations

from nhanh.callbacks.callback import Callback
from nhanh.training import progress


class ProgbarLogger(Callback):
    """Print each epoch's header, progress bar and final logs during fit."""

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar: progress.Progbar | None = None
        self.target: int | None = None
        self.verbose, self.epochs = 1, 1

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        if self.verbose and self.epochs > 1:  # as Keras 3: no "Epoch 1/1" line
            progress.print_epoch_header(epoch, self.epochs)
        self.progbar = progress.Progbar(self.target, self.verbose)

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose and self.progbar is not None:
            self.progbar.finish(self.seen or self.target or 0, logs or {})
