"""TensorBoard: Keras 3's event files, written with tensorboardX.

What goes where (as Keras 3 lays it out, so dashboards and scripts built for Keras read it):

- `log_dir/train` and `log_dir/validation`, one run folder each;
- every epoch, `epoch_<log>` at step=epoch: the training logs, `epoch_learning_rate` and, when
  asked, `epoch_steps_per_second` in train; the `val_` logs, without the prefix, in validation;
- with update_freq 'batch' or n, `batch_<log>` (and `batch_steps_per_second`) in train at the
  global batch number (counted from 1 over the whole fit) whenever it is a multiple of n;
- after every evaluation (fit's validation or evaluate()), `evaluation_<log>_vs_iterations`
  in validation at step=optimizer.iterations;
- every histogram_freq epochs, `<weight path>/histogram` (and `<weight path>/image` with
  write_images) for each layer's weights, in train.

Decisions:

- Only a callback that needs batches asks for them: with update_freq='epoch' and no
  profile_batch, `wants_batch_logs()` is False and fit keeps its fused loop.
- Epoch and evaluation summaries are always written. Keras 3 writes them under the record_if
  condition left by the last batch, so with an integer update_freq an epoch whose last global
  batch is not a multiple of it silently loses its epoch_* scalars; we do not copy that.
- write_graph writes the model's Keras 3 JSON config as the `keras` tensor of the
  `graph_keras_model` plugin (TensorBoard's conceptual graph) for Sequential and Functional
  models, as Keras does. The op-level graph, which Keras writes only on TensorFlow, is skipped
  on both engines: a jaxpr or a torch.fx graph is no GraphDef TensorBoard can draw.
- profile_batch traces the chosen batches with the engine's profiler (`nhanh.backend.<engine>
  .profiler`): on JAX `train/plugins/profile/<run>/<host>.xplane.pb` (TensorBoard's profile
  plugin), on PyTorch `train/*.pt.trace.json` (torch-tb-profiler). Keras profiles on JAX only.
- embeddings_freq writes each Embedding layer's matrix with tensorboardX's add_embedding into
  `train/<epoch, 5 digits>/<layer name>/tensors.tsv`, listed in `train/projector_config.pbtxt`
  (with the metadata file's labels copied beside it), which TensorBoard's projector reads.
  Keras instead saves the weights as an .h5 file that the projector cannot open.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
import time
import warnings

import numpy as np

from nhanh import backend as _backend
from nhanh import config, ops
from nhanh.callbacks.callback import Callback
from nhanh.distribution import placement

_INSTALL = "pip install tensorboardX"


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as e:
        raise ImportError(f"TensorBoard writes event files with the tensorboardX package, which "
                          f"is not installed ({e}). Install it with: {_INSTALL}") from None
    return SummaryWriter


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"TensorBoard: `{name}` must be a non-negative integer (0 turns it "
                         f"off), got {value!r}.")
    return int(value)


def _check_update_freq(update_freq):
    if update_freq in ("epoch", "batch"):
        return 1 if update_freq == "batch" else "epoch"
    if isinstance(update_freq, bool) or not isinstance(update_freq, (int, np.integer)) \
            or update_freq < 1:
        raise ValueError("TensorBoard: `update_freq` must be 'epoch', 'batch' or a positive "
                         f"integer (write every that many batches), got {update_freq!r}.")
    return int(update_freq)


def _profile_range(profile_batch) -> tuple[int, int]:
    """(first, last) global batch to trace, both counted from 1; (0, 0) means no tracing."""
    bad = ValueError("TensorBoard: `profile_batch` must be a non-negative integer (0: no "
                     "profiling), a pair (first, last) of positive integers with first <= last, "
                     f"or the string 'first,last'; got {profile_batch!r}.")
    value = profile_batch
    if isinstance(value, str):
        try:
            value = tuple(int(part) for part in value.split(","))
        except ValueError:
            raise bad from None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        first = last = int(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        first, last = int(value[0]), int(value[1])
        if first == 0:
            raise bad
    else:
        raise bad
    if first < 0 or last < first:
        raise bad
    return first, last


def _keras3_config(value, plain: bool = False):
    """nhanh's config with its `{"__tensor__": [layer, node, index]}` references written as
    Keras 3's to_json writes them (what TensorBoard's graph plugin parses)."""
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            history = list(value["__tensor__"])
            return history if plain else {"class_name": "__keras_tensor__",
                                          "config": {"keras_history": history}}
        return {k: _keras3_config(v, plain or k in ("input_layers", "output_layers"))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_keras3_config(v, plain) for v in value]
    return value


def model_json(model) -> str:
    """The model as Keras 3 JSON: {"class_name", "config"}."""
    if hasattr(model, "to_json"):
        return model.to_json()
    return json.dumps({"class_name": type(model).__name__,
                       "config": _keras3_config(model.get_config())})


def weight_path(model, weight) -> str:
    """A weight's Keras path ('sequential/dense/kernel'): Keras 3 builds a Sequential's layers
    inside the model's name scope, and a Functional's outside it ('dense/kernel')."""
    path = getattr(weight, "path", None) or weight.name
    prefix = f"{model.name}/"
    if type(model).__name__ == "Sequential" and not path.startswith(prefix):
        return prefix + path
    return path


def weight_image(value: np.ndarray) -> np.ndarray | None:
    """A weight as uint8 images (N, H, W, C) the way Keras 3 draws it, or None when it has no
    image form: a bias is one row, a dense kernel is laid wide, a 1-D convolution kernel is
    one image per input channel; other shapes only when their last axis can be a channel."""
    img = np.squeeze(value)
    if img.ndim == 1:
        img = img.reshape(1, img.shape[0], 1, 1)
    elif img.ndim == 2:
        if img.shape[0] > img.shape[1]:
            img = img.T
        img = img.reshape(1, img.shape[0], img.shape[1], 1)
    elif img.ndim == 3:
        if config.image_data_format() == "channels_last":
            img = np.transpose(img, (2, 0, 1))
        img = img.reshape(*img.shape, 1)
    if img.ndim != 4 or img.shape[-1] not in (1, 3, 4):
        return None
    # As tf.summary.image turns floats into pixels: [0, 1] -> [0, 255], the rest saturates.
    return np.clip(img * 255.5, 0, 255).astype(np.uint8)


def _scalars(logs) -> dict[str, float]:
    """The logs that are single numbers (a per-class metric's vector has no scalar form)."""
    return {k: float(v) for k, v in (logs or {}).items()
            if isinstance(v, (int, float, np.number)) or np.ndim(v) == 0}


class TensorBoard(Callback):
    """Write training curves, weight histograms, profiles and embeddings for TensorBoard.

    Args:
        log_dir: Folder of the event files (`train/` and `validation/` runs go inside);
            view it with `tensorboard --logdir <log_dir>`.
        histogram_freq: Every how many epochs to write weight histograms (0: never).
        write_graph: Write the model's conceptual graph (Sequential and Functional models).
        write_images: With histograms, also write each weight as an image.
        write_steps_per_second: Also log training steps per second.
        update_freq: 'epoch', 'batch', or an integer n: write batch-level scalars every n
            batches. Anything but 'epoch' makes fit step one batch at a time.
        profile_batch: Batch (counted from 1 over the whole fit) or pair of batches
            (first, last) to trace with the engine's profiler; 0 disables profiling.
        embeddings_freq: Every how many epochs to write Embedding layers' matrices for the
            projector (0: never).
        embeddings_metadata: A file of labels for every Embedding layer, or a dict
            {layer name: file}: one label per row (or a tab-separated table with a header).
    """

    def __init__(self, log_dir="logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False,
                 update_freq: str | int = "epoch", profile_batch=0, embeddings_freq: int = 0,
                 embeddings_metadata: str | dict | None = None):
        super().__init__()
        self._writer_class = _summary_writer_class()
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"TensorBoard: `log_dir` must be a path (str or os.PathLike), got "
                            f"{type(log_dir).__name__} {log_dir!r}.")
        if embeddings_metadata is not None and not isinstance(embeddings_metadata,
                                                              (str, os.PathLike, dict)):
            raise TypeError("TensorBoard: `embeddings_metadata` must be a file name or a dict "
                            "{embedding layer name: file name}, got "
                            f"{type(embeddings_metadata).__name__}.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = _check_count(histogram_freq, "histogram_freq")
        self.write_graph = bool(write_graph)
        self.write_images = bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = _check_update_freq(update_freq)
        self._start_batch, self._stop_batch = _profile_range(profile_batch)
        self.embeddings_freq = _check_count(embeddings_freq, "embeddings_freq")
        self.embeddings_metadata = embeddings_metadata
        self._writers: dict = {}
        self._global_train_batch = 0
        self._is_tracing = self._in_fit = False
        self._batch_start_time = self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0

    # --- which hooks fit must call ---------------------------------------------------------
    @property
    def _should_trace(self) -> bool:
        return self._stop_batch > 0

    def wants_batch_logs(self) -> bool:
        return self.update_freq != "epoch" or self._should_trace

    # --- writers ---------------------------------------------------------------------------
    def _writer(self, run: str):
        if run not in self._writers:
            if not placement.writes_files():  # process 0 writes the logs of a multi-process run
                self._discarded = getattr(self, "_discarded", None) or tempfile.mkdtemp()
            root = self.log_dir if placement.writes_files() else self._discarded
            self._writers[run] = self._writer_class(logdir=os.path.join(root, run))
        return self._writers[run]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def set_model(self, model) -> None:
        super().set_model(model)
        self._close_writers()
        if model is None:
            return
        if self.embeddings_freq:
            self._embedding_metadata_files()  # unknown layer names fail before training
        if self.write_graph and type(model).__name__ in ("Sequential", "Functional"):
            self._write_model_config()

    def _write_model_config(self) -> None:
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto
        from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

        try:
            text = model_json(self.model)
        except Exception as e:  # as Keras: a model that cannot be serialized is not drawn
            warnings.warn(f"TensorBoard: the model's config could not be written as JSON, so "
                          f"no graph is drawn ({e}).", RuntimeWarning, stacklevel=3)
            return
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
            plugin_name="graph_keras_model", content=b"1"))
        tensor = TensorProto(dtype="DT_STRING", string_val=[text.encode()],
                             tensor_shape=TensorShapeProto())
        writer = self._writer("train")
        writer._get_file_writer().add_summary(
            Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)]),
            global_step=0)
        writer.flush()

    # --- training --------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch, self._in_fit = 0, True

    def on_train_end(self, logs=None):
        if self._is_tracing:
            self._stop_trace()
        self._close_writers()
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._epoch_start_iterations = self._iterations()
            self._epoch_start_time = time.time()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()
        if self._should_trace and self._global_train_batch == self._start_batch:
            self._profiler().start_profiler(os.path.join(self.log_dir, "train"))
            self._is_tracing = True

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if self.update_freq != "epoch" and step % self.update_freq == 0:
            writer = self._writer("train")
            if self.write_steps_per_second:
                elapsed = time.time() - self._batch_start_time
                writer.add_scalar("batch_steps_per_second", 1.0 / max(elapsed, 1e-12), step)
            for name, value in _scalars(logs).items():
                writer.add_scalar(f"batch_{name}", value, step)
        if self._is_tracing and step >= self._stop_batch:
            self._stop_trace()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "iterations"):
            return
        writer, step = self._writer("validation"), self._iterations()
        for name, value in _scalars(logs).items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", value, step)
        if self._in_fit:
            writer.flush()
        else:  # evaluate() on its own: nothing else comes, so the file is finished now
            self._close_writers()

    # --- what is written -------------------------------------------------------------------
    def _iterations(self) -> int:
        return int(ops.convert_to_numpy(self.model.optimizer.iterations))

    def _learning_rates(self) -> dict[str, float]:
        from nhanh.optimizers import Optimizer

        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if hasattr(optimizer, "optimizers"):
            return {f"learning_rate_{o.name}": float(ops.convert_to_numpy(o.learning_rate))
                    for o in optimizer.optimizers}
        if isinstance(optimizer, Optimizer):
            return {"learning_rate": float(ops.convert_to_numpy(optimizer.learning_rate))}
        return {}

    def _log_epoch_metrics(self, epoch: int, logs: dict) -> None:
        if not logs:
            return
        scalars = _scalars(logs)
        train = {k: v for k, v in scalars.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in scalars.items() if k.startswith("val_")}
        train.update(self._learning_rates())
        if self.write_steps_per_second:
            seconds = max(time.time() - self._epoch_start_time, 1e-12)
            train["steps_per_second"] = (self._iterations() - self._epoch_start_iterations) \
                / seconds
        for run, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(run)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", value, epoch)

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight_path(self.model, weight).replace(":", "_")
                value = np.asarray(ops.convert_to_numpy(weight), dtype="float64")
                writer.add_histogram(f"{name}/histogram", value, epoch)
                image = weight_image(value) if self.write_images else None
                if image is not None:  # tf.summary.image's default max_outputs: 3
                    writer.add_images(f"{name}/image", image[:3], epoch, dataformats="NHWC")

    # --- embeddings ------------------------------------------------------------------------
    def _embedding_layers(self) -> list:
        from nhanh.layers import Embedding

        return [layer for layer in self.model.layers if isinstance(layer, Embedding)]

    def _embedding_metadata_files(self) -> dict:
        """{layer name: metadata file} for this model's Embedding layers."""
        names = [layer.name for layer in self._embedding_layers()]
        meta = self.embeddings_metadata
        if meta is None:
            return {}
        if not isinstance(meta, dict):
            return {name: os.fspath(meta) for name in names}
        unknown = sorted(set(meta) - set(names))
        if unknown:
            raise ValueError(f"TensorBoard: `embeddings_metadata` names {unknown}, which are not "
                             f"Embedding layers of the model; its Embedding layers are {names}.")
        return {name: os.fspath(path) for name, path in meta.items()}

    def _log_embeddings(self, epoch: int) -> None:
        files = self._embedding_metadata_files()
        writer = self._writer("train")
        for layer in self._embedding_layers():
            matrix = np.asarray(ops.convert_to_numpy(layer.weights[0]))
            labels, header = (None, None) if layer.name not in files else \
                _read_metadata(files[layer.name], len(matrix), self.log_dir)
            writer.add_embedding(matrix, metadata=labels, metadata_header=header,
                                 global_step=epoch, tag=layer.name)

    # --- profiling -------------------------------------------------------------------------
    @staticmethod
    def _profiler():
        """The engine's profiler module (imported here: callbacks never import an engine)."""
        return importlib.import_module(f"{_backend.get().__name__}.profiler")

    def _stop_trace(self) -> None:
        self._is_tracing = False
        self._profiler().stop_profiler()


def _read_metadata(path: str, rows: int, log_dir: str):
    """(labels, header) from a projector metadata file: `rows` lines of one label, or a
    tab-separated header line and `rows` lines of columns. A relative path is looked up from
    the working directory, then from log_dir (where Keras's projector looks)."""
    if not os.path.isabs(path) and not os.path.exists(path) and \
            os.path.exists(os.path.join(log_dir, path)):
        path = os.path.join(log_dir, path)
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if len(lines) == rows:
        return lines, None
    if len(lines) == rows + 1 and "\t" in lines[0]:
        return [line.split("\t") for line in lines[1:]], lines[0].split("\t")
    raise ValueError(f"TensorBoard: the `embeddings_metadata` file {path!r} has {len(lines)} "
                     f"lines, but the embedding has {rows} rows: give one label per row (or a "
                     "tab-separated header line and then one line per row).")
