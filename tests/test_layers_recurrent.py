"""SimpleRNN, LSTM, GRU, RNN(cell), Bidirectional and TimeDistributed.

References: torch.nn.RNN / LSTM / GRU given the same weights (converted here from Keras's layout)
for outputs and gradients, and a plain NumPy loop that implements Keras's masked-step rule.
"""

import numpy as np
import pytest
import torch

import nhanh
from nhanh import ops
from nhanh.layers.dense import Dense
from nhanh.layers.embedding import Embedding, Masking
from nhanh.layers.layer import Layer
from nhanh.layers.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, SimpleRNN
from nhanh.layers.wrappers import Bidirectional, TimeDistributed
from nhanh.variables import StatelessScope
from conftest import to_numpy

B, T, F, U = 2, 4, 3, 5
KINDS = {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN}


def random_weights(layer, rng, scale=0.5):
    weights = [rng.normal(scale=scale, size=w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(weights)
    return weights


def make(kind, rng, units=U, features=F, **kwargs):
    layer = KINDS[kind](units, **kwargs)
    layer.build((None, T, features))
    return layer, random_weights(layer, rng)


def as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def output_shapes(layer, shape):
    """compute_output_shape as a list: a tuple is one output's shape, a list several."""
    shapes = layer.compute_output_shape(shape)
    return shapes if isinstance(shapes, list) else [shapes]


def nhanh_value_and_grads(layer, x, cotangents, **call_kwargs):
    """Outputs and d(sum(output * cotangent))/d(inputs, weights) through the backend's autodiff."""
    weights = layer.weights

    def loss(params):
        with StatelessScope(zip(weights, params[1:])):
            outputs = as_list(layer(params[0], **call_kwargs))
        total = sum(ops.sum(o * ops.convert_to_tensor(c)) for o, c in zip(outputs, cotangents))
        return total, outputs

    params = [ops.convert_to_tensor(x)] + [w.value for w in weights]
    (_, outputs), grads = nhanh.backend.get().value_and_grad(loss, has_aux=True)(params)
    return [to_numpy(o) for o in outputs], [to_numpy(g) for g in grads]


# --- the torch reference ----------------------------------------------------------------------
def _zrh_to_rzn(w):
    z, r, h = np.split(w, 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)


def _rzn_to_zrh(w):
    r, z, n = np.split(w, 3, axis=-1)
    return np.concatenate([z, r, n], axis=-1)


def torch_module(kind, weights, bidirectional=False):
    """A torch.nn recurrent module holding Keras-layout weights (forward, then backward)."""
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[kind]
    module = cls(weights[0].shape[0], weights[1].shape[0], batch_first=True,
                 bidirectional=bidirectional)
    for suffix, (kernel, recurrent, bias) in zip(["", "_reverse"][:len(weights) // 3],
                                                 [weights[:3], weights[3:]]):
        if kind == "gru":
            kernel, recurrent = _zrh_to_rzn(kernel), _zrh_to_rzn(recurrent)
            b_ih, b_hh = _zrh_to_rzn(bias[0]), _zrh_to_rzn(bias[1])
        else:
            b_ih, b_hh = bias, np.zeros_like(bias)
        with torch.no_grad():
            for name, value in [("weight_ih", kernel.T), ("weight_hh", recurrent.T),
                                ("bias_ih", b_ih), ("bias_hh", b_hh)]:
                getattr(module, f"{name}_l0{suffix}").copy_(
                    torch.tensor(np.ascontiguousarray(value)))
    return module


def torch_keras_grads(kind, module, suffix=""):
    """The module's weight gradients in Keras's layout (kernel, recurrent_kernel, bias)."""
    g = {n: getattr(module, f"{n}_l0{suffix}").grad.numpy() for n in
         ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]}
    if kind == "gru":
        return [_rzn_to_zrh(g["weight_ih"].T), _rzn_to_zrh(g["weight_hh"].T),
                np.stack([_rzn_to_zrh(g["bias_ih"]), _rzn_to_zrh(g["bias_hh"])])]
    return [g["weight_ih"].T, g["weight_hh"].T, g["bias_ih"]]


def torch_reference(kind, weights, x, cotangents, return_sequences=False, return_state=False,
                    go_backwards=False, initial_state=None):
    module = torch_module(kind, weights)
    xt = torch.tensor(x, requires_grad=True)
    hx = None
    if initial_state is not None:
        hx = tuple(torch.tensor(s)[None] for s in initial_state)
        hx = hx if kind == "lstm" else hx[0]
    out, final = module(torch.flip(xt, (1,)) if go_backwards else xt, hx)
    states = [s[0] for s in (final if kind == "lstm" else (final,))]
    outputs = [out if return_sequences else out[:, -1]] + (states if return_state else [])
    sum((o * torch.tensor(c)).sum() for o, c in zip(outputs, cotangents)).backward()
    return ([o.detach().numpy() for o in outputs],
            [xt.grad.numpy()] + torch_keras_grads(kind, module))


def assert_all_close(actual, expected, atol):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.shape == e.shape
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=atol)


CASES = [dict(), dict(return_sequences=True, return_state=True),
         dict(return_sequences=True, go_backwards=True), dict(return_state=True, go_backwards=True)]
PATHS = [("lstm", "auto"), ("lstm", False), ("gru", "auto"), ("gru", False), ("simple_rnn", None)]


@pytest.mark.parametrize("kind,use_cudnn", PATHS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(c) or "last")
def test_outputs_and_gradients_match_torch(kind, use_cudnn, case, np_rng):
    extra = {} if use_cudnn is None else {"use_cudnn": use_cudnn}
    layer, weights = make(kind, np_rng, **case, **extra)
    x = np_rng.normal(size=(B, T, F)).astype("float32")
    shapes = output_shapes(layer, (B, T, F))
    cotangents = [np_rng.normal(size=s).astype("float32") for s in shapes]
    outputs, grads = nhanh_value_and_grads(layer, x, cotangents)
    ref_outputs, ref_grads = torch_reference(kind, weights, x, cotangents, **case)
    assert_all_close(outputs, ref_outputs, atol=1e-5)
    assert_all_close(grads, ref_grads, atol=1e-4)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_initial_state_matches_torch(kind, np_rng):
    layer, weights = make(kind, np_rng, return_sequences=True, return_state=True)
    x = np_rng.normal(size=(B, T, F)).astype("float32")
    init = [np_rng.normal(size=(B, U)).astype("float32") for _ in layer.state_size]
    cotangents = [np_rng.normal(size=s).astype("float32")
                  for s in output_shapes(layer, (B, T, F))]
    outputs, _ = nhanh_value_and_grads(layer, x, cotangents, initial_state=init)
    ref, _ = torch_reference(kind, weights, x, cotangents, return_sequences=True,
                             return_state=True, initial_state=init)
    assert_all_close(outputs, ref, atol=1e-5)
    with pytest.raises(ValueError, match="initial_state has (1|2) tensor"):
        layer(x, initial_state=init[:1] if kind == "lstm" else init + init)


# --- masks against a NumPy loop of Keras's rule -----------------------------------------------
def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def numpy_step(kind, weights):
    kernel, recurrent, bias = weights

    def step(x, states):
        h = states[0]
        if kind == "simple_rnn":
            h = np.tanh(x @ kernel + h @ recurrent + bias)
            return h, [h]
        if kind == "lstm":
            i, f, g, o = np.split(x @ kernel + h @ recurrent + bias, 4, axis=-1)
            c = _sigmoid(f) * states[1] + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            return h, [h, c]
        x_z, x_r, x_h = np.split(x @ kernel + bias[0], 3, axis=-1)
        r_z, r_r, r_h = np.split(h @ recurrent + bias[1], 3, axis=-1)
        z, r = _sigmoid(x_z + r_z), _sigmoid(x_r + r_r)
        h = z * h + (1 - z) * np.tanh(x_h + r * r_h)
        return h, [h]
    return step


def numpy_rnn(kind, weights, x, mask, go_backwards=False, zero_output_for_mask=False,
              initial_state=None):
    """Keras's rule: a masked step keeps the states and outputs the previous h (or zeros)."""
    states = initial_state or [np.zeros((x.shape[0], weights[1].shape[0]), "float32")] * (
        2 if kind == "lstm" else 1)
    step, outputs = numpy_step(kind, weights), []
    for t in (reversed(range(x.shape[1])) if go_backwards else range(x.shape[1])):
        out, new = step(x[:, t], states)
        keep = mask[:, t][:, None]
        held = np.zeros_like(out) if zero_output_for_mask else states[0]
        outputs.append(np.where(keep, out, held))
        states = [np.where(keep, n, s) for n, s in zip(new, states)]
    return np.stack(outputs, 1), states


MASKS = {  # right-padded (PyTorch's packed fused kernel), ragged, and one fully masked row
    "right": np.array([[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]], bool),
    "ragged": np.array([[0, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]], bool),
}


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("mask_name", list(MASKS))
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masked_steps_follow_keras_rule(kind, mask_name, go_backwards, np_rng):
    mask = MASKS[mask_name]
    layer, weights = make(kind, np_rng, return_sequences=True, return_state=True,
                          go_backwards=go_backwards)
    x = np_rng.normal(size=(3, T, F)).astype("float32")
    init = [np_rng.normal(size=(3, U)).astype("float32") for _ in layer.state_size]
    outputs = [to_numpy(o) for o in layer(x, mask=mask, initial_state=init)]
    ref_seq, ref_states = numpy_rnn(kind, weights, x, mask, go_backwards, initial_state=init)
    assert_all_close(outputs, [ref_seq] + ref_states, atol=1e-5)
    ref_seq, _ = numpy_rnn(kind, weights, x, mask, go_backwards)
    last_only = KINDS[kind](U, go_backwards=go_backwards)
    last_only.build((None, T, F))
    last_only.set_weights(weights)
    np.testing.assert_allclose(to_numpy(last_only(x, mask=mask)), ref_seq[:, -1], atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_embedding_mask_zero_flows_into_recurrent_layers(kind, np_rng):
    ids = np.array([[3, 1, 4, 0, 0], [0, 0, 5, 9, 2], [7, 0, 6, 0, 0]], "int32")
    model = nhanh.Sequential([Embedding(10, F, mask_zero=True),
                              KINDS[kind](U, return_sequences=True), KINDS[kind](4)])
    model.build((None, 5))
    random_weights(model, np_rng)
    emb, w1, w2 = model.get_weights()[0], model.get_weights()[1:4], model.get_weights()[4:]
    mask = ids != 0
    seq, _ = numpy_rnn(kind, w1, emb[ids], mask)
    _, (h, *_) = numpy_rnn(kind, w2, seq, mask)
    np.testing.assert_allclose(to_numpy(model(ids)), h, atol=1e-5)


def test_masking_layer_skips_steps_in_a_sequential_model(np_rng):
    x = np_rng.normal(size=(3, T, F)).astype("float32")
    x[0, 2:] = 0.0
    x[2, 1] = 0.0
    model = nhanh.Sequential([Masking(), GRU(U, return_sequences=True)])
    model.build((None, T, F))
    weights = random_weights(model, np_rng)
    seq, _ = numpy_rnn("gru", weights, x, np.any(x != 0, axis=-1))
    np.testing.assert_allclose(to_numpy(model(x)), seq, atol=1e-5)


def test_compute_mask_follows_keras():
    mask = ops.convert_to_tensor(MASKS["right"])
    assert LSTM(2).compute_mask(None, mask) is None
    assert to_numpy(LSTM(2, return_sequences=True).compute_mask(None, mask)).tolist() == \
        MASKS["right"].tolist()
    out_mask, *state_masks = LSTM(2, return_sequences=True, return_state=True).compute_mask(
        None, mask)
    assert out_mask is mask and state_masks == [None, None]
    assert GRU(2, return_state=True).compute_mask(None, mask) == [None, None]


# --- dropout ----------------------------------------------------------------------------------
def _identity_rnn(**kwargs):
    layer = SimpleRNN(F, activation=None, use_bias=False, return_sequences=True, seed=3,
                      **kwargs)
    layer.build((None, T, F))
    return layer


def test_input_dropout_only_in_training_one_mask_for_all_steps(np_rng):
    layer = _identity_rnn(dropout=0.5)
    layer.set_weights([np.eye(F, dtype="float32"), np.zeros((F, F), "float32")])
    x = np_rng.uniform(1, 2, size=(8, T, F)).astype("float32")
    np.testing.assert_allclose(to_numpy(layer(x)), x, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(layer(x, training=False)), x, rtol=1e-6)
    ratio = to_numpy(layer(x, training=True)) / x
    assert set(np.round(np.unique(ratio), 5)) == {0.0, 2.0}
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:, :1], ratio.shape))
    assert not np.array_equal(ratio, to_numpy(layer(x, training=True)) / x)  # a fresh mask


