"""compile / fit / evaluate / predict and the *_on_batch methods, shared by every model kind."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np

from nhanh import backend as _backend
from nhanh import config
from nhanh import ops
from nhanh import optimizers as _optimizers
from nhanh import random as _random
from nhanh.callbacks import CallbackList, History, ProgbarLogger
from nhanh.distribution import placement
from nhanh.training import host_prefix, loops, progress, resume
from nhanh.training.adapters import batch_source, closes_sources
from nhanh.training.compile_config import CompileConfig
from nhanh.training.data import ArrayData, BatchSource, is_batch_source
from nhanh.training.loops import sorted_logs, to_floats
from nhanh.training.step_api import StepAPI
from nhanh.training.steps import Steps, _seed_states, _unique, compile_mode, step_forms
from nhanh.training.target_checks import check_sparse_labels


def _check_verbose(verbose) -> int:
    """The verbosity; 0 on processes other than 0 of a multi-process run (one bar per run)."""
    if verbose not in (0, 1, 2, "auto") or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}.")
    if not placement.writes_files():
        return 0
    return 1 if verbose == "auto" else int(verbose)


def _check_positive_int(value, name: str, allow_none: bool = True):
    if value is None and allow_none:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


#: On a CPU, steps are fused when trainable parameters x batch size is at most this.
CPU_FUSE_LIMIT = 2 ** 17


def _data(x, y, sample_weight, class_weight, what: str, shuffle: bool | str = False):
    """ArrayData for arrays; a BatchSource for generators, iterators, DataLoaders, PyDatasets
    and tf.data / grain datasets (training/adapters.py)."""
    if not is_batch_source(x):
        return ArrayData(x, y, sample_weight, class_weight, what=what)
    given = [n for n, v in (("y", y), ("sample_weight", sample_weight)) if v is not None]
    if given:
        raise ValueError(f"{', '.join(given)} cannot be given with a generator or DataLoader "
                         "as x: let each batch be (x, y) or (x, y, sample_weight).")
    return batch_source(x, what, class_weight, shuffle)


def _num_steps(data, batch_size: int, steps: int | None):
    steps = config.capped_steps(steps)  # nhanh.config.set_max_steps_per_epoch, as Keras
    if isinstance(data, BatchSource):
        return data.num_batches(steps)
    total = data.num_batches(batch_size)
    return total if steps is None else min(steps, total)


def _fused_layers_ok(model) -> bool:
    return all(layer.fuses_well_on_cpu for layer in model._flatten_layers())


def _overrides(model, method: str) -> bool:
    """A custom train_step/test_step runs step by step (its logs are whatever it returns)."""
    return getattr(type(model), method) is not getattr(Trainer, method)


def _warn_if_nothing_to_train(steps: Steps, stacklevel: int) -> None:
    """Keras's warning (its PyTorch and TensorFlow trainers): the steps only track the loss."""
    if not steps.trainable:
        warnings.warn("The model does not have any trainable weights.", stacklevel=stacklevel)


