"""EarlyStopping says and does what Keras 3's does: the same hooks, driven with the same
monitored values, print the same lines, stop at the same epoch and restore the same weights."""

import os

import numpy as np
import pytest

from nhanh import callbacks

pytestmark = pytest.mark.engine_independent  # pure Python bookkeeping


class FakeModel:
    """What EarlyStopping touches: weights (here, the epoch they were saved at) and the stop
    flag."""

    def __init__(self):
        self.epoch, self.stop_training, self.restored = 0, False, None

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.restored = int(weights[0])


def drive(cls, values, capsys, monitor="loss", **kwargs):
    """Run one fit's worth of hooks over `values`; (printed text, epochs run, restored)."""
    stop = cls(monitor=monitor, **kwargs)
    model = FakeModel()
    stop.set_model(model)
    stop.on_train_begin()
    ran = 0
    for epoch, value in enumerate(values):
        model.epoch, ran = epoch, epoch + 1
        stop.on_epoch_end(epoch, {monitor: value})
        if model.stop_training:
            break
    stop.on_train_end()
    return capsys.readouterr().out, ran, model.restored


CASES = [
    ([1.0, 0.5, 0.6, 0.7, 0.8], dict(patience=2, restore_best_weights=True)),
    ([3.0, 2.0, 1.0], dict(patience=1, restore_best_weights=True)),  # no stop, still restores
    ([1.0, 0.5, 0.6, 0.7, 0.8], dict(patience=2)),
    ([1.0, 1.0, 1.0, 0.2], dict(patience=0, restore_best_weights=True)),
    ([1.0, 0.9, 0.95, 0.8, 0.7], dict(patience=2, baseline=0.5, restore_best_weights=True)),
    ([1.0, 0.99, 0.98, 0.5], dict(patience=2, min_delta=0.05, restore_best_weights=True)),
    ([5.0, 4.0, 6.0, 6.0, 6.0, 6.0], dict(patience=1, start_from_epoch=2,
                                          restore_best_weights=True)),
    ([0.5, 0.7, 0.6, 0.6], dict(patience=1, mode="max", restore_best_weights=True)),
]


@pytest.fixture(scope="module")
def keras_early_stopping():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    return keras.callbacks.EarlyStopping


@pytest.mark.parametrize("values, kwargs", CASES)
@pytest.mark.parametrize("verbose", [0, 1])
def test_early_stopping_matches_keras(values, kwargs, verbose, capsys, keras_early_stopping):
    want = drive(keras_early_stopping, values, capsys, verbose=verbose, **kwargs)
    got = drive(callbacks.EarlyStopping, values, capsys, verbose=verbose, **kwargs)
    assert got == want


def test_early_stopping_messages_text(capsys):
    out, ran, restored = drive(callbacks.EarlyStopping, [1.0, 0.5, 0.6, 0.7, 0.8], capsys,
                               patience=2, verbose=1, restore_best_weights=True)
    assert out.splitlines() == ["Epoch 4: early stopping",
                                "Restoring model weights from the end of the best epoch: 2."]
    assert (ran, restored) == (4, 1)


def test_early_stopping_warns_about_a_missing_monitor(capsys):
    stop = callbacks.EarlyStopping(monitor="val_loss")
    stop.set_model(FakeModel())
    stop.on_train_begin()
    with pytest.warns(UserWarning, match="'val_loss'.*available: loss"):
        stop.on_epoch_end(0, {"loss": 1.0})