def test_recurrent_dropout_one_mask_for_all_steps(np_rng):
    layer = _identity_rnn(recurrent_dropout=0.5)
    layer.set_weights([np.eye(F, dtype="float32"), np.eye(F, dtype="float32")])
    x = np.ones((8, T, F), "float32")
    np.testing.assert_allclose(to_numpy(layer(x)), np.cumsum(x, axis=1), rtol=1e-6)
    h = to_numpy(layer(x, training=True))
    m = h[:, 1] - 1  # h_1 = x_1 + h_0 * m with h_0 = 1
    assert set(np.round(np.unique(m), 5)) == {0.0, 2.0}
    for t in range(1, T):
        np.testing.assert_allclose(h[:, t], 1 + h[:, t - 1] * m, rtol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("rates", [(0.5, 0.0), (0.3, 0.4)])
def test_lstm_gru_dropout_only_while_training(kind, rates, np_rng):
    layer, weights = make(kind, np_rng, return_sequences=True, dropout=rates[0],
                          recurrent_dropout=rates[1])
    x = np_rng.normal(size=(B, T, F)).astype("float32")
    ref, _ = numpy_rnn(kind, weights, x, np.ones((B, T), bool))
    np.testing.assert_allclose(to_numpy(layer(x, training=False)), ref, atol=1e-5)
    a, b = to_numpy(layer(x, training=True)), to_numpy(layer(x, training=True))
    assert np.abs(a - ref).max() > 1e-3 and np.abs(a - b).max() > 1e-3


def test_fit_with_masks_and_dropout_is_compiled_and_learns(np_rng):
    ids = np_rng.integers(1, 12, size=(32, 6)).astype("int32")
    ids[:10, 4:] = 0
    y = (ids[:, 0] > 6).astype("float32")
    model = nhanh.Sequential([
        Embedding(12, 8, mask_zero=True),
        LSTM(6, return_sequences=True, dropout=0.2, recurrent_dropout=0.2),
        GRU(6, dropout=0.2), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=nhanh.optimizers.Adam(0.02))
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(ids, y, epochs=8, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.engines("jax")
def test_jax_runs_one_scan_whatever_the_length(backend):
    import jax

    for layer in (LSTM(3), LSTM(3, use_cudnn=False, recurrent_dropout=0.1), GRU(3),
                  SimpleRNN(3)):
        sizes = []
        for steps in (2, 20):
            jaxpr = jax.make_jaxpr(lambda v: layer(v, training=True))(np.zeros((2, steps, 4),
                                                                               "float32"))
            sizes.append(len(jaxpr.jaxpr.eqns))
            assert "scan" in str(jaxpr)
        assert sizes[0] == sizes[1]


# --- Bidirectional ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind,merge_mode,return_sequences", [
    ("lstm", "concat", True), ("lstm", "sum", True), ("lstm", "mul", True), ("lstm", "ave", True),
    ("lstm", None, True), ("lstm", "concat", False), ("gru", "concat", True),
    ("gru", None, False), ("gru", "ave", False)])
def test_bidirectional_matches_torch_bidirectional(kind, merge_mode, return_sequences, np_rng):
    layer = Bidirectional(KINDS[kind](U, return_sequences=return_sequences),
                          merge_mode=merge_mode)
    layer.build((None, T, F))
    weights = random_weights(layer, np_rng)
    x = np_rng.normal(size=(B, T, F)).astype("float32")
    shapes = output_shapes(layer, (B, T, F))
    cotangents = [np_rng.normal(size=s).astype("float32") for s in shapes]
    outputs, grads = nhanh_value_and_grads(layer, x, cotangents)

    module = torch_module(kind, weights, bidirectional=True)
    xt = torch.tensor(x, requires_grad=True)
    out, final = module(xt)
    if return_sequences:
        fwd, bwd = out[..., :U], out[..., U:]
    else:
        h = final[0] if kind == "lstm" else final
        fwd, bwd = h[0], h[1]
    merged = {"concat": lambda: [torch.cat([fwd, bwd], -1)], "sum": lambda: [fwd + bwd],
              "mul": lambda: [fwd * bwd], "ave": lambda: [(fwd + bwd) / 2],
              None: lambda: [fwd, bwd]}[merge_mode]()
    sum((o * torch.tensor(c)).sum() for o, c in zip(merged, cotangents)).backward()
    assert_all_close(outputs, [m.detach().numpy() for m in merged], atol=1e-5)
    ref_grads = [xt.grad.numpy()] + torch_keras_grads(kind, module) + torch_keras_grads(
        kind, module, "_reverse")
    assert_all_close(grads, ref_grads, atol=1e-4)


def test_bidirectional_return_state_and_weights_order(np_rng):
    layer = Bidirectional(LSTM(U, return_state=True, name="enc"))
    x = np_rng.normal(size=(B, T, F)).astype("float32")
    out = layer(x)
    assert [w.name for w in layer.weights] == [
        f"{c}/{n}" for c in ("lstm_cell", "lstm_cell") for n in
        ("kernel", "recurrent_kernel", "bias")]
    assert layer.forward_layer.name == "forward_enc" and layer.backward_layer.name == "backward_enc"
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    shapes = layer.compute_output_shape((B, T, F))
    assert shapes == [(B, 2 * U)] + [(B, U)] * 4
    assert [tuple(o.shape) for o in out] == shapes
    fwd = [to_numpy(o) for o in layer.forward_layer(x)]
    bwd = [to_numpy(o) for o in layer.backward_layer(x)]
    np.testing.assert_allclose(to_numpy(out[0]), np.concatenate([fwd[0], bwd[0]], -1), atol=1e-6)
    assert_all_close([to_numpy(o) for o in out[1:]], fwd[1:] + bwd[1:], atol=1e-6)


def test_bidirectional_masked_sequences_output_zeros(np_rng):
    mask = MASKS["ragged"]
    layer = Bidirectional(GRU(U, return_sequences=True))
    layer.build((None, T, F))
    weights = random_weights(layer, np_rng)
    x = np_rng.normal(size=(3, T, F)).astype("float32")
    fwd, _ = numpy_rnn("gru", weights[:3], x, mask, zero_output_for_mask=True)
    bwd, _ = numpy_rnn("gru", weights[3:], x, mask, go_backwards=True, zero_output_for_mask=True)
    expected = np.concatenate([fwd, bwd[:, ::-1]], -1)
    np.testing.assert_allclose(to_numpy(layer(x, mask=mask)), expected, atol=1e-5)
    assert np.all(expected[~mask] == 0)
    assert layer.compute_mask(x, ops.convert_to_tensor(mask)) is not None


# --- TimeDistributed --------------------------------------------------------------------------
def test_time_distributed_dense_equals_dense_per_step(np_rng):
    dense = Dense(4, activation="tanh")
    layer = TimeDistributed(dense)
    x = np_rng.normal(size=(B, T, 2, F)).astype("float32")
    y = to_numpy(layer(x))
    assert y.shape == (B, T, 2, 4) == layer.compute_output_shape((B, T, 2, F))
    for t in range(T):
        np.testing.assert_allclose(y[:, t], to_numpy(dense(x[:, t])), atol=1e-6)
    assert layer.weights == dense.weights
    assert layer.compute_output_shape((None, None, 2, F)) == (None, None, 2, 4)


def test_time_distributed_passes_masks_and_wraps_recurrent_layers(np_rng):
    mask = ops.convert_to_tensor(MASKS["right"])
    assert TimeDistributed(Dense(2)).compute_mask(None, mask) is mask
    inner = LSTM(U)
    layer = TimeDistributed(inner)
    x = np_rng.normal(size=(B, 3, T, F)).astype("float32")
    y = to_numpy(layer(x))
    assert y.shape == (B, 3, U)
    np.testing.assert_allclose(y[:, 1], to_numpy(inner(x[:, 1])), atol=1e-6)


# --- shapes, weights, configuration, errors ---------------------------------------------------
def test_weights_names_shapes_and_keras_initialization():
    lstm = LSTM(U)
    lstm.build((None, T, F))
    assert [(w.name, w.shape) for w in lstm.weights] == [
        ("lstm_cell/kernel", (F, 4 * U)), ("lstm_cell/recurrent_kernel", (U, 4 * U)),
        ("lstm_cell/bias", (4 * U,))]
    bias = lstm.get_weights()[2]
    np.testing.assert_array_equal(bias, np.r_[np.zeros(U), np.ones(U), np.zeros(2 * U)])
    recurrent = lstm.get_weights()[1]
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(U), atol=1e-5)  # orthogonal
    gru, gru_before = GRU(U), GRU(U, reset_after=False, use_bias=True)
    gru.build((None, T, F))
    gru_before.build((None, T, F))
    assert [w.shape for w in gru.weights] == [(F, 3 * U), (U, 3 * U), (2, 3 * U)]
    assert [w.shape for w in gru_before.weights][-1] == (3 * U,)
    rnn = SimpleRNN(U, use_bias=False)
    rnn.build((None, T, F))
    assert [w.shape for w in rnn.weights] == [(F, U), (U, U)]
    assert rnn.count_params() == F * U + U * U


