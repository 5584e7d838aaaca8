"""TerminateOnNaN: stop training at the first batch whose loss is NaN or infinite."""

from __future__ import annotations

import math
import sys

from nhanh.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stops training after the first batch whose loss is NaN or infinite, saying so on
    stderr."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            sys.stderr.write(f"Batch {batch}: invalid loss ({loss}), terminating training.\n")
            self.model.stop_training = True
