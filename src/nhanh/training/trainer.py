"""compile / fit / evaluate / predict and the *_on_batch methods, shared by every model kind."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from nhanh import losses as _losses
from nhanh import metrics as _metrics
from nhanh import ops
from nhanh import optimizers as _optimizers
from nhanh import random as _random
from nhanh.callbacks import CallbackList, History
from nhanh.training import loops, progress
from nhanh.training.data import ArrayData
from nhanh.training.loops import to_floats
from nhanh.training.steps import Steps


def _check_verbose(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}.")
    return int(verbose)


def _check_positive_int(value, name: str, allow_none: bool = True):
    if value is None and allow_none:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class Trainer:
    """Training methods of Model; expects self(x, training=...) and the Layer API."""

    compiled = False
    stop_training = False

    # --- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly: bool = False, jit_compile="auto",
                steps_per_execution: int = 1) -> None:
        """Choose the optimizer, loss(es) and metrics; names are checked here, at once."""
        self.optimizer = _optimizers.get(optimizer)
        if loss is None:
            raise ValueError("compile() needs a loss, e.g. compile(loss='mse', optimizer='sgd').")
        self.loss = loss
        self._losses = [self._resolve_loss(lo) for lo in _as_list(loss)]
        weights = loss_weights if loss_weights is not None else [1.0] * len(self._losses)
        weights = _as_list(weights) if not isinstance(weights, dict) else list(weights.values())
        if len(weights) != len(self._losses):
            raise ValueError(f"loss_weights has {len(weights)} entries for {len(self._losses)} "
                             "loss(es); give one weight per output.")
        self._loss_weights = [float(w) for w in weights]
        self._metric_specs = _as_list(metrics)
        self._weighted_metric_specs = _as_list(weighted_metrics)
        for spec in self._metric_specs + self._weighted_metric_specs:
            _metrics.get_for_output(spec, self._losses[0], None, None)  # fail fast on bad names
        self._loss_tracker = _metrics.Mean(name="loss")
        self._compiled_metrics: list | None = None
        self._steps: Steps | None = None
        self.run_eagerly = run_eagerly
        self.jit_compile = jit_compile
        self.compiled = True

    @staticmethod
    def _resolve_loss(identifier):
        loss = _losses.get(identifier)
        if not isinstance(loss, _losses.Loss):
            loss = _losses.LossFunctionWrapper(loss, name=getattr(loss, "__name__", None))
        return loss

    def _assert_compiled(self, method: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"You must compile the model before calling {method}(): "
                               "model.compile(optimizer=..., loss=...).")

    @property
    def metrics(self) -> list:
        if not self.compiled:
            return []
        return [self._loss_tracker] + list(self._compiled_metrics or [])

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def _build_metrics(self, data: ArrayData) -> None:
        if self._compiled_metrics is not None:
            return
        y = data.y if isinstance(data.y, np.ndarray) else None
        y_shape = None if y is None else y.shape
        out_shape = self.compute_output_shape((None, *data.feature_shapes())) \
            if isinstance(data.x, np.ndarray) else None
        self._compiled_metrics = [
            _metrics.get_for_output(spec, self._losses[0], y_shape, out_shape)
            for spec in self._metric_specs + self._weighted_metric_specs]
        self._weighted_flags = [False] * len(self._metric_specs) + \
            [True] * len(self._weighted_metric_specs)

    # --- what the pure steps call ----------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        """Weighted sum of the per-output losses plus the layers' regularization losses."""
        ys, preds = _as_list(y) if isinstance(y, (list, tuple)) else [y], \
            _as_list(y_pred) if isinstance(y_pred, (list, tuple)) else [y_pred]
        if len(ys) != len(self._losses) and len(self._losses) == 1:
            raise ValueError(f"The model has {len(preds)} outputs but was compiled with one loss.")
        total = 0.0
        for loss, weight, yt, yp in zip(self._losses, self._loss_weights, ys, preds):
            total = total + weight * loss(yt, yp, sample_weight=sample_weight)
        for extra in self.losses:
            total = total + extra
        return total

    def update_metrics(self, loss, y, y_pred, sample_weight, x=None) -> list:
        """Update the loss tracker and compiled metrics; their results, in metrics order."""
        first = x[0] if isinstance(x, (list, tuple)) else \
            next(iter(x.values())) if isinstance(x, dict) else x
        self._loss_tracker.update_state(loss, sample_weight=ops.shape(first)[0])
        yt = y[0] if isinstance(y, (list, tuple)) else y
        yp = y_pred[0] if isinstance(y_pred, (list, tuple)) else y_pred
        for metric, weighted in zip(self._compiled_metrics or [], self._weighted_flags):
            metric.update_state(yt, yp, sample_weight=sample_weight if weighted else None)
        return [m.result() for m in self.metrics]

    def _reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    # --- preparation shared by fit / evaluate / predict ------------------------------------
    def _prepare(self, data: ArrayData, with_targets: bool) -> Steps:
        self._check_input_shapes(data)
        if with_targets:
            if data.y is None:
                raise ValueError("This method needs targets: pass y (or validation targets).")
            self._build_metrics(data)
        key = Steps.key_of(self)
        if self._steps is None or self._steps.key != key:
            self._steps = Steps(self)
        return self._steps

    def _check_input_shapes(self, data: ArrayData) -> None:
        features = data.feature_shapes()
        if not isinstance(features, tuple):
            self._ensure_built(features)
            return
        if not self.built:
            self._ensure_built((None, *features))
            return
        expected = self.input_shape
        if isinstance(expected, tuple) and (len(expected) != len(features) + 1 or any(
                e is not None and e != f for e, f in zip(expected[1:], features))):
            raise ValueError(
                f"Input data has shape {(data.num_samples, *features)}, i.e. samples of shape "
                f"{features}, but model {self.name!r} was built for inputs of shape "
                f"{expected} (samples of shape {tuple(expected[1:])}). Give data with "
                f"{'the same features' if len(expected) == 2 else 'the same sample shape'}, or "
                "build a new model for the new shape.")

    def _ensure_built(self, input_shape) -> None:
        if not self.built:
            self.build(input_shape)

    # --- fit -------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks=None, validation_split: float = 0.0,
            validation_data=None, shuffle: bool | str = True, class_weight=None,
            sample_weight=None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int = 1) -> History:
        """Train for `epochs` epochs; returns a History of each epoch's logs."""
        self._assert_compiled("fit")
        verbose = _check_verbose(verbose)
        batch_size = _check_positive_int(batch_size, "batch_size") or 32
        epochs = _check_positive_int(epochs, "epochs")
        steps_per_epoch = _check_positive_int(steps_per_epoch, "steps_per_epoch")
        if not isinstance(initial_epoch, int) or not 0 <= initial_epoch:
            raise ValueError(f"initial_epoch must be a non-negative integer, got {initial_epoch!r}.")
        if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be a float in [0, 1), got {validation_split!r}.")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"shuffle must be True, False or 'batch', got {shuffle!r}.")
        data = ArrayData(x, y, sample_weight, class_weight)
        val_data = None
        if validation_data is not None:
            val_data = ArrayData(*_unpack_validation(validation_data), what="validation x")
        elif validation_split:
            data, val_data = data.split(validation_split)
        steps = self._prepare(data, with_targets=True)
        if val_data is not None:
            self._check_input_shapes(val_data)

        num_steps = data.num_batches(batch_size)
        if steps_per_epoch is not None:
            num_steps = min(num_steps, steps_per_epoch)
        history = History()
        cbs = CallbackList([history, *_as_list(callbacks)], model=self, epochs=epochs,
                           steps=num_steps, verbose=verbose, batch_size=batch_size)
        per_batch = cbs.wants_batch_logs
        rng = np.random.default_rng(_random.draw_seed())
        self.stop_training = False
        self.history = history
        nan_reported = False
        names = self.metrics_names
        cbs.on_train_begin()
        arrays = data.on_device()
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            cbs.on_epoch_begin(epoch)
            if verbose:
                progress.print_epoch_header(epoch, epochs)
            bar = progress.Progbar(num_steps, verbose)
            logs, done = loops.train_epoch(self, steps, arrays,
                                           data.order(shuffle, rng, batch_size), batch_size,
                                           num_steps, bar, cbs, per_batch)
            epoch_logs = to_floats(names, logs) if done else {}
            if not nan_reported and not math.isfinite(epoch_logs.get("loss", 0.0)):
                nan_reported = True
                warnings.warn(
                    f"The loss became {epoch_logs['loss']} during epoch {epoch + 1}. Training "
                    "diverged: lower the learning rate, check the data for NaN or infinite "
                    "values, or add nhanh.callbacks.TerminateOnNaN() to stop at the first bad "
                    "batch.", RuntimeWarning, stacklevel=2)
            if val_data is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_data(val_data, validation_batch_size or batch_size,
                                               validation_steps, verbose=0)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            if verbose:
                bar.finish(done, epoch_logs)
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end()
        return history

    # --- evaluate / predict ----------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight=None, steps: int | None = None, callbacks=None,
                 return_dict: bool = False):
        """Loss (and metrics) on the given data; a scalar, a list, or a dict."""
        self._assert_compiled("evaluate")
        verbose = _check_verbose(verbose)
        batch_size = _check_positive_int(batch_size, "batch_size") or 32
        data = ArrayData(x, y, sample_weight)
        logs = self._evaluate_data(data, batch_size, steps, verbose, callbacks)
        return self._format_result(logs, return_dict)

    def _evaluate_data(self, data: ArrayData, batch_size: int, steps: int | None, verbose: int,
                       callbacks=None) -> dict:
        compiled = self._prepare(data, with_targets=True)
        num_steps = data.num_batches(batch_size) if steps is None else \
            min(steps, data.num_batches(batch_size))
        cbs = CallbackList(_as_list(callbacks), model=self, steps=num_steps, verbose=verbose)
        self._reset_metrics()
        cbs.on_test_begin()
        bar = progress.Progbar(num_steps, verbose)
        logs, done = loops.test_pass(self, compiled, data.on_device(), data.num_samples,
                                     batch_size, num_steps, bar, cbs, cbs.wants_batch_logs)
        result = to_floats(self.metrics_names, logs)
        if verbose:
            bar.finish(done, result)
        cbs.on_test_end(result)
        return result

    def _format_result(self, logs: dict, return_dict: bool):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks=None):
        """Model outputs for x, as numpy arrays, computed batch by batch."""
        verbose = _check_verbose(verbose)
        batch_size = _check_positive_int(batch_size, "batch_size") or 32
        data = ArrayData(x)
        compiled = self._prepare_predict(data)
        num_steps = data.num_batches(batch_size) if steps is None else \
            min(steps, data.num_batches(batch_size))
        cbs = CallbackList(_as_list(callbacks), model=self, steps=num_steps, verbose=verbose)
        cbs.on_predict_begin()
        bar = progress.Progbar(num_steps, verbose)
        outputs = loops.predict_pass(compiled, data.on_device()[0], data.num_samples,
                                     batch_size, num_steps, cbs, cbs.wants_batch_logs)
        if verbose:
            bar.finish(num_steps, {})
        cbs.on_predict_end()
        return _concat(outputs)

    def _prepare_predict(self, data: ArrayData) -> Steps:
        self._check_input_shapes(data)
        if not self.compiled:
            if getattr(self, "_predict_steps", None) is None or \
                    self._predict_steps.key != _PredictOnly.key_of(self):
                self._predict_steps = _PredictOnly(self)
            return self._predict_steps
        return self._prepare(data, with_targets=False)

    # --- single batches --------------------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict: bool = False):
        """One optimizer step on exactly this batch; returns the loss (and metrics)."""
        self._assert_compiled("train_on_batch")
        data = ArrayData(x, y, sample_weight, class_weight)
        steps = self._prepare(data, with_targets=True)
        self._reset_metrics()
        state = steps.gather()
        try:
            state, logs = steps.train(state, data.on_device())
        finally:
            steps.scatter(state)
        return self._format_result(to_floats(self.metrics_names, logs), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        self._assert_compiled("test_on_batch")
        data = ArrayData(x, y, sample_weight)
        logs = self._evaluate_data(data, data.num_samples, None, verbose=0)
        return self._format_result(logs, return_dict)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=ArrayData(x).num_samples, verbose=0)


class _PredictOnly(Steps):
    """Prediction for a model that was never compiled (no optimizer, no metrics)."""

    def __init__(self, model):
        from nhanh import backend as _backend

        self.model = model
        self.trainable = list(model.trainable_variables)
        self.non_trainable = list(model.non_trainable_variables)
        self.key = _PredictOnly.key_of(model)
        self.trace_counts = {"predict": 0, "predict_loop": 0}
        self.predict = _backend.get().compile_step(self._counted("predict", self._predict))
        self._loops = {}

    @staticmethod
    def key_of(model) -> tuple:
        return (tuple(id(v) for v in model.trainable_variables),
                tuple(id(v) for v in model.non_trainable_variables))


def _unpack_validation(validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                         f"(x_val, y_val, sample_weight), got {type(validation_data).__name__}.")
    return validation_data


def _concat(outputs: list):
    first = outputs[0]
    if isinstance(first, (list, tuple)):
        return [np.concatenate([ops.convert_to_numpy(o[i]) for o in outputs])
                for i in range(len(first))]
    if isinstance(first, dict):
        return {k: np.concatenate([ops.convert_to_numpy(o[k]) for o in outputs]) for k in first}
    return np.concatenate([ops.convert_to_numpy(o) for o in outputs])

