"""TensorBoard writes event files that TensorBoard's own reader (EventAccumulator) reads back:
the epoch scalars equal History's, batch scalars land at the global batch numbers Keras uses,
histograms hold each weight's values, the profiler leaves a trace, the conceptual graph parses
with TensorBoard's graph plugin, and an epoch-only TensorBoard keeps fit's fused loop.

Real Keras 3's TensorBoard needs TensorFlow's summary API, which is not installed here; its
(run, tag, step) records are taken by running Keras's own callback against a recording
stand-in of `tensorflow.summary` that keeps TF's writer and record_if rules."""

import contextlib
import glob
import io
import json
import os
import sys
import types

import numpy as np
import pytest

import nhanh
from nhanh import callbacks
from nhanh.callbacks.tensorboard import TensorBoard

from tensorboard import compat as tensorboard_compat
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ALL = {"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}


def read(log_dir, run):
    acc = EventAccumulator(os.path.join(str(log_dir), run), size_guidance=ALL)
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")


def model(lr=0.05, name="net"):
    m = nhanh.Sequential([nhanh.Input((3,)), nhanh.layers.Dense(4, name="hidden"),
                          nhanh.layers.Dense(1, name="out")], name=name)
    m.compile(nhanh.optimizers.SGD(lr), "mse", metrics=["mae"])
    return m


def test_epoch_scalars_equal_history_and_validation_has_its_run(tmp_path):
    x, y = data(60)
    rates = [0.05, 0.02, 0.01]
    m = model()
    tb = TensorBoard(tmp_path)
    history = m.fit(x[:40], y[:40], batch_size=10, epochs=3, verbose=0, shuffle=False,
                    validation_data=(x[40:], y[40:]),
                    callbacks=[callbacks.LearningRateScheduler(lambda e: rates[e]), tb])
    h = history.history
    train, val = read(tmp_path, "train"), read(tmp_path, "validation")
    for name in ("loss", "mae"):
        got = scalars(train, f"epoch_{name}")
        assert [s for s, _ in got] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in got], h[name], rtol=1e-6)
        got = scalars(val, f"epoch_{name}")  # 'val_' dropped: the run says it
        assert [s for s, _ in got] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in got], h[f"val_{name}"], rtol=1e-6)
        # After each validation: the same value, against the optimizer's step count.
        got = scalars(val, f"evaluation_{name}_vs_iterations")
        assert [s for s, _ in got] == [4, 8, 12]
        np.testing.assert_allclose([v for _, v in got], h[f"val_{name}"], rtol=1e-6)
    got = scalars(train, "epoch_learning_rate")
    np.testing.assert_allclose([v for _, v in got], rates, rtol=1e-6)
    assert not any(t.startswith("batch_") for t in train.Tags()["scalars"])
    assert "epoch_learning_rate" not in val.Tags()["scalars"]
    # evaluate() on its own adds one point at the optimizer's step count.
    loss = m.evaluate(x[40:], y[40:], verbose=0, callbacks=[tb])[0]
    assert scalars(read(tmp_path, "validation"), "evaluation_loss_vs_iterations")[-1] == \
        (12, pytest.approx(loss, rel=1e-6))


def batch_logs_of(fit_callbacks_for):
    """Every train batch's logs (as fit hands them to callbacks), numbered from 1 over fit."""
    seen = []
    recorder = callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: seen.append((len(seen) + 1, dict(logs))))
    return seen, [recorder, *fit_callbacks_for]


@pytest.mark.parametrize("update_freq, steps", [(2, [2, 4, 6, 8, 10]),
                                                ("batch", list(range(1, 11)))])