def test_output_shapes_are_tuples_or_lists():
    assert LSTM(U).compute_output_shape((None, T, F)) == (None, U)
    assert GRU(U, return_sequences=True).compute_output_shape((None, None, F)) == (None, None, U)
    assert LSTM(U, return_state=True).compute_output_shape((None, T, F)) == [
        (None, U), (None, U), (None, U)]
    assert SimpleRNN(U, return_sequences=True, return_state=True).compute_output_shape(
        (8, T, F)) == [(8, T, U), (8, U)]
    model = nhanh.Sequential([Embedding(10, F, input_shape=(T,)), LSTM(U, return_sequences=True),
                              TimeDistributed(Dense(2))])
    assert model.output_shape == (None, T, 2)


def test_reduced_variants_gru_reset_before_and_custom_activations_match_numpy(np_rng):
    layer, (kernel, recurrent, bias) = make("gru", np_rng, reset_after=False,
                                            activation="relu", return_sequences=True)
    x = np_rng.normal(size=(B, T, F)).astype("float32")
    h, outs = np.zeros((B, U), "float32"), []
    for t in range(T):
        x_z, x_r, x_h = np.split(x[:, t] @ kernel + bias, 3, axis=-1)
        r_z, r_r = np.split(h @ recurrent[:, :2 * U], 2, axis=-1)
        z, r = _sigmoid(x_z + r_z), _sigmoid(x_r + r_r)
        h = z * h + (1 - z) * np.maximum(x_h + (r * h) @ recurrent[:, 2 * U:], 0)
        outs.append(h)
    np.testing.assert_allclose(to_numpy(layer(x)), np.stack(outs, 1), atol=1e-5)
    with pytest.raises(ValueError, match="use_cudnn=True"):
        make("gru", np_rng, reset_after=False, use_cudnn=True)[0](x)


