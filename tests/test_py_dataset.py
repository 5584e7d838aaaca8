"""PyDataset / Sequence in fit, evaluate and predict: the same numbers as arrays, batches
prepared in parallel and in order, worker errors that surface, and no worker left behind.

The datasets are module-level classes so that the multiprocessing test can pickle them to
spawned workers (which import this module by name).
"""

import multiprocessing
import os
import threading
import time
import traceback
import warnings

import numpy as np
import pytest

import nhanh
from nhanh import layers
from nhanh.utils.py_dataset import PyDataset, Sequence

X = np.random.default_rng(0).normal(size=(22, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
BS = 4  # 6 batches, the last one of 2 samples


class Slices(PyDataset):
    """Batches of X, Y in order; records which indices were asked for and the hook calls."""

    def __init__(self, x=X, y=Y, delay=0.0, fail_at=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.delay, self.fail_at = x, y, delay, fail_at
        self.events, self.scale = [], 1.0
        self._lock = threading.Lock()
        self.running = self.most_running = 0

    def __len__(self):
        return -(-len(self.x) // BS)

    def __getitem__(self, i):
        with self._lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            time.sleep(self.delay)
            if i == self.fail_at:
                raise KeyError(f"no batch number {i} in this dataset")
            self.events.append(i)
            s = slice(i * BS, (i + 1) * BS)
            return self.x[s] * self.scale, self.y[s]
        finally:
            with self._lock:
                self.running -= 1

    def __getstate__(self):  # locks do not pickle; the workers only need the data
        state = dict(self.__dict__)
        state.pop("_lock")
        return state

    def __setstate__(self, state):
        self.__dict__.update(state, _lock=threading.Lock())

    def on_epoch_begin(self):
        self.events.append("begin")

    def on_epoch_end(self):
        self.events.append("end")


class Rescaled(Slices):
    """Changes its data at each epoch's end: the change must reach worker processes."""

    def on_epoch_end(self):
        self.scale *= 2.0


class Endless(PyDataset):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.asked = []

    @property
    def num_batches(self):
        return None

    def __getitem__(self, i):
        self.asked.append(i)
        s = slice((i % 5) * BS, (i % 5 + 1) * BS)
        return X[s], Y[s]


class Forgetful(Sequence):
    """A Keras 2 Sequence whose __init__ never calls super().__init__()."""

    def __init__(self):
        self.n = 3

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return X[i * BS:(i + 1) * BS], Y[i * BS:(i + 1) * BS]


def _model(seed=3):
    nhanh.utils.set_random_seed(seed)
    model = nhanh.Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)),
                              layers.Dense(1)])
    model.compile(optimizer=nhanh.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _history_equal(ha, hb):
    assert ha.keys() == hb.keys()
    for k in ha:
        _close(ha[k], hb[k])


def test_fit_evaluate_predict_equal_arrays():
    a, b = _model(), _model()
    ha = a.fit(X, Y, batch_size=BS, epochs=2, shuffle=False, verbose=0,
               validation_data=(X[:8], Y[:8]))
    hb = b.fit(Slices(workers=3), epochs=2, shuffle=False, verbose=0,
               validation_data=Slices(X[:8], Y[:8]))
    _history_equal(ha.history, hb.history)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        _close(wa, wb)
    _close(a.evaluate(X, Y, batch_size=BS, verbose=0), b.evaluate(Slices(workers=2), verbose=0))
    _close(a.predict(X, batch_size=BS, verbose=0), b.predict(Slices(workers=2), verbose=0))


def test_steps_per_epoch_goes_on_where_the_last_epoch_stopped_as_arrays_do():
    a, b = _model(), _model()
    ha = a.fit(X, Y, batch_size=BS, epochs=4, steps_per_epoch=4, shuffle=False, verbose=0)
    data = Slices()  # one worker: the calls come in the consumer's order
    hb = b.fit(data, epochs=4, steps_per_epoch=4, shuffle=False, verbose=0)
    _history_equal(ha.history, hb.history)
    order = [e for e in data.events if isinstance(e, int)][1:]  # [0] was the first look
    assert order == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3]


def test_shuffle_permutes_the_batch_order_each_epoch_reproducibly():
    orders = []
    for _ in range(2):
        data = Slices()
        _model().fit(data, epochs=3, verbose=0)  # shuffle=True is fit's default
        seen = [e for e in data.events if isinstance(e, int)][1:]
        epochs = [seen[i:i + 6] for i in range(0, 18, 6)]
        assert all(sorted(e) == list(range(6)) for e in epochs)
        assert any(e != list(range(6)) for e in epochs) and epochs[0] != epochs[1]
        orders.append(epochs)
    assert orders[0] == orders[1]  # the seed set by _model decides the order