def test_batch_scalars_land_on_every_nth_global_batch(update_freq, steps, tmp_path):
    x, y = data(50)
    m = model()
    seen, cbs = batch_logs_of([TensorBoard(tmp_path, update_freq=update_freq,
                                           write_steps_per_second=True)])
    history = m.fit(x, y, batch_size=10, epochs=2, verbose=0, shuffle=False, callbacks=cbs)
    train = read(tmp_path, "train")
    want = dict(seen)
    for name in ("loss", "mae"):
        got = scalars(train, f"batch_{name}")
        assert [s for s, _ in got] == steps
        np.testing.assert_allclose([v for _, v in got], [want[s][name] for s in steps],
                                   rtol=1e-6)
        # Five batches an epoch: epoch ends fall on odd batches; the epoch scalars stay.
        np.testing.assert_allclose([v for _, v in scalars(train, f"epoch_{name}")],
                                   history.history[name], rtol=1e-6)
    assert [s for s, _ in scalars(train, "batch_steps_per_second")] == steps
    assert scalars(train, "epoch_learning_rate") == [(0, pytest.approx(0.05)),
                                                    (1, pytest.approx(0.05))]
    speeds = [v for _, v in scalars(train, "epoch_steps_per_second")]
    assert len(speeds) == 2 and all(v > 0 for v in speeds)


def test_weight_histograms_and_images_every_histogram_freq_epochs(tmp_path):
    x, y = data(40)
    m = model()
    weights = {}
    keep = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: weights.__setitem__(
        e, [np.asarray(w) for w in m.get_weights()]))
    m.fit(x, y, batch_size=10, epochs=3, verbose=0,
          callbacks=[keep, TensorBoard(tmp_path, histogram_freq=2, write_images=True)])
    train = read(tmp_path, "train")
    paths = ["net/hidden/kernel", "net/hidden/bias", "net/out/kernel", "net/out/bias"]
    assert sorted(train.Tags()["histograms"]) == sorted(f"{p}/histogram" for p in paths)
    for i, path in enumerate(paths):
        events = train.Histograms(f"{path}/histogram")
        assert [e.step for e in events] == [0, 2]
        for e in events:
            w, h = weights[e.step][i], e.histogram_value
            assert h.num == w.size
            np.testing.assert_allclose([h.min, h.max, h.sum], [w.min(), w.max(), w.sum()],
                                       rtol=1e-5, atol=1e-6)
    # Images as Keras draws them: a kernel laid wide, a vector as one column; a (1,) bias
    # squeezes to a scalar and has none. Pixels are the values clipped to [0, 1].
    from PIL import Image
    assert sorted(train.Tags()["images"]) == ["net/hidden/bias/image", "net/hidden/kernel/image",
                                              "net/out/kernel/image"]
    image = train.Images("net/hidden/kernel/image")[-1]
    assert (image.step, image.height, image.width) == (2, 3, 4)
    pixels = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)).convert("L"))
    np.testing.assert_allclose(pixels, np.clip(weights[2][0], 0, 1) * 255, atol=1.01)
    for tag in ("net/hidden/bias/image", "net/out/kernel/image"):  # vectors: one column
        assert (train.Images(tag)[0].height, train.Images(tag)[0].width) == (4, 1)
    assert not os.path.exists(tmp_path / "validation")  # no validation, no run


def test_epoch_only_tensorboard_keeps_the_fused_loop(backend, tmp_path):
    x, y = data(40)
    for i, (kwargs, fused) in enumerate((({}, True), ({"histogram_freq": 1}, True),
                                         ({"update_freq": 3}, False),
                                         ({"profile_batch": 0}, True))):
        m = model()
        tb = TensorBoard(tmp_path / str(i), **kwargs)
        assert tb.wants_batch_logs() is not fused
        m.fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[tb])
        assert (("train", 10, None) in m._steps._loops) is fused, kwargs  # the fused path
        if backend == "jax":
            assert m._steps.trace_counts["train_loop"] == int(fused)


def test_profile_batch_leaves_a_trace_of_the_engine(backend, tmp_path):
    x, y = data(40)
    m = model()
    tb = TensorBoard(tmp_path, profile_batch=(2, 3))
    assert tb.wants_batch_logs()
    m.fit(x, y, batch_size=10, epochs=1, verbose=0, callbacks=[tb])
    pattern = {"jax": "train/plugins/profile/*/*.xplane.pb",
               "torch": "train/*.pt.trace.json"}[backend]
    files = glob.glob(str(tmp_path / pattern))
    assert len(files) == 1 and os.path.getsize(files[0]) > 0
    if backend == "torch":
        with open(files[0]) as f:
            assert json.load(f)["traceEvents"]
    assert not tb._is_tracing


