"""One epoch of training, one evaluation pass, one prediction pass over in-memory data.

The data lives on the device for the whole call. Without per-batch callbacks, full batches
run as stretches of steps inside one compiled loop (one dispatch per stretch); the last,
partial batch then runs on its own, exactly once, as it would step by step. A callback that
overrides a per-batch hook gets the step-by-step path, with the same batches in the same order.
"""

from __future__ import annotations

import time

import numpy as np

from nhanh import backend as _backend
from nhanh import ops
from nhanh.distribution import placement
from nhanh.training import progress
from nhanh.training.data import slice_rows
from nhanh.training.steps import Steps


def to_floats(names: list[str], values) -> dict[str, float]:
    """Device metric values -> {name: float}; the one place a loop reads them on the host.
    A metric with a value per threshold or class keeps its NumPy vector, as in Keras."""
    return sorted_logs({k: _host_value(v) for k, v in zip(names, values)})


def _host_value(value):
    value = ops.convert_to_numpy(value)
    return float(value) if value.ndim == 0 else value


def sorted_logs(logs: dict) -> dict:
    """Logs with their keys in alphabetical order, as Keras 3 hands them to History,
    callbacks and the progress bar ('accuracy', 'loss', 'val_accuracy', 'val_loss')."""
    return dict(sorted(logs.items()))


class Stretch:
    """How many steps the next compiled stretch runs: all of them when nothing is drawn,
    otherwise sized from the last stretch's time so the bar moves about every 0.1 s."""

    def __init__(self, total: int, interactive: bool, start: int = 1):
        self.total, self.interactive = total, interactive
        self.size = start if interactive else max(total, 1)

    def next(self, done: int) -> int:
        return min(self.size, self.total - done)

    def measured(self, count: int, seconds: float) -> None:
        if self.interactive and seconds > 0:
            wanted = int(count * progress.REFRESH_S / seconds)
            self.size = max(1, min(wanted, 4 * self.size))


def _index(order: np.ndarray, start: int, stop: int):
    return ops.convert_to_tensor(order[start:stop])


def _loop_order(order: np.ndarray):
    """The epoch's row order as a compiled loop takes it: on a single JAX device the NumPy
    array itself, which jit moves in C++ (a few µs; device_put's 40 µs were a tenth of the
    article's epoch); elsewhere (a Python loop, or a distribution's devices) a tensor."""
    if _backend.get().compiled_loops and placement.distribution() is None:
        return order.astype(np.int32)
    return ops.convert_to_tensor(order)


def row_batches(order: np.ndarray, batch_size: int, num_steps: int, first: int = 0):
    """The epoch's batches as row indices (device arrays) into device-resident data."""
    for i in range(first, num_steps):
        yield _index(order, i * batch_size, (i + 1) * batch_size)


def train_batches(model, steps: Steps, batches, bar: progress.Progbar, cbs,
                  batch_logs: bool, arrays=None, first: int = 0):
    """Step by step over an iterator of batches (or, with `arrays`, of row indices into
    them: the rows are then gathered inside the compiled step); with batch_logs, every
    batch's callbacks see the Variables as they are after that batch. `first` counts the
    epoch's steps already done before these batches (a resumed epoch). Returns (device logs,
    steps done, counting those)."""
    logs, done = None, first
    state = steps.gather()
    try:
        for i, batch in enumerate(batches, first):
            if batch_logs:
                cbs.on_train_batch_begin(i)
                state = steps.gather()  # callbacks may have changed Variables
            if arrays is None:
                state, logs = steps.train(state, batch)
            else:
                state, logs = steps.train_rows(state, arrays, batch)
            done = i + 1
            if batch_logs:
                steps.scatter(state)
                cbs.on_train_batch_end(i, to_floats(steps.log_names, logs))
                if model.stop_training:
                    break
            bar.update(done, lambda: to_floats(steps.log_names, logs))
    finally:
        steps.scatter(state)
    return logs, done


