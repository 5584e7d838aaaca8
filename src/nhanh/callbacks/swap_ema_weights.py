"""SwapEMAWeights: evaluate (and predict) with the optimizer's moving average of the weights.

With an optimizer made with use_ema=True, the weights and their averages (the optimizer's
"average" slots) trade places before evaluation, including fit's validation, and trade back
after it, so training goes on from the trained weights. With swap_on_epoch=True they also trade
at each epoch's end and back at the next epoch's start, so callbacks after this one (a
checkpoint) see the averages; after the last epoch both hold the averages.

The swap copies through the host, as Keras's does, at epoch boundaries only: no per-batch hook.
One difference from Keras 3.15: after predict() the trained weights come back (Keras leaves the
averages in the model until the next evaluation).
"""

from __future__ import annotations

from nhanh import ops
from nhanh.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Swap the model's weights with the optimizer's EMA weights around evaluation.

    Args:
        swap_on_epoch: Also swap at each epoch's end (and back at the next epoch's start), so
            that the other callbacks' on_epoch_end see the EMA weights.
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _pairs(self):
        optimizer = getattr(self.model, "optimizer", None)
        if not getattr(optimizer, "use_ema", False):
            raise ValueError(
                "SwapEMAWeights needs an optimizer with a moving average of the weights: "
                "create it with use_ema=True (e.g. nhanh.optimizers.SGD(use_ema=True)), got "
                f"{type(optimizer).__name__ if optimizer is not None else 'no optimizer'}"
                f"{' with use_ema=False' if optimizer is not None else ''}.")
        return [(v, optimizer.slot(v, "average")) for v in optimizer._model_variables]

    def _swap(self) -> None:
        for variable, average in self._pairs():
            trained = ops.convert_to_numpy(variable.value)
            variable.assign(average.value)
            average.assign(trained)
        self._ema_weights_in_model = not self._ema_weights_in_model

    def _swap_in(self) -> None:
        if not self._ema_weights_in_model:
            self._swap()

    def _swap_out(self) -> None:
        if self._ema_weights_in_model:
            self._swap()

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_in()
            if epoch == self.params.get("epochs", 0) - 1:
                for variable, average in self._pairs():  # training ends on the averages
                    # a host copy: two Variables must not share one (donated) device buffer
                    average.assign(ops.convert_to_numpy(variable.value))

    def on_test_begin(self, logs=None):
        self._swap_in()

    def on_test_end(self, logs=None):
        self._swap_out()

    def on_predict_begin(self, logs=None):
        self._swap_in()

    def on_predict_end(self, logs=None):
        self._swap_out()