@pytest.mark.engine_independent
def test_epoch_hooks_come_where_keras_calls_them():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    def run(lib, base):
        events = []

        class Data(base):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)

            def __len__(self):
                return 3

            def __getitem__(self, i):
                events.append(f"get{i}")
                return X[i * BS:(i + 1) * BS], Y[i * BS:(i + 1) * BS]

            def on_epoch_begin(self):
                events.append("data_begin")

            def on_epoch_end(self):
                events.append("data_end")

        class Note(lib.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                events.append("epoch_begin")

            def on_epoch_end(self, epoch, logs=None):
                events.append("epoch_end")

        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(Data(workers=2), epochs=2, shuffle=False, verbose=0, callbacks=[Note()])
        return events[events.index("epoch_begin"):]  # Keras's first look at the data differs

    assert run(nhanh, PyDataset) == run(keras, keras.utils.PyDataset)


def test_workers_prepare_batches_at_the_same_time():
    serial, parallel = Slices(delay=0.05), Slices(delay=0.05, workers=4)
    _model().fit(serial, epochs=1, verbose=0)
    _model().fit(parallel, epochs=1, verbose=0)
    assert serial.most_running == 1
    assert parallel.most_running >= 3


def test_a_worker_error_surfaces_with_its_message_and_traceback():
    before = threading.active_count()
    with pytest.raises(KeyError, match="no batch number 3") as info:
        _model().fit(Slices(fail_at=3, workers=3), epochs=1, verbose=0)
    text = "".join(traceback.format_exception(info.value))
    assert "__getitem__" in text and "PyDataset worker thread" in text
    assert threading.active_count() == before
    with pytest.raises(KeyError, match="no batch number 2"):
        _model().predict(Slices(fail_at=2, workers=2), verbose=0)
    assert threading.active_count() == before


def test_no_worker_thread_outlives_the_call():
    before = threading.active_count()

    class Stop(nhanh.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    data = Slices(workers=4, max_queue_size=6)
    model = _model()
    model.fit(data, epochs=3, verbose=0, callbacks=[Stop()])
    assert threading.active_count() == before
    assert data.events[-1] == "end"  # the epoch cut short still ends
    model.fit(data, epochs=2, steps_per_epoch=2, verbose=0,
              callbacks=[nhanh.callbacks.EarlyStopping("loss", patience=0, min_delta=1e9)])
    assert threading.active_count() == before
    model.evaluate(data, verbose=0, steps=2)
    assert threading.active_count() == before


@pytest.mark.engine_independent
def test_multiprocessing_workers_spawned_and_stopped():
    a, b = _model(), _model()
    ha = a.fit(Rescaled(), epochs=2, shuffle=False, verbose=0)
    hb = b.fit(Rescaled(workers=1, use_multiprocessing=True, max_queue_size=3), epochs=2,
               shuffle=False, verbose=0)
    _history_equal(ha.history, hb.history)  # epoch 2 used the rescaled data in the workers
    assert multiprocessing.active_children() == []
    with pytest.raises(KeyError, match="no batch number 1") as info:
        b.predict(Slices(fail_at=1, workers=1, use_multiprocessing=True), verbose=0)
    assert "Traceback" in str(info.value.__cause__)  # the worker's own traceback
    assert multiprocessing.active_children() == []


def test_endless_dataset_needs_steps_and_continues_across_epochs():
    data = Endless(workers=2)
    model = _model()
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(data, epochs=1, shuffle=False, verbose=0)
    with pytest.warns(UserWarning, match="shuffle"):
        model.fit(data, epochs=2, steps_per_epoch=3, verbose=0)
    assert data.asked[-6:] == [0, 1, 2, 3, 4, 5]
    assert model.predict(data, steps=2, verbose=0).shape == (8, 1)


def test_sequence_without_super_init_works_with_a_warning():
    with pytest.warns(UserWarning, match=r"super\(\).__init__\(\*\*kwargs\)"):
        history = _model().fit(Forgetful(), epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    assert Sequence is PyDataset


def test_class_weight_and_bad_batches():
    labels = (Y > 0).astype("int32")
    a, b = _model(), _model()
    for m in (a, b):
        m.compile(optimizer="sgd", loss="mse")
    ha = a.fit(X, labels, batch_size=BS, class_weight={0: 0.5, 1: 2.0}, shuffle=False,
               verbose=0)
    hb = b.fit(Slices(X, labels), class_weight={0: 0.5, 1: 2.0}, shuffle=False, verbose=0)
    _history_equal(ha.history, hb.history)

    class Four(Slices):
        def __getitem__(self, i):
            return X[:BS], Y[:BS], Y[:BS, 0], Y[:BS, 0]

    with pytest.raises(ValueError, match=r"\(x, y, sample_weight\)"):
        a.fit(Four(), verbose=0)
    with pytest.raises(ValueError, match="y cannot be given"):
        a.fit(Slices(), Y, verbose=0)