def test_graph_is_keras_model_json_that_tensorboard_draws(tmp_path):
    from tensorboard.plugins.graph import keras_util

    inp = nhanh.Input((3,))
    hidden = nhanh.layers.Dense(4, name="hidden")(inp)
    net = nhanh.Model(inp, nhanh.layers.Dense(1, name="out")(hidden), name="fn")
    net.compile("sgd", "mse")
    tb = TensorBoard(tmp_path)
    tb.set_model(net)
    tb.on_train_end()  # closes the writers
    train = read(tmp_path, "train")
    assert train.SummaryMetadata("keras").plugin_data.plugin_name == "graph_keras_model"
    event, = train.Tensors("keras")
    assert event.step == 0
    graph = keras_util.keras_model_to_graph_def(json.loads(event.tensor_proto.string_val[0]))
    nodes = {n.name: list(n.input) for n in graph.node}
    assert nodes["fn/hidden"] == [next(n for n in nodes if "input" in n)]
    assert nodes["fn/out"] == ["fn/hidden"]
    TensorBoard(tmp_path / "off", write_graph=False).set_model(net)
    assert not os.path.exists(tmp_path / "off")


def test_embeddings_go_to_the_projector(tmp_path):
    x = np.random.default_rng(0).integers(0, 5, size=(20, 2))
    y = np.ones((20, 1), "float32")
    net = nhanh.Sequential([nhanh.Input((2,), dtype="int32"),
                            nhanh.layers.Embedding(5, 3, name="words"),
                            nhanh.layers.Flatten(), nhanh.layers.Dense(1)])
    net.compile("sgd", "mse")
    labels = tmp_path / "labels.tsv"
    labels.write_text("".join(f"w{i}\n" for i in range(5)))
    with pytest.raises(ValueError, match="embeddings_metadata.*'nope'.*words"):
        net.fit(x, y, epochs=1, verbose=0, callbacks=[TensorBoard(
            tmp_path / "bad", embeddings_freq=1, embeddings_metadata={"nope": str(labels)})])
    net.fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[TensorBoard(
        tmp_path / "logs", embeddings_freq=1, embeddings_metadata={"words": str(labels)})])
    table = np.loadtxt(tmp_path / "logs/train/00001/words/tensors.tsv", delimiter="\t")
    np.testing.assert_allclose(table, net.get_layer("words").get_weights()[0], rtol=1e-5)
    assert (tmp_path / "logs/train/00000/words/metadata.tsv").read_text().split() == \
        [f"w{i}" for i in range(5)]
    config = (tmp_path / "logs/train/projector_config.pbtxt").read_text()
    assert config.count("tensor_path") == 2 and "00001/words/tensors.tsv" in config


@pytest.mark.engine_independent
def test_bad_arguments_name_themselves(tmp_path):
    for kwargs, word in (({"update_freq": "sometimes"}, "update_freq"),
                         ({"update_freq": 0}, "update_freq"),
                         ({"histogram_freq": -1}, "histogram_freq"),
                         ({"profile_batch": (3, 1)}, "profile_batch"),
                         ({"profile_batch": "a,b"}, "profile_batch"),
                         ({"embeddings_freq": 1.5}, "embeddings_freq")):
        with pytest.raises(ValueError, match=word):
            TensorBoard(tmp_path, **kwargs)
    assert TensorBoard(tmp_path, profile_batch="2,4")._stop_batch == 4


@pytest.mark.engine_independent
def test_missing_tensorboardx_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        TensorBoard(tmp_path)


# --- the same program under real Keras 3 ---------------------------------------------------