def train_epoch(model, steps: Steps, arrays, order: np.ndarray, batch_size: int,
                num_steps: int, bar: progress.Progbar, cbs, per_batch: bool, first: int = 0):
    """Run one epoch over device-resident arrays, from step `first` (0, or where a resumed
    epoch stopped); returns (device logs, steps done)."""
    if per_batch:
        return train_batches(model, steps, row_batches(order, batch_size, num_steps, first),
                             bar, cbs, cbs.wants_batch_logs, arrays, first)
    full = min(num_steps, len(order) // batch_size)
    logs, done = None, first
    state = steps.gather()
    try:
        loop, order_on_device = steps.loop("train", batch_size), _loop_order(order)
        stretch = Stretch(full, bar.interactive, steps.stretch_size)
        while done < full:
            count = stretch.next(done)
            started = time.perf_counter()
            state, logs = loop(state, arrays, order_on_device, done, count)
            done += count
            if bar.interactive:
                shown = to_floats(steps.log_names, logs)  # waits for the stretch to finish
                stretch.measured(count, time.perf_counter() - started)
                bar.update(done, lambda: shown)
        if bar.interactive:
            steps.stretch_size = stretch.size  # the next epoch starts from what was learned
        if num_steps > max(full, first):  # the short last batch: gathered inside its step
            state, logs = steps.train_rows(state, arrays,
                                           _index(order, full * batch_size, len(order)))
            done += 1
    finally:
        steps.scatter(state)
    return logs, done


def sequential_rows(arrays, num_samples: int, batch_size: int, num_steps: int):
    """Consecutive batches of device-resident arrays (evaluation and prediction order)."""
    for i in range(num_steps):
        yield slice_rows(arrays, i * batch_size, min(batch_size, num_samples - i * batch_size))


def test_batches(steps: Steps, batches, bar: progress.Progbar, cbs, batch_logs: bool):
    """Accumulate the metrics batch by batch; returns (device logs, steps done)."""
    metric_state, weights = steps.gather_metrics(), steps.weights()
    logs, done = None, 0
    try:
        for i, batch in enumerate(batches):
            if batch_logs:
                cbs.on_test_batch_begin(i)
            metric_state, logs = steps.test(metric_state, weights, batch)
            done = i + 1
            if batch_logs:
                cbs.on_test_batch_end(i, to_floats(steps.log_names, logs))
            bar.update(done, lambda: to_floats(steps.log_names, logs))
    finally:
        steps.scatter_metrics(metric_state)
    return logs, done


def test_pass(model, steps: Steps, arrays, num_samples: int, batch_size: int, num_steps: int,
              bar: progress.Progbar, cbs, per_batch: bool):
    """Accumulate the metrics over device-resident arrays; returns (device logs, steps done)."""
    if per_batch:
        return test_batches(steps, sequential_rows(arrays, num_samples, batch_size, num_steps),
                            bar, cbs, cbs.wants_batch_logs)
    full = min(num_steps, num_samples // batch_size)
    metric_state, weights = steps.gather_metrics(), steps.weights()
    logs, done = None, 0
    try:
        loop, stretch = steps.loop("test", batch_size), Stretch(full, bar.interactive)
        while done < full:
            count = stretch.next(done)
            started = time.perf_counter()
            metric_state, logs = loop(metric_state, weights, arrays, done, count)
            done += count
            if bar.interactive:
                shown = to_floats(steps.log_names, logs)
                stretch.measured(count, time.perf_counter() - started)
                bar.update(done, lambda: shown)
        if num_steps > full:
            rows = ops.convert_to_tensor(np.arange(full * batch_size, num_samples))
            metric_state, logs = steps.on_rows("test")(metric_state, weights, arrays, rows)
            done += 1
    finally:
        steps.scatter_metrics(metric_state)
    return logs, done


def predict_batches(steps: Steps, batches, cbs, batch_logs: bool) -> list:
    """Model outputs batch by batch."""
    weights, seeds, outputs = steps.weights(), steps.gather_seeds(), []
    try:
        for i, x in enumerate(batches):
            if batch_logs:
                cbs.on_predict_batch_begin(i)
            out, seeds = steps.predict(weights, seeds, x)
            outputs.append(out)
            if batch_logs:
                cbs.on_predict_batch_end(i, {"outputs": outputs[-1]})
    finally:
        steps.scatter_seeds(seeds)
    return outputs


def predict_pass(steps: Steps, x, num_samples: int, batch_size: int, num_steps: int, cbs,
                 per_batch: bool) -> list:
    """Model outputs, one entry per compiled call (a stretch of full batches, or one batch).
    Where loops do not compile into one program (PyTorch), outputs are kept per batch and
    joined once at the end instead of being written into a buffer batch by batch."""
    if per_batch or not _backend.get().compiled_loops:
        return predict_batches(steps, sequential_rows(x, num_samples, batch_size, num_steps),
                               cbs, per_batch and cbs.wants_batch_logs)
    weights, seeds, outputs = steps.weights(), steps.gather_seeds(), []
    try:
        full = min(num_steps, num_samples // batch_size)
        if full:
            out, seeds = steps.loop("predict", batch_size, full)(weights, seeds, x)
            outputs.append(out)
        if num_steps > full:
            rows = ops.convert_to_tensor(np.arange(full * batch_size, num_samples))
            out, seeds = steps.on_rows("predict")(weights, seeds, x, rows)
            outputs.append(out)
    finally:
        steps.scatter_seeds(seeds)
    return outputs