def _map_shapes(features):
    if isinstance(features, dict):
        return {k: (None, *v) for k, v in features.items()}
    return [(None, *f) for f in features]


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class Trainer(StepAPI):
    """Training methods of Model; expects self(x, training=...) and the Layer API."""

    compiled = False
    stop_training = False

    # --- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly: bool = False, jit_compile="auto",
                steps_per_execution: int | str = "auto", auto_scale_loss: bool = True) -> None:
        """Choose the optimizer, loss(es) and metrics; names are checked here, at once.

        With `auto_scale_loss` (Keras 3's default) and the model's dtype policy
        "mixed_float16", the optimizer is wrapped in a LossScaleOptimizer, so float16
        gradients do not underflow.
        """
        if steps_per_execution != "auto" and (
                not isinstance(steps_per_execution, int) or steps_per_execution < 1):
            raise ValueError("steps_per_execution must be 'auto' or a positive integer, got "
                             f"{steps_per_execution!r}.")
        optimizer = _optimizers.get(optimizer)
        if auto_scale_loss and getattr(self, "dtype_policy", None) is not None and \
                self.dtype_policy.name == "mixed_float16" and \
                not isinstance(optimizer, _optimizers.LossScaleOptimizer):
            optimizer = _optimizers.LossScaleOptimizer(optimizer, name="loss_scale_optimizer")
        self._compile_config = CompileConfig(loss, loss_weights, metrics, weighted_metrics,
                                             getattr(self, "output_names", None))
        self._compile_args = {  # what get_compile_config saves (Keras's compile_config)
            "optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
            "metrics": metrics, "weighted_metrics": weighted_metrics,
            "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile}
        self.optimizer = optimizer
        self.loss = loss
        self._steps: Steps | None = None
        self.run_eagerly = run_eagerly
        self.jit_compile = jit_compile
        self.steps_per_execution = steps_per_execution
        self.compiled = True

    def _fuse_steps(self, batch_size: int) -> bool:
        """Run stretches of steps as one compiled loop? steps_per_execution=1 or run_eagerly:
        never; an integer above 1: always; 'auto': on PyTorch and on accelerators always, on a
        CPU under JAX only for small steps.

        A compiled loop saves the per-step dispatch, which dominates small steps; but XLA's CPU
        code runs matrix products and convolutions inside loops markedly slower, which
        dominates large steps (measured in benchmarks/RESULTS.md). PyTorch's loop is Python
        around the captured steps, so it costs nothing there.
        """
        setting = getattr(self, "steps_per_execution", "auto")
        if setting != "auto":
            return setting > 1
        if getattr(self, "run_eagerly", False):
            return False
        backend = _backend.get()
        if not backend.compiled_loops or backend.platform() != "cpu":
            return True
        size = sum(math.prod(v.shape) for v in self.trainable_variables)
        return _fused_layers_ok(self) and size * batch_size <= CPU_FUSE_LIMIT

    def _assert_compiled(self, method: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"You must compile the model before calling {method}(): "
                               "model.compile(optimizer=..., loss=...).")

    @property
    def metrics(self) -> list:
        """The compiled metrics (loss trackers first), then metrics set as model attributes."""
        compiled = self._compile_config.all_metrics() if self.compiled else []
        return compiled + [m for m in getattr(self, "_tracked_metrics", []) if m not in compiled]

    @property
    def metrics_names(self) -> list[str]:
        """The names of evaluate()'s values, in the order it returns them (unique, as the logs'
        keys are)."""
        names = [m.name for m in self.metrics]
        return self._compile_config.result_order(names) if self.compiled else names

    def _output_shapes(self, data: ArrayData) -> list:
        features = data.feature_shapes()
        batch_shape = (None, *features) if isinstance(features, tuple) else \
            _map_shapes(features)
        out = self.compute_output_shape(batch_shape)
        config = self._compile_config
        return config.match(out, "the model's outputs") if config.multi else [out]

    def _check_targets(self, data: ArrayData) -> None:
        """Metrics built for the targets' shapes; in-memory labels checked against the
        losses once, before any step."""
        config = self._compile_config
        ys = config.match(data.y, "y")
        out_shapes = None
        if config.metrics is None:
            out_shapes = self._output_shapes(data)
            config.build_metrics([None if y is None else y.shape for y in ys], out_shapes)
        if isinstance(data, ArrayData) and not getattr(data, "_targets_checked", False):
            data._targets_checked = True
            check_sparse_labels(config.losses, ys, out_shapes or self._output_shapes(data),
                                config.output_names, data.what_y)

    def _reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    # --- preparation shared by fit / evaluate / predict ------------------------------------
    def _prepare(self, data: ArrayData, with_targets: bool) -> Steps:
        self._check_input_shapes(data)
        if with_targets:
            if data.y is None and self._compile_config.needs_targets:
                raise ValueError("This method needs targets: pass y (or validation targets).")
            self._check_targets(data)
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
    @closes_sources
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
        if not is_batch_source(x):  # (a source's batches are its own; see placement.py)
            placement.check_batch_size(batch_size)
        epochs = _check_positive_int(epochs, "epochs")
        steps_per_epoch = _check_positive_int(steps_per_epoch, "steps_per_epoch")
        # Debugging caps (nhanh.config.set_max_epochs / set_max_steps_per_epoch), as Keras.
        epochs, steps_per_epoch = config.capped_epochs(epochs), config.capped_steps(steps_per_epoch)
        if not isinstance(initial_epoch, int) or not 0 <= initial_epoch:
            raise ValueError(f"initial_epoch must be a non-negative integer, got {initial_epoch!r}.")
        if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be a float in [0, 1), got {validation_split!r}.")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"shuffle must be True, False or 'batch', got {shuffle!r}.")
        # Class weights reach only the training rows, after validation_split (as in Keras).
        data = _data(x, y, sample_weight, class_weight if validation_split == 0 else None, "x",
                     shuffle)
        val_data = None
        if validation_data is not None:
            val_data = batch_source(validation_data, "validation_data") \
                if is_batch_source(validation_data) else \
                ArrayData(*_unpack_validation(validation_data), what="validation x")
        elif validation_split:
            if isinstance(data, BatchSource):
                raise ValueError("validation_split needs array data; with a generator or "
                                 "DataLoader, pass validation_data instead.")
            data, val_data = data.split(validation_split)
            if class_weight is not None:
                data.apply_class_weight(class_weight)
        steps = self._prepare(data, with_targets=True)
        _warn_if_nothing_to_train(steps, stacklevel=4)  # the caller of fit (past closes_sources)
        if val_data is not None:
            self._check_input_shapes(val_data)
            if isinstance(val_data, ArrayData):
                self._check_targets(val_data)  # bad validation labels fail before training

        if isinstance(data, BatchSource):
            num_steps = data.num_batches(steps_per_epoch)
        else:
            num_steps = data.num_batches(batch_size)
            if steps_per_epoch is not None:
                num_steps = min(num_steps, steps_per_epoch)
        history, user_callbacks = History(), _as_list(callbacks)
        # As Keras: History, then the bar's ProgbarLogger (the user's own if given) come after
        # the user's callbacks, so they see what those add to the logs ('learning_rate').
        logger = next((cb for cb in user_callbacks if isinstance(cb, ProgbarLogger)), None)
        added = [] if logger is not None or not verbose else [ProgbarLogger()]
        logger = logger or (added[0] if added else None)
        cbs = CallbackList([*user_callbacks, history, *added], model=self, epochs=epochs,
                           steps=num_steps, verbose=verbose, batch_size=batch_size)
        per_batch = cbs.wants_batch_logs or _overrides(self, "train_step") or \
            not self._fuse_steps(batch_size)
        # The shuffle seed is drawn here and may be replaced, with the epoch and step to start
        # from, by a callback's on_train_begin (BackupAndRestore resuming a killed run).
        self._shuffle_seed, self._initial_epoch, self._initial_step = _random.draw_seed(), \
            None, 0
        self.stop_training = False
        self.history = history
        nan_reported, last_logs = False, {}
        cbs.on_train_begin()
        start_epoch, resumed_steps = resume.start(self, initial_epoch)
        rng = np.random.default_rng(self._shuffle_seed)
        # Fewer steps per epoch than the data has batches: like Keras, each epoch goes on
        # where the last one stopped, through fresh passes (shuffled anew) over the data.
        stream = data.row_stream(shuffle, rng, batch_size) if isinstance(data, ArrayData) \
            and steps_per_epoch is not None and num_steps < data.num_batches(batch_size) \
            else None
        resume.skip_epochs(data, stream, rng, shuffle, batch_size, num_steps,
                           start_epoch - initial_epoch)
        arrays = data.on_device() if _on_device(data, per_batch) else None
        for epoch in range(start_epoch, epochs):
            first = resumed_steps if epoch == start_epoch else 0  # done before a resume
            self._reset_metrics()
            cbs.on_epoch_begin(epoch)  # the ProgbarLogger prints "Epoch i/n", makes the bar
            bar = logger.progbar if logger is not None else progress.Progbar(num_steps, 0)
            if stream is not None:
                rows = itertools.islice(stream, first, num_steps)
                batches = data.batches_of(rows) if arrays is None else \
                    (ops.convert_to_tensor(r) for r in rows)
                logs, done = loops.train_batches(self, steps, batches, bar, cbs,
                                                 cbs.wants_batch_logs, arrays, first)
            elif arrays is None:
                batches = resume.skip_batches(data.batches(num_steps), first) \
                    if isinstance(data, BatchSource) else data.host_batches(
                        data.order(shuffle, rng, batch_size), batch_size, num_steps, first=first)
                logs, done = loops.train_batches(self, steps, batches, bar, cbs,
                                                 cbs.wants_batch_logs, first=first)
                batches.close()  # ends a PyDataset's epoch (on_epoch_end) even when cut short
                if not done:
                    warnings.warn("The data source ran out of batches; training stops. Give "
                                  "a source that repeats, or steps_per_epoch * epochs batches.",
                                  RuntimeWarning, stacklevel=3)  # past closes_sources
                    break
            else:
                logs, done = loops.train_epoch(self, steps, arrays,
                                               data.order(shuffle, rng, batch_size), batch_size,
                                               num_steps, bar, cbs, per_batch, first)
            if logs is None and done:  # resumed after the epoch's last step: its metrics' state
                logs = steps.results_now()
            epoch_logs = to_floats(steps.log_names, logs) if done else {}
            if not nan_reported and not math.isfinite(epoch_logs.get("loss", 0.0)):
                nan_reported = True
                warnings.warn(
                    f"The loss became {epoch_logs['loss']} during epoch {epoch + 1}. Training "
                    "diverged: lower the learning rate, check the data for NaN or infinite "
                    "values, or add nhanh.callbacks.TerminateOnNaN() to stop at the first bad "
                    "batch.", RuntimeWarning, stacklevel=3)  # past closes_sources
            if val_data is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_data(val_data, validation_batch_size or batch_size,
                                               validation_steps, verbose=0, callbacks=cbs)
                epoch_logs = sorted_logs({**epoch_logs,
                                          **{f"val_{k}": v for k, v in val_logs.items()}})
            if logger is not None:
                logger.seen = done  # the finished bar shows the steps that ran
            cbs.on_epoch_end(epoch, epoch_logs)
            last_logs = epoch_logs
            if self.stop_training:
                break
        if epochs > initial_epoch:  # with use_ema, the model keeps the averaged weights (Keras)
            self.optimizer.finalize_variable_values(self.trainable_variables)
        cbs.on_train_end(last_logs)
        return history

    # --- evaluate / predict ----------------------------------------------------------------
    @closes_sources
    def evaluate(self, x=None, y=None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight=None, steps: int | None = None, callbacks=None,
                 return_dict: bool = False):
        """Loss (and metrics) on the given data; a scalar, a list, or a dict."""
        self._assert_compiled("evaluate")
        verbose = _check_verbose(verbose)
        batch_size = _check_positive_int(batch_size, "batch_size") or 32
        if not is_batch_source(x):  # (a source's batches are its own; see placement.py)
            placement.check_batch_size(batch_size)
        data = _data(x, y, sample_weight, None, "x")
        logs = self._evaluate_data(data, batch_size, steps, verbose, callbacks)
        return self._format_result(logs, return_dict)

    def _evaluate_data(self, data: ArrayData, batch_size: int, steps: int | None, verbose: int,
                       callbacks=None) -> dict:
        compiled = self._prepare(data, with_targets=True)
        num_steps = _num_steps(data, batch_size, steps)
        # fit's validation hands over fit's own callbacks (their params stay fit's), as Keras.
        cbs = callbacks if isinstance(callbacks, CallbackList) else \
            CallbackList(_as_list(callbacks), model=self, steps=num_steps, verbose=verbose)
        self._reset_metrics()
        cbs.on_test_begin()
        bar = progress.Progbar(num_steps, verbose)
        per_batch = cbs.wants_batch_logs or _overrides(self, "test_step") or \
            not self._fuse_steps(batch_size)
        if not _on_device(data, per_batch):
            batches = _host_batches(data, batch_size, num_steps)
            logs, done = loops.test_batches(compiled, batches, bar, cbs, cbs.wants_batch_logs)
            batches.close()
        else:
            logs, done = loops.test_pass(self, compiled, data.on_device(), data.num_samples,
                                         batch_size, num_steps, bar, cbs, per_batch)
        result = to_floats(compiled.log_names, logs)
        if verbose:
            bar.finish(done, result)
        cbs.on_test_end(result)
        return result

    def _format_result(self, logs: dict, return_dict: bool):
        if return_dict:
            return logs
        values = [logs[n] for n in self._compile_config.result_order(list(logs))]
        return values[0] if len(values) == 1 else values

    @closes_sources
    def predict(self, x, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks=None):
        """Model outputs for x, as numpy arrays, computed batch by batch."""
        verbose = _check_verbose(verbose)
        batch_size = _check_positive_int(batch_size, "batch_size") or 32
        if not is_batch_source(x):  # (a source's batches are its own; see placement.py)
            placement.check_batch_size(batch_size)
        data = _data(x, None, None, None, "x")
        compiled = self._prepare_predict(data)
        num_steps = _num_steps(data, batch_size, steps)
        cbs = CallbackList(_as_list(callbacks), model=self, steps=num_steps, verbose=verbose)
        cbs.on_predict_begin()
        bar = progress.Progbar(num_steps, verbose)
        per_batch = cbs.wants_batch_logs or not self._fuse_steps(batch_size)
        if not _on_device(data, per_batch):
            batches = _host_batches(data, batch_size, num_steps, x_only=True)
            outputs = loops.predict_batches(compiled, batches, cbs, cbs.wants_batch_logs)
            batches.close()
        else:
            outputs = loops.predict_pass(compiled, data.on_device()[0], data.num_samples,
                                         batch_size, num_steps, cbs, per_batch)
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
        data = ArrayData(host_prefix.prepared(self, x), y, sample_weight, class_weight)
        steps = self._prepare(data, with_targets=True)
        _warn_if_nothing_to_train(steps, stacklevel=3)
        self._reset_metrics()
        state = steps.gather()
        try:
            state, logs = steps.train(state, data.on_device())
        finally:
            steps.scatter(state)
        return self._format_result(to_floats(steps.log_names, logs), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        self._assert_compiled("test_on_batch")
        data = ArrayData(host_prefix.prepared(self, x), y, sample_weight)
        logs = self._evaluate_data(data, data.num_samples, None, verbose=0)
        return self._format_result(logs, return_dict)

    def predict_on_batch(self, x):
        x = host_prefix.prepared(self, x)  # once, not again in predict
        return self.predict(x, batch_size=ArrayData(x).num_samples, verbose=0)


class _PredictOnly(Steps):
    """Prediction for a model that was never compiled (no optimizer, no metrics)."""

    def __init__(self, model):
        self.model = model
        self.trainable = list(model.trainable_variables)
        self.non_trainable = _unique(model.non_trainable_variables + model.state_variables)
        self.seeds = _seed_states(model, self.non_trainable)
        self.placement = placement.StatePlacement(self.trainable + self.non_trainable)
        self.forms = step_forms(model)
        self.key = _PredictOnly.key_of(model)
        self.trace_counts = {"predict": 0, "predict_loop": 0}
        self.mode = compile_mode(model)
        self.predict = _backend.get().compile_step(self._counted("predict", self._predict),
                                                   mode=self.mode)
        self._loops = {}

    @staticmethod
    def key_of(model) -> tuple:
        return (tuple(id(v) for v in model.trainable_variables),
                tuple(id(v) for v in model.non_trainable_variables), placement.key())


def _on_device(data, per_batch: bool) -> bool:
    """In-memory data goes to the device whole when it fits there, and when it pays: the
    fused loops need it; step by step, copying it all first (JAX, even on a CPU) costs more
    than moving each batch as it is needed."""
    if not isinstance(data, ArrayData) or not data.fits_on_device() or \
            placement.data_is_process_local():  # (each process's own rows: batch by batch)
        return False
    return not per_batch or not _backend.get().transfer_copies()


def _host_batches(data, batch_size: int, num_steps: int, x_only: bool = False):
    """Batches in order, moved to the device one by one (a generator's, or in-memory data's
    that does not fit on the device)."""
    if isinstance(data, BatchSource):
        return data.batches(num_steps, x_only=x_only)
    return data.host_batches(np.arange(data.num_samples), batch_size, num_steps, x_only)


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