class RecordingSummary(types.ModuleType):
    """`tensorflow.summary` as Keras 3's TensorBoard uses it, keeping TF's rules: a summary is
    written only under a default writer (`writer.as_default()`), and only while the innermost
    `record_if` condition holds; it records (run, tag, step) instead of writing."""

    def __init__(self):
        super().__init__("tensorflow.summary")
        self.records, self._writers, self._conditions = set(), [], []
        self.experimental = types.SimpleNamespace(summary_scope=self._scope)

    def create_file_writer(self, logdir):
        summary, run = self, os.path.basename(logdir)

        class Writer:
            def as_default(self, step=None):
                return summary._push(summary._writers, run)

            def close(self):
                pass

            def flush(self):
                pass
        return Writer()

    @staticmethod
    @contextlib.contextmanager
    def _push(stack, value):
        stack.append(value)
        try:
            yield
        finally:
            stack.pop()

    def record_if(self, condition):
        return self._push(self._conditions, condition)

    @staticmethod
    @contextlib.contextmanager
    def _scope(name, *args):
        yield name, None

    def _record(self, tag, step):
        condition = self._conditions[-1] if self._conditions else True
        if self._writers and (condition() if callable(condition) else condition):
            self.records.add((self._writers[-1], tag, int(step)))

    def scalar(self, name, data, step=None):
        self._record(name, step)

    histogram = image = scalar

    def write(self, tag, tensor, step=None, metadata=None):
        self._record(tag, step)


class AnyTypes(types.ModuleType):
    """`tensorflow` itself: Keras's JSON encoder asks isinstance(x, tf.TensorShape), ...;
    every such name is a class nothing is an instance of."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {})


KERAS_RECORDS: dict = {}  # the Keras side does not depend on nhanh's engine: run it once


def keras_records(monkeypatch, tmp_path, **kwargs) -> set:
    key = tuple(sorted(kwargs.items()))
    if key not in KERAS_RECORDS:
        KERAS_RECORDS[key] = run_keras(monkeypatch, tmp_path, **kwargs)
    return KERAS_RECORDS[key]


def run_keras(monkeypatch, tmp_path, **kwargs) -> set:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    summary = RecordingSummary()
    tf = AnyTypes("tensorflow")
    compat, v1 = types.ModuleType("tensorflow.compat"), types.ModuleType("tensorflow.compat.v1")
    v1.SummaryMetadata = lambda: types.SimpleNamespace(plugin_data=types.SimpleNamespace())
    tf.summary, tf.compat, compat.v1 = summary, compat, v1
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="hidden"),
                            keras.layers.Dense(1, name="out")], name="net")
    net.compile(keras.optimizers.SGD(0.05), "mse", metrics=["mae"])
    x, y = data(60)
    tensorboard_compat.tf.compat  # TensorBoard's reader settles on its own stub first
    with monkeypatch.context() as patch:  # the stand-in is seen by this fit only
        for name, module in (("tensorflow", tf), ("tensorflow.summary", summary),
                             ("tensorflow.compat", compat), ("tensorflow.compat.v1", v1)):
            patch.setitem(sys.modules, name, module)
        from keras.src.utils.module_utils import tensorflow as lazy_tf
        patch.setattr(lazy_tf, "module", lazy_tf.module)  # Keras may cache what it found
        patch.setattr(lazy_tf, "_available", lazy_tf._available)
        net.fit(x[:40], y[:40], batch_size=10, epochs=2, verbose=0,
                validation_data=(x[40:], y[40:]),
                callbacks=[keras.callbacks.TensorBoard(str(tmp_path), **kwargs)])
    return summary.records


def nhanh_records(log_dir) -> set:
    out = set()
    for run in ("train", "validation"):
        acc = read(log_dir, run)
        for kind in ("scalars", "histograms", "images", "tensors"):
            for tag in acc.Tags()[kind]:
                events = getattr(acc, kind.capitalize())(tag)
                out.update((run, tag, e.step) for e in events)
    return out


# Four training and two validation batches an epoch: even global batch numbers at every epoch
# end, so Keras's record_if leftovers (see nhanh/callbacks/tensorboard.py) drop nothing.
@pytest.mark.parametrize("kwargs", [
    dict(histogram_freq=1, write_images=True, write_steps_per_second=True),
    dict(update_freq=2, write_steps_per_second=True)])
def test_tags_and_steps_are_the_ones_keras_writes(kwargs, monkeypatch, tmp_path):
    want = keras_records(monkeypatch, tmp_path / "keras", **kwargs)
    x, y = data(60)
    model().fit(x[:40], y[:40], batch_size=10, epochs=2, verbose=0,
                validation_data=(x[40:], y[40:]),
                callbacks=[TensorBoard(tmp_path / "nhanh", **kwargs)])
    got = nhanh_records(tmp_path / "nhanh")
    assert got == want

