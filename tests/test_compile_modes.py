"""compile(run_eagerly=..., jit_compile=...): every way of running the steps trains to the same
weights; PyTorch's captured steps (backend/torch/capture.py) replay what eager PyTorch computes,
and fall back to eager code when a step cannot be captured."""

import logging

import numpy as np
import pytest

import nhanh
from nhanh import layers, ops
from helpers import classification_data


def _torch():
    return pytest.importorskip("torch")


def _train(seed=5, epochs=2, **compile_args):
    x, labels = classification_data(n=70)  # 4 batches of 16 and a partial batch of 6
    nhanh.utils.set_random_seed(seed)
    model = nhanh.Sequential([layers.Dense(16, activation="relu", input_shape=(4,)),
                              layers.BatchNormalization(), layers.Dropout(0.3),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=nhanh.optimizers.Adam(0.01, amsgrad=True),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"], **compile_args)
    nhanh.utils.set_random_seed(seed + 1)
    history = model.fit(x, labels, batch_size=16, epochs=epochs, verbose=0,
                        validation_data=(x[:20], labels[:20]))
    return model, history.history


def _assert_same_training(a, b):
    (model_a, history_a), (model_b, history_b) = a, b
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    assert history_a.keys() == history_b.keys()
    for key in history_a:
        np.testing.assert_allclose(history_a[key], history_b[key], rtol=1e-5, atol=1e-6)


def test_default_and_eager_steps_train_alike(caplog):
    # Plain eager steps (op by op: slow on JAX), asked for as jit_compile=False (the
    # run_eagerly=True spelling is the reference in the next test; compile_mode maps both to
    # "eager"), over two epochs with their partial batches, against the compiled steps.
    eager = _train(jit_compile=False)
    with caplog.at_level(logging.DEBUG, logger="nhanh"):
        default = _train()
    assert "could not be captured" not in caplog.text  # PyTorch really replayed its graphs
    _assert_same_training(default, eager)


def test_jit_compile_true_trains_like_eager():
    """On PyTorch this is the captured graph through torch.compile (Inductor)."""
    _assert_same_training(_train(epochs=1, jit_compile=True), _train(epochs=1, run_eagerly=True))


def test_compile_mode_follows_keras_arguments():
    from nhanh.training.steps import compile_mode

    model = nhanh.Sequential([layers.Dense(1, input_shape=(2,))])
    for kwargs, mode in [({}, "auto"), ({"run_eagerly": True}, "eager"),
                         ({"jit_compile": False}, "eager"), ({"jit_compile": True}, "jit"),
                         ({"run_eagerly": True, "jit_compile": True}, "eager")]:
        model.compile(optimizer="sgd", loss="mse", **kwargs)
        assert compile_mode(model) == mode, kwargs


class HostCheck(layers.Layer):
    """Reads a value on the host in call(): such a step cannot be traced."""

    def compute_output_shape(self, input_shape):
        return input_shape  # so that building the model does not trace call()

    def call(self, inputs):
        largest = ops.max(ops.abs(ops.stop_gradient(inputs)))
        if float(ops.convert_to_numpy(largest)) > 1e6:
            return inputs * 0.0  # never taken on this data
        return inputs


def test_a_step_that_reads_the_host_still_trains(backend, caplog):
    """PyTorch runs it eagerly and logs why; JAX cannot trace it, so it needs run_eagerly."""
    x, labels = classification_data(n=40)
    trained = []
    for extra in ([], [HostCheck()]):
        nhanh.utils.set_random_seed(2)
        model = nhanh.Sequential([layers.Dense(5, input_shape=(4,)), *extra,
                                  layers.Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      run_eagerly=bool(extra) and backend == "jax")
        with caplog.at_level(logging.DEBUG, logger="nhanh"):
            model.fit(x, labels, batch_size=8, epochs=2, verbose=0)
        trained.append(model.get_weights())
    for a, b in zip(*trained):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    if backend == "torch":
        assert "could not be captured" in caplog.text
        # recorded (refused: a host read), traced by make_fx (failed), then plain Python
        assert model._steps.trace_counts["train"] == 2


@pytest.mark.engines("torch")
def test_captured_graph_replays_what_eager_computes(backend):
    """The rewrites of a captured graph (dropping x * 1, reusing repeated ops, folding
    constants) keep the values, also around ops that write their inputs in place."""
    torch = _torch()
    from nhanh.backend.torch.capture import _EAGER, CapturedStep

    def fn(state, x):
        weight, counter = state
        a = torch.maximum(x, weight)
        b = torch.maximum(x, weight)  # repeated: may be reused
        c = (a * 1.0 + 0.0) / 1  # does nothing
        d = torch.ones_like(x) / 2 * 3  # a constant
        masked = torch.where(a > 0, a, b)
        masked.masked_fill_(x < 0, 0.0)  # written in place: must not be shared with `a`
        again = torch.where(a > 0, a, b)  # the same op as `masked`, but not written to
        weight.sub_(0.5 * x.mean(0))  # state updated in place, as the optimizers do
        return (weight, counter + 1), [c + d, masked, again, a, b]

    step = CapturedStep(fn)
    rng = np.random.default_rng(0)
    state_eager = (torch.zeros(3), torch.zeros((), dtype=torch.int32))
    state_captured = (torch.zeros(3), torch.zeros((), dtype=torch.int32))
    for _ in range(3):  # new data each call: nothing from the trace may be stale
        x = torch.from_numpy(rng.normal(size=(4, 3)).astype("float32"))
        with torch.no_grad():
            state_eager, want = fn(state_eager, x.clone())
            state_captured, got = step(state_captured, x.clone())
        for g, w in zip(list(state_captured) + got, list(state_eager) + want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert len(step._graphs) == 1  # one trace served every call, as a graph, not eagerly
    assert all(entry is not _EAGER for entry in step._graphs.values())


@pytest.mark.engines("torch")
def test_unhashable_constant_arguments_run_eagerly(backend):
    torch = _torch()
    from nhanh.backend.torch.capture import CapturedStep

    step = CapturedStep(lambda x, offset: x + torch.as_tensor(offset))
    x = torch.zeros(2)
    np.testing.assert_array_equal(step(x, np.array([1.0, 2.0])).numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(step(x, np.array([3.0, 4.0])).numpy(), [3.0, 4.0])


@pytest.mark.engines("torch")
def test_matmul_and_bias_fuse_only_when_nothing_is_written_between(backend):
    torch = _torch()
    from nhanh.backend.torch.capture import CapturedStep

    def fn(state, x):
        w, b = state
        fused = x @ w + b  # may become one addmm
        product = x @ w
        w.mul_(2.0)  # written between the matmul and its bias: must stay apart
        kept = product + b
        return (w, b), [fused, kept]

    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.normal(size=(4, 3)).astype("float32"))
    w0 = torch.from_numpy(rng.normal(size=(3, 2)).astype("float32"))
    b0 = torch.from_numpy(rng.normal(size=(2,)).astype("float32"))
    with torch.no_grad():
        _, want = fn((w0.clone(), b0.clone()), x)
        _, got = CapturedStep(fn)((w0.clone(), b0.clone()), x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6, atol=1e-6)

    from torch.fx.experimental.proxy_tensor import make_fx
    from nhanh.backend.torch.graph_rewrites import tidy

    graph = make_fx(lambda w, b, x: fn((w, b), x), tracing_mode="fake")(w0, b0, x)
    tidy(graph)
    targets = [n.target for n in graph.graph.nodes]
    assert targets.count(torch.ops.aten.addmm.default) == 1  # the first pair only
    assert targets.count(torch.ops.aten.mm.default) == 1