class MinimalCell(Layer):
    """A user cell: h_t = h_{t-1} * 0.5 + x_t @ w."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size = units, units

    def build(self, input_shape):
        self.w = self.add_weight((input_shape[-1], self.units), "ones", name="w")

    def call(self, inputs, states):
        h = states[0] * 0.5 + ops.matmul(inputs, self.w.value)
        return h, [h]


def test_rnn_with_a_cell(np_rng):
    x = np_rng.normal(size=(B, T, F)).astype("float32")
    y = to_numpy(RNN(MinimalCell(2), return_sequences=True)(x, mask=MASKS["right"][:B]))
    h, expected = np.zeros((B, 2)), []
    for t in range(T):
        new = h * 0.5 + x[:, t].sum(-1, keepdims=True)
        h = np.where(MASKS["right"][:B, t][:, None], new, h)
        expected.append(h)
    np.testing.assert_allclose(y, np.stack(expected, 1), atol=1e-5)
    cell_layer, lstm = RNN(LSTMCell(U)), LSTM(U)
    cell_layer.build((None, T, F))
    lstm.build((None, T, F))
    cell_layer.set_weights(lstm.get_weights())
    np.testing.assert_allclose(to_numpy(cell_layer(x)), to_numpy(lstm(x)), atol=1e-6)
    out, (h1,) = GRUCell(U)(x[:, 0], [np.zeros((B, U), "float32")])
    assert tuple(out.shape) == (B, U) and to_numpy(out).tolist() == to_numpy(h1).tolist()


@pytest.mark.parametrize("make_layer", [
    lambda: LSTM(U, activation="relu", dropout=0.25, return_sequences=True, go_backwards=True,
                 kernel_regularizer="l2", recurrent_constraint="non_neg", seed=4, name="enc"),
    lambda: GRU(U, reset_after=False, recurrent_dropout=0.1, return_state=True),
    lambda: SimpleRNN(U, activation="sigmoid", use_bias=False, unroll=True),
    lambda: Bidirectional(LSTM(U, return_sequences=True), merge_mode="sum"),
    lambda: TimeDistributed(Dense(3, activation="relu")),
    lambda: RNN(LSTMCell(U), return_sequences=True),
])
def test_config_round_trip(make_layer, np_rng):
    layer = make_layer()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    shape = (B, T, 2, F) if isinstance(layer, TimeDistributed) else (B, T, F)
    x = np_rng.normal(size=shape).astype("float32")
    layer.build(shape)
    clone.build(shape)
    clone.set_weights(layer.get_weights())
    for a, b in zip(as_list(layer(x)), as_list(clone(x))):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-6)


def test_layer_views_of_the_cell_arguments():
    layer = LSTM(7, recurrent_dropout=0.2, unit_forget_bias=False)
    assert (layer.units, layer.recurrent_dropout, layer.unit_forget_bias) == (7, 0.2, False)
    assert layer.activation is nhanh.activations.tanh
    with pytest.raises(AttributeError):
        layer.no_such_thing


@pytest.mark.parametrize("make_layer", [lambda: LSTM(U), lambda: GRU(U), lambda: SimpleRNN(U),
                                        lambda: Bidirectional(LSTM(U))])
def test_wrong_rank_fails_at_build_naming_the_layer(make_layer):
    layer = make_layer()
    with pytest.raises(ValueError, match=rf"{layer.name}.*rank 3.*received shape \(2, 3\)"):
        layer(np.zeros((2, 3), "float32"))
    layer(np.zeros((2, T, F), "float32"))
    with pytest.raises(ValueError, match=rf"{layer.name}.*received shape \(2, 4, 7\)"):
        layer(np.zeros((2, T, 7), "float32"))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="units"):
        GRU(0)
    with pytest.raises(ValueError, match="merge_mode"):
        Bidirectional(LSTM(U), merge_mode="max")
    with pytest.raises(ValueError, match="use_cudnn"):
        LSTM(U, use_cudnn="yes")
    with pytest.raises(TypeError, match="unexpected.*unitz"):
        LSTM(U, unitz=3)
    with pytest.raises(ValueError, match="rank >= 3"):
        TimeDistributed(Dense(2))(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="go_backwards"):
        Bidirectional(LSTM(U), backward_layer=LSTM(U))


# --- training against real Keras 3 --------------------------------------------------------------
# Every recurrent layer, masked (Embedding(mask_zero=True)) and not, trains for two SGD steps
# from the same initial weights as Keras 3 does (Keras on JAX, computed once per session), and
# on PyTorch the step is captured as one graph, not run eagerly.

TRAIN_IDS = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 2, 1], [0, 0, 3, 4, 5], [6, 1, 0, 2, 0],
                      [2, 2, 2, 2, 0], [5, 0, 0, 0, 0], [3, 6, 1, 4, 2], [0, 1, 2, 3, 0]],
                     "int32")
TRAIN_Y = np.linspace(-1, 1, len(TRAIN_IDS), dtype="float32")[:, None]
RECURRENT_CASES = {  # few models, each several layers: Keras's side costs a compilation each
    # Side by side on the same (masked) sequences, each returning only its last output.
    "last_outputs": lambda L: [[L.layers.SimpleRNN(3)], [L.layers.LSTM(3)], [L.layers.GRU(3)]],
    "backwards_sequences": lambda L: [
        L.layers.LSTM(3, return_sequences=True, go_backwards=True),
        L.layers.GRU(2, return_sequences=True), L.layers.SimpleRNN(2, go_backwards=True)],
    "bidirectional": lambda L: [L.layers.Bidirectional(L.layers.GRU(2, return_sequences=True)),
                                L.layers.Bidirectional(L.layers.LSTM(2))],
    "cells": lambda L: [L.layers.RNN(L.layers.SimpleRNNCell(3), return_sequences=True),
                        L.layers.RNN(L.layers.LSTMCell(3), return_sequences=True,
                                     go_backwards=True),
                        L.layers.RNN(L.layers.GRUCell(2))],
}


def _recurrent_model(L, case: str, masked: bool):
    layers = RECURRENT_CASES[case](L)
    if isinstance(layers[0], list):  # parallel branches, concatenated (a functional model)
        inputs = L.Input((TRAIN_IDS.shape[1],), dtype="int32")
        embedded = L.layers.Embedding(7, 3, mask_zero=masked)(inputs)
        branches = []
        for branch in layers:
            h = embedded
            for layer in branch:
                h = layer(h)
            branches.append(h)
        model = L.Model(inputs, L.layers.Dense(1)(L.layers.Concatenate()(branches)))
    else:
        model = L.Sequential([L.Input((TRAIN_IDS.shape[1],), dtype="int32"),
                              L.layers.Embedding(7, 3, mask_zero=masked), *layers,
                              L.layers.Dense(1)])
    rng = np.random.default_rng(11)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                       for w in model.get_weights()])
    model.compile(optimizer=L.optimizers.SGD(0.2), loss="mse")
    return model


def _two_steps(L, case, masked, **fit_args):
    model = _recurrent_model(L, case, masked)
    history = model.fit(TRAIN_IDS, TRAIN_Y, batch_size=4, epochs=1, shuffle=False, verbose=0,
                        **fit_args)
    return history.history["loss"], [np.asarray(w) for w in model.get_weights()]


_KERAS_RESULTS: dict = {}


def _keras_two_steps(case, masked):
    if (case, masked) not in _KERAS_RESULTS:
        import os
        os.environ.setdefault("KERAS_BACKEND", "jax")
        keras = pytest.importorskip("keras")
        _KERAS_RESULTS[case, masked] = _two_steps(keras, case, masked)
    return _KERAS_RESULTS[case, masked]


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("case", list(RECURRENT_CASES))
def test_training_steps_match_keras(case, masked, backend, caplog):
    with caplog.at_level("WARNING", logger="nhanh"):
        loss, weights = _two_steps(nhanh, case, masked)
    assert "could not be captured" not in caplog.text  # PyTorch replayed one captured graph
    want_loss, want_weights = _keras_two_steps(case, masked)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5, atol=1e-6)
    assert len(weights) == len(want_weights)
    for got, want in zip(weights, want_weights):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    before = _recurrent_model(nhanh, case, masked).get_weights()
    assert all(not np.allclose(a, b) for a, b in zip(before[1:], weights[1:]))  # it learned
