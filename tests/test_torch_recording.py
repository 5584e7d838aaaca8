"""backend/torch/recording.py: a step run for real once, its ATen ops written down as a graph
that replays the same numbers; what the step wrote is put back when the recording is refused."""

import numpy as np
import pytest

pytestmark = pytest.mark.engines("torch")


def _modules():
    import torch

    from nhanh.backend.torch import capture, recording
    return torch, capture, recording


def test_the_recorded_graph_replays_the_step(backend):
    torch, capture, recording = _modules()

    def step(x, w, b, y):  # forward, backward, an in-place update
        h = torch.tanh(x @ w + b)
        loss = ((h.sum(1) - y) ** 2).mean()
        gw, gb = torch.autograd.grad(loss, [w, b])
        with torch.no_grad():
            w.sub_(0.1 * gw)
            b.sub_(0.1 * gb)
        return [loss, h]

    rng = np.random.default_rng(0)
    x, w, y = (torch.tensor(rng.normal(size=s), dtype=torch.float32)
               for s in ((8, 4), (4, 3), (8,)))
    w.requires_grad_(True)
    b = torch.zeros(3, requires_grad=True)
    state = [t.detach().clone().requires_grad_(t.requires_grad) for t in (w, b)]
    graph, outputs = recording.record(step, [x, w, b, y])
    expected = step(x, *state, y)  # the same step, eagerly, from the same start
    for got, want in zip(outputs + [w, b], expected + state):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    replay = capture._to_python(graph)  # a second step, replayed
    x2 = x.flip(0).contiguous()
    with torch.no_grad():
        replayed = replay(x2, w, b, y)
    expected = step(x2, *state, y)
    for got, want in zip(list(replayed) + [w, b], expected + state):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    assert not any(n.op == "get_attr" for n in graph.graph.nodes)  # all inputs, no constants


def test_a_refused_recording_puts_back_what_the_step_wrote(backend):
    torch, _, recording = _modules()
    x = torch.ones(3)
    older = torch.zeros(2)  # made before the step, not one of its inputs

    def step(x):
        y = x * 3
        y.add_(1)  # the step's own tensor: nothing to put back
        x[1:].mul_(2)  # a view of an input
        older.add_(5)
        older.add_(1)
        raise recording.Refused("planted")

    with pytest.raises(recording.Refused):
        recording.record(step, [x])
    np.testing.assert_array_equal(x.numpy(), [1, 1, 1])
    np.testing.assert_array_equal(older.numpy(), [0, 0])
    assert not recording.active()


@pytest.mark.parametrize("read", ["item", "bool", "numpy", "tolist", "unique"])
def test_reading_a_value_on_the_host_or_a_data_dependent_shape_is_refused(read, backend):
    torch, _, recording = _modules()
    x = torch.ones(3)

    def step(x):
        x.add_(1)
        total = x.sum()
        if read == "unique":  # no host read: its shape depends on x's values
            return [torch.unique(x) * 2]
        value = {"item": lambda: total.item(), "bool": lambda: bool(total > 0),
                 "numpy": lambda: total.numpy(), "tolist": lambda: x.tolist()}[read]()
        return [x * float(np.asarray(value, dtype=float).sum())]

    with pytest.raises(recording.Refused, match="host|depends on the data"):
        recording.record(step, [x])
    np.testing.assert_array_equal(x.numpy(), [1, 1, 1])
    assert x.numpy().tolist() == [1, 1, 1]  # the guard is gone once the recording ended


def test_a_keyword_only_tensor_is_an_input_of_the_graph_not_a_constant(backend):
    torch, capture, recording = _modules()

    def step(x, acc):
        torch.add(x, x, out=acc)  # aten.add.out(x, x, out=acc): acc comes as a keyword
        return [acc * 1.0]

    graph, _ = recording.record(step, [torch.ones(3), torch.zeros(3)])
    x, acc = torch.arange(3.0), torch.zeros(3)
    out, = capture._to_python(graph)(x, acc)
    np.testing.assert_array_equal(acc.numpy(), [0, 2, 4])  # written: this call's acc
    np.testing.assert_array_equal(out.numpy(), [0, 2, 4])
