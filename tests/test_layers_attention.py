"""Attention, AdditiveAttention and MultiHeadAttention: forward and gradients against NumPy
implementations (numerical gradients) and against torch's multi_head_attention_forward
(autograd), with masks, causal masks and attention scores; shapes, configs and bad inputs."""

import math

import numpy as np
import pytest
import torch

import nhanh
from nhanh import ops
from nhanh.layers.attention import AdditiveAttention, Attention
from nhanh.layers.multi_head_attention import MultiHeadAttention
from nhanh.variables import StatelessScope
from conftest import to_numpy


# --- helpers -------------------------------------------------------------------------------
def numeric_grads(f, arrays, cotangent, eps=1e-5):
    """d sum(f(*arrays) * cotangent) / d each array, by central differences in float64."""
    arrays = [np.asarray(a, "float64") for a in arrays]
    grads = []
    for k, a in enumerate(arrays):
        grad = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            up, down = [b.copy() for b in arrays], [b.copy() for b in arrays]
            up[k][i] += eps
            down[k][i] -= eps
            grad[i] = np.sum((f(*up) - f(*down)) * cotangent) / (2 * eps)
        grads.append(grad)
    return grads


def run(call, arrays, weights, cotangent):
    """call(*arrays) (an output, or (output, scores)) and the gradients of
    sum(output * cotangent) w.r.t. the arrays then the weights, in one compiled step (jit on
    JAX) with the weights passed in as a training step passes them."""
    b = nhanh.backend.get()
    n = len(arrays)

    def loss(params):
        with StatelessScope(zip(weights, params[n:])):
            out = call(*params[:n])
        first = out[0] if isinstance(out, tuple) else out
        return ops.sum(first * ops.convert_to_tensor(cotangent)), out

    step = b.compile_step(lambda state, *p: b.value_and_grad(loss, has_aux=True)(list(p)))
    (_, out), grads = step([], *[ops.convert_to_tensor(a) for a in arrays],
                           *[w.value for w in weights])
    out = tuple(to_numpy(o) for o in out) if isinstance(out, tuple) else to_numpy(out)
    return out, [to_numpy(g) for g in grads]


def jit_call(fn, *arrays):
    """fn(*arrays) in one compiled step (jit on JAX); state updates (seeds) are discarded."""
    def step(state, *xs):
        with StatelessScope():
            return fn(*xs)

    out = nhanh.backend.get().compile_step(step)([], *[ops.convert_to_tensor(a) for a in arrays])
    return tuple(to_numpy(o) for o in out) if isinstance(out, tuple) else to_numpy(out)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def f32(rng, *shape):
    return rng.normal(size=shape).astype("float32")


# --- Attention / AdditiveAttention -----------------------------------------------------------
def np_attention(q, v, k=None, *, mode="dot", scale=None, concat_weight=None, q_mask=None,
                 v_mask=None, causal=False):
    """Keras's Luong / Bahdanau attention, written directly; (output, scores)."""
    k = v if k is None else k
    if mode == "dot":
        scores = q @ np.swapaxes(k, -1, -2)
        scores = scores * scale if scale is not None else scores
    else:
        pairs = q[:, :, None, :] + k[:, None, :, :]
        if mode == "additive":
            scores = np.sum((1.0 if scale is None else scale) * np.tanh(pairs), -1)
        else:
            pairs = scale * pairs if scale is not None else pairs
            scores = concat_weight * np.sum(np.tanh(pairs), -1)
    keep = np.ones(scores.shape, bool)
    if v_mask is not None:
        keep &= v_mask[:, None, :]
    if causal:
        keep &= np.tril(np.ones(scores.shape[-2:], bool))[None]
    weights = softmax(np.where(keep, scores, scores - 1e9))
    out = weights @ v
    if q_mask is not None:
        out = out * q_mask[..., None]
    return out, weights


Q_MASK = np.array([[1, 1, 0], [1, 1, 1]], bool)
# Every query step keeps at least one value step, also under the causal mask: in a fully masked
# row float32 rounds scores - 1e9 to one value, which makes its gradient meaningless.
V_MASK = np.array([[1, 0, 1, 1], [1, 0, 1, 0]], bool)


@pytest.mark.parametrize("case", [
    dict(mode="dot"), dict(mode="concat", use_scale=True), dict(mode="additive"),
    dict(mode="additive", use_scale=False), dict(mode="dot", with_key=True),
    dict(mode="additive", with_key=True, masks=True),
    dict(mode="dot", masks=True, use_scale=True), dict(mode="concat", causal=True),
    dict(mode="dot", masks=True, causal=True),
], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_attention_matches_numpy(np_rng, case):
    mode = case["mode"]
    use_scale = case.get("use_scale", mode == "additive")
    q, v = f32(np_rng, 2, 3, 5), f32(np_rng, 2, 4, 5)
    k = f32(np_rng, 2, 4, 5) if case.get("with_key") else None
    arrays = [q, v] + ([k] if k is not None else [])
    if mode == "additive":
        layer = AdditiveAttention(use_scale=use_scale)
    else:
        layer = Attention(use_scale=use_scale, score_mode=mode)
    mask = [Q_MASK, V_MASK] if case.get("masks") else None
    causal = case.get("causal", False)
    kwargs = {"use_causal_mask": causal}
    if mask is not None:
        kwargs["mask"] = [ops.convert_to_tensor(m) for m in mask]
    layer.build([a.shape for a in arrays])
    # Non-trivial weights, loaded the way Keras weights would be.
    names = [w.name.split("/")[-1] for w in layer.weights]
    if mode == "additive":
        assert names == (["scale"] if use_scale else [])
    else:
        assert names == (["scale"] if use_scale else []) + (
            ["concat_score_weight"] if mode == "concat" else [])
    layer.set_weights([np.asarray(0.5 + np_rng.random(w.shape), "float32") for w in layer.weights])
    weights = layer.get_weights()

    def reference(*args):
        qq, vv = args[0], args[1]
        kk = args[2] if k is not None else None
        w = list(args[len(arrays):])
        scale = w.pop(0) if use_scale else None
        concat = w.pop(0) if mode == "concat" else None
        return np_attention(qq, vv, kk, mode=mode, scale=scale, concat_weight=concat,
                            q_mask=None if mask is None else mask[0],
                            v_mask=None if mask is None else mask[1], causal=causal)

    want_out, want_scores = reference(*arrays, *weights)
    assert layer.compute_output_shape([a.shape for a in arrays]) == want_out.shape
    assert layer.compute_output_shape([a.shape for a in arrays], return_attention_scores=True) \
        == [want_out.shape, want_scores.shape]
    cotangent = f32(np_rng, *want_out.shape)
    (out, scores), got = run(
        lambda *xs: layer(list(xs), return_attention_scores=True, **kwargs), arrays,
        layer.trainable_weights, cotangent)
    np.testing.assert_allclose(out, want_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)
    want = numeric_grads(lambda *a: reference(*a)[0], arrays + weights, cotangent)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-4)


def test_attention_mask_outputs_and_compute_mask(np_rng):
    q, v = f32(np_rng, 2, 3, 5), f32(np_rng, 2, 4, 5)
    layer = Attention()
    masks = [ops.convert_to_tensor(Q_MASK), ops.convert_to_tensor(V_MASK)]
    out, scores = jit_call(lambda a, b: layer([a, b], mask=masks, return_attention_scores=True),
                           q, v)
    assert np.all(out[~Q_MASK] == 0) and np.all(np.abs(out[Q_MASK]) > 0)
    # Masked value steps get (numerically) zero weight.
    assert np.all(scores[np.broadcast_to(~V_MASK[:, None, :], (2, 3, 4))] < 1e-6)
    np.testing.assert_array_equal(to_numpy(layer.compute_mask([q, v], masks)), Q_MASK)
    assert layer.compute_mask([q, v], None) is None
    assert layer.compute_mask([q, v], [None, masks[1]]) is None
    assert layer.supports_masking and AdditiveAttention().supports_masking


def test_attention_dropout_only_while_training(np_rng):
    q, v = f32(np_rng, 2, 3, 5), f32(np_rng, 2, 4, 5)
    layer = Attention(dropout=0.5, seed=3)
    layer.build([q.shape, v.shape])
    plain, plain_scores = jit_call(lambda a, b: layer([a, b], return_attention_scores=True), q, v)
    same = jit_call(lambda a, b: layer([a, b], training=False), q, v)
    np.testing.assert_allclose(same, plain, rtol=1e-6)
    out, scores = jit_call(
        lambda a, b: layer([a, b], training=True, return_attention_scores=True), q, v)
    dropped = scores == 0
    assert dropped.any() and (~dropped).any()
    np.testing.assert_allclose(scores[~dropped], plain_scores[~dropped] / 0.5, rtol=1e-5)
    np.testing.assert_allclose(out, scores @ v, rtol=1e-5, atol=1e-5)
    assert layer.state_variables and not Attention().state_variables


def test_attention_config_round_trip():
    for layer in (Attention(use_scale=True, score_mode="concat", dropout=0.2, seed=4),
                  AdditiveAttention(use_scale=False, dropout=0.1)):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert Attention(score_mode="concat").get_config()["score_mode"] == "concat"
    assert "score_mode" not in AdditiveAttention().get_config()


@pytest.mark.parametrize("shapes,message", [
    ([(2, 3, 5)], "2 or 3"), ([(2, 3, 5)] * 4, "2 or 3"),
    ([(2, 5), (2, 5)], "rank >= 3"), ([(2, 3, 5), (2, 4, 6)], "same last axis"),
    ([(2, 3, 5), (2, 4, 5), (2, 3, 5)], "same number of steps"),
    ([(2, 3, 5), (3, 4, 5)], "same batch"),
])
def test_attention_bad_shapes(shapes, message):
    layer = Attention()
    pattern = rf"{layer.name}.*{message}.*" + r".*".join(
        str(s).replace("(", r"\(").replace(")", r"\)") for s in shapes[:2])
    with pytest.raises(ValueError, match=pattern):
        layer([np.zeros(s, "float32") for s in shapes])
    with pytest.raises(ValueError, match=message):
        Attention().compute_output_shape(shapes)


def test_attention_bad_arguments():
    with pytest.raises(ValueError, match="score_mode"):
        Attention(score_mode="add")
    with pytest.raises(ValueError, match="dropout"):
        Attention(dropout=1.5)
    with pytest.raises(ValueError, match="list"):
        Attention()(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="mask"):
        Attention()([np.zeros((2, 3, 4), "float32")] * 2, mask=np.ones((2, 3), bool))


# --- MultiHeadAttention --------------------------------------------------------------------
def np_mha(q, v, k, weights, *, num_heads, key_dim, mask=None, use_gate=False):
    """Keras's MultiHeadAttention for rank-3 inputs, written as einsums; (output, scores)."""
    weights = list(weights)
    wq, bq, wk, bk = weights[:4]
    wg, bg = weights[4:6] if use_gate else (None, None)
    wv, bv, wo, bo = weights[-4:]
    Q = np.einsum("btd,dnh->btnh", q, wq) + bq
    K = np.einsum("bsd,dnh->bsnh", k, wk) + bk
    V = np.einsum("bsd,dnh->bsnh", v, wv) + bv
    scores = np.einsum("btnh,bsnh->bnts", Q, K) / math.sqrt(key_dim)
    if mask is not None:
        scores = np.where(mask[:, None], scores, -1e9)
    probs = softmax(scores)
    if mask is not None:
        probs = np.where(mask[:, None], probs, 0.0)
    heads = np.einsum("bnts,bsnh->btnh", probs, V)
    if use_gate:
        heads = heads / (1 + np.exp(-(np.einsum("btd,dnh->btnh", q, wg) + bg)))
    out = np.einsum("btnh,nh...->bt...", heads, wo) + bo
    return out, probs


def randomize(layer, rng):
    """Keras-layout random weights (non-zero biases), loaded with set_weights."""
    layer.set_weights([(0.5 * rng.normal(size=w.shape)).astype("float32") for w in layer.weights])
    return layer.get_weights()


def test_mha_weight_layout_and_order():
    layer = MultiHeadAttention(num_heads=3, key_dim=4, value_dim=5)
    layer.build((2, 3, 7), (2, 6, 8), (2, 6, 9))
    assert [(w.name.split("/", 1)[1], w.shape) for w in layer.weights] == [
        ("query/kernel", (7, 3, 4)), ("query/bias", (3, 4)), ("key/kernel", (9, 3, 4)),
        ("key/bias", (3, 4)), ("value/kernel", (8, 3, 5)), ("value/bias", (3, 5)),
        ("attention_output/kernel", (3, 5, 7)), ("attention_output/bias", (7,))]
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in layer.weights]
    no_bias = MultiHeadAttention(2, 4, use_bias=False, output_shape=(3, 2))
    no_bias.build((1, 2, 5), (1, 3, 5))
    assert [w.shape for w in no_bias.weights] == [(5, 2, 4)] * 3 + [(2, 4, 3, 2)]
    gated = MultiHeadAttention(2, 4, value_dim=3, use_gate=True)
    gated.build([(1, 2, 5), (1, 3, 6)])  # one list of shapes, as a model passes it
    assert [w.name.split("/", 1)[1] for w in gated.weights][4:6] == ["gate/kernel", "gate/bias"]
    assert gated.weights[4].shape == (5, 2, 3)


def _torch_mha(q, v, k, weights, num_heads, mask=None):
    """torch.nn.functional.multi_head_attention_forward with Keras-layout weights, float64;
    (output, scores, grads of sum(output * cotangent) w.r.t. inputs and weights)."""
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True)
              for a in (q, v, k, *weights)]
    tq, tv, tk, wq, bq, wk, bk, wv, bv, wo, bo = leaves
    n, h = wq.shape[1], wq.shape[2]
    embed = tq.shape[-1]
    attn_mask = None
    if mask is not None:  # torch: True = may NOT attend, one (L, S) mask per (batch, head)
        attn_mask = torch.from_numpy(np.repeat(~mask, num_heads, axis=0))
    out, scores = torch.nn.functional.multi_head_attention_forward(
        tq.transpose(0, 1), tk.transpose(0, 1), tv.transpose(0, 1), embed, num_heads,
        in_proj_weight=None, in_proj_bias=torch.cat([bq.reshape(-1), bk.reshape(-1),
                                                     bv.reshape(-1)]),
        bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0.0,
        out_proj_weight=wo.reshape(n * h, embed).T, out_proj_bias=bo, training=False,
        key_padding_mask=None, need_weights=True, attn_mask=attn_mask,
        use_separate_proj_weight=True, q_proj_weight=wq.reshape(-1, n * h).T,
        k_proj_weight=wk.reshape(-1, n * h).T, v_proj_weight=wv.reshape(-1, n * h).T,
        average_attn_weights=False)
    return out.transpose(0, 1), scores, leaves


@pytest.mark.parametrize("masked", [False, True])
def test_mha_matches_torch_forward_and_gradients(np_rng, masked):
    """Keras weights (query/key/value kernels (d, heads, key_dim), output (heads, key_dim, d))
    mapped onto torch's in/out projections give the same outputs, scores and gradients."""
    q, v, k = f32(np_rng, 2, 3, 6), f32(np_rng, 2, 4, 7), f32(np_rng, 2, 4, 5)
    layer = MultiHeadAttention(num_heads=2, key_dim=3)
    layer.build(q.shape, v.shape, k.shape)
    weights = randomize(layer, np_rng)
    mask = None
    if masked:  # no fully masked row: torch gives NaN there
        mask = np.array([[[1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]],
                         [[1, 1, 1, 1], [0, 1, 0, 0], [1, 0, 1, 1]]], bool)
    t_out, t_scores, leaves = _torch_mha(q, v, k, weights, 2, mask)
    cotangent = f32(np_rng, *t_out.shape)
    (t_out * torch.from_numpy(cotangent.astype("float64"))).sum().backward()
    (out, scores), got = run(
        lambda a, b, c: layer(a, b, c, attention_mask=mask, return_attention_scores=True),
        [q, v, k], layer.trainable_weights, cotangent)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, t_scores.detach().numpy(), rtol=1e-5, atol=1e-6)
    for g, leaf in zip(got, leaves):
        np.testing.assert_allclose(g, leaf.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", [
    dict(), dict(query_mask=True, value_mask=True),
    dict(attention_mask=True, causal=True, key_mask=True), dict(use_gate=True, value_dim=3),
    dict(output_shape=(2, 3), value_dim=5), dict(self_attention=True, causal=True),
], ids=lambda c: "-".join(c) or "plain")
def test_mha_matches_numpy(np_rng, case):
    q = f32(np_rng, 2, 3, 6)
    if case.get("self_attention"):
        v = k = q
    else:
        v, k = f32(np_rng, 2, 4, 5), f32(np_rng, 2, 4, 7)
    tq, tv = q.shape[1], v.shape[1]
    layer = MultiHeadAttention(2, 3, value_dim=case.get("value_dim"),
                               output_shape=case.get("output_shape"),
                               use_gate=case.get("use_gate", False))
    kwargs = {"use_causal_mask": case.get("causal", False)}
    mask = np.ones((2, tq, tv), bool)
    if case.get("attention_mask"):
        kwargs["attention_mask"] = np_rng.random((2, tq, tv)) < 0.6
        kwargs["attention_mask"][0, 1] = False  # a fully masked row attends to nothing
        mask &= kwargs["attention_mask"]
    if case.get("causal"):
        mask &= np.tril(np.ones((tq, tv), bool))
    for name, axis, t in (("query_mask", -1, tq), ("value_mask", -2, tv), ("key_mask", -2, tv)):
        if case.get(name):
            kwargs[name] = np.arange(t)[None] < np.array([[t - 1], [t]])
            mask &= np.expand_dims(kwargs[name], axis)
    layer.build(q.shape, v.shape, None if case.get("self_attention") else k.shape)
    weights = randomize(layer, np_rng)
    ref = dict(num_heads=2, key_dim=3, mask=mask, use_gate=case.get("use_gate", False))
    want_out, want_scores = np_mha(q, v, k, weights, **ref)
    assert layer.compute_output_shape(q.shape, v.shape, k.shape, return_attention_scores=True) \
        == [want_out.shape, want_scores.shape]
    cotangent = f32(np_rng, *want_out.shape)
    if case.get("self_attention"):
        (out, scores), got = run(
            lambda x: layer(x, x, return_attention_scores=True, **kwargs), [q],
            layer.trainable_weights, cotangent)
        want = numeric_grads(lambda x, *w: np_mha(x, x, x, w, **ref)[0], [q, *weights],
                             cotangent)
    else:
        (out, scores), got = run(
            lambda a, b, c: layer(a, b, c, return_attention_scores=True, **kwargs), [q, v, k],
            layer.trainable_weights, cotangent)
        want = numeric_grads(lambda a, b, c, *w: np_mha(a, b, c, w, **ref)[0],
                             [q, v, k, *weights], cotangent)
    np.testing.assert_allclose(out, want_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-4)


def test_mha_attention_axes(np_rng):
    """Attention over axes (1, 2) equals attention over the flattened sequence; over axis 2
    alone, each row of axis 1 attends independently."""
    x, y = f32(np_rng, 2, 2, 3, 6), f32(np_rng, 2, 2, 4, 6)
    both = MultiHeadAttention(2, 4, attention_axes=(1, 2))
    both.build(x.shape, y.shape)
    weights = randomize(both, np_rng)
    out, scores = jit_call(lambda a, b: both(a, b, return_attention_scores=True), x, y)
    flat_out, flat_scores = np_mha(x.reshape(2, 6, 6), y.reshape(2, 8, 6), y.reshape(2, 8, 6),
                                   weights, num_heads=2, key_dim=4)
    np.testing.assert_allclose(out, flat_out.reshape(2, 2, 3, 6), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, flat_scores.reshape(2, 2, 2, 3, 2, 4), rtol=1e-5,
                               atol=1e-6)
    last = MultiHeadAttention(2, 4, attention_axes=-2)
    last.build(x.shape, y.shape)
    last.set_weights(weights)
    mask = np_rng.random((2, 2, 3, 4)) < 0.7  # (batch, rows, Tq, Tv)
    out, scores = jit_call(
        lambda a, b: last(a, b, attention_mask=mask, return_attention_scores=True), x, y)
    for row in range(2):
        want_out, want_scores = np_mha(x[:, row], y[:, row], y[:, row], weights, num_heads=2,
                                       key_dim=4, mask=mask[:, row])
        np.testing.assert_allclose(out[:, row], want_out, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(scores[:, row], want_scores, rtol=1e-5, atol=1e-6)
    assert last.compute_output_shape(x.shape, y.shape, return_attention_scores=True) == [
        x.shape, (2, 2, 2, 3, 4)]


def test_mha_dropout_and_masks_pass_through(np_rng):
    q, v = f32(np_rng, 2, 3, 8), f32(np_rng, 2, 4, 6)
    layer = MultiHeadAttention(2, 4, dropout=0.5, seed=1)
    layer.build(q.shape, v.shape)

    def both_modes(a, b):
        return (*layer(a, b, return_attention_scores=True),
                *layer(a, b, return_attention_scores=True, training=True))

    eval_out, eval_scores, train_out, train_scores = jit_call(both_modes, q, v)
    # Scores are returned before dropout, as in Keras; the output used the dropped ones.
    np.testing.assert_allclose(train_scores, eval_scores, rtol=1e-6)
    assert not np.allclose(train_out, eval_out)
    assert layer.supports_masking
    query_mask = ops.convert_to_tensor(Q_MASK)
    assert layer.compute_mask(q, query_mask) is query_mask
    assert layer.compute_mask([q, v], [query_mask, None]) is query_mask
    # mask= as a model passes it: [query_mask, value_mask] is the same as naming them.
    masks = [Q_MASK, V_MASK]
    a, b = jit_call(lambda x, y: (layer(x, y, mask=masks),
                                  layer(x, y, query_mask=masks[0], value_mask=masks[1])), q, v)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    only_query = jit_call(lambda x, y: layer(x, y, mask=ops.convert_to_tensor(Q_MASK)), q, v)
    np.testing.assert_allclose(only_query, jit_call(
        lambda x, y: layer(x, y, query_mask=Q_MASK), q, v), rtol=1e-6)
    assert np.all(a[~Q_MASK] == layer.get_weights()[-1])  # masked query rows attend to nothing


def test_mha_activity_regularizer_covers_each_projection(np_rng):
    q = f32(np_rng, 2, 3, 4)
    layer = MultiHeadAttention(1, 2, activity_regularizer="l2", use_bias=False,
                               kernel_initializer="ones")
    layer(q, q)
    penalties = [float(to_numpy(p)) for p in layer.losses]
    # query, key and value projections are sums of the features, copied into both head dims.
    projection = 0.01 * np.sum(2 * q.sum(-1) ** 2) / 2
    np.testing.assert_allclose(penalties[:3], [projection] * 3, rtol=1e-5)
    assert len(penalties) == 4


def test_mha_config_round_trip():
    layer = MultiHeadAttention(3, 4, value_dim=5, dropout=0.1, use_bias=False, output_shape=7,
                               attention_axes=(1,), kernel_initializer="he_normal",
                               kernel_regularizer="l2", bias_constraint="non_neg",
                               use_gate=True, seed=2, sliding_window=3)
    config = layer.get_config()
    assert config["output_shape"] == (7,) and config["attention_axes"] == (1,)
    assert config["num_heads"] == 3 and config["value_dim"] == 5 and config["use_gate"] is True
    clone = MultiHeadAttention.from_config(config)
    assert clone.get_config() == config
    assert (clone.num_heads, clone.key_dim, clone.value_dim, clone.dropout) == (3, 4, 5, 0.1)


def test_mha_sliding_window(np_rng):
    x = f32(np_rng, 1, 5, 4)
    layer = MultiHeadAttention(1, 2, sliding_window=2)
    layer.build(x.shape, x.shape)
    _, scores = jit_call(lambda a: layer(a, a, return_attention_scores=True), x)
    near = np.abs(np.arange(5)[:, None] - np.arange(5)[None]) < 2
    assert np.all(scores[0, 0][~near] == 0) and np.all(scores[0, 0][near] > 0)


@pytest.mark.parametrize("shapes,message", [
    ([(2, 6), (2, 6)], "rank >= 3"), ([(2, 3, 6), (2, 4, 5, 6)], "rank >= 3"),
    ([(2, 3, 6), (2, 4, 6), (2, 5, 6)], "value and key with equal shapes"),
])
def test_mha_bad_shapes(shapes, message):
    layer = MultiHeadAttention(2, 4)
    with pytest.raises(ValueError, match=rf"{layer.name}.*{message}.*query shape \(2"):
        layer(*[np.zeros(s, "float32") for s in shapes])
    assert not layer.built
    with pytest.raises(ValueError, match=message):
        layer.compute_output_shape(*shapes)


def test_mha_bad_arguments_and_calls():
    for kwargs, message in [({"num_heads": 0, "key_dim": 2}, "num_heads"),
                            ({"num_heads": 2, "key_dim": -1}, "key_dim"),
                            ({"num_heads": 2, "key_dim": 2, "value_dim": 1.5}, "value_dim"),
                            ({"num_heads": 2, "key_dim": 2, "dropout": 2.0}, "dropout"),
                            ({"num_heads": 2, "key_dim": 2, "attention_axes": "x"}, "attention")]:
        with pytest.raises(ValueError, match=message):
            MultiHeadAttention(**kwargs)
    with pytest.raises(ValueError, match="attention_axes"):
        MultiHeadAttention(2, 2, attention_axes=(0,))(np.zeros((1, 2, 3), "float32"),
                                                      np.zeros((1, 2, 3), "float32"))
    layer = MultiHeadAttention(2, 2)
    with pytest.raises(ValueError, match="value"):
        layer(np.zeros((1, 2, 3), "float32"))
    layer(np.zeros((1, 2, 3), "float32"), np.zeros((1, 2, 3), "float32"))
    with pytest.raises(ValueError, match=r"built for.*\(1, 2, 4\)"):
        layer(np.zeros((1, 2, 4), "float32"), np.zeros((1, 2, 3), "float32"))


# --- inside a training step ----------------------------------------------------------------
class _SelfAttentionRegressor(nhanh.Model):
    def __init__(self):
        super().__init__()
        self.mha = MultiHeadAttention(2, 4, dropout=0.1, seed=1)
        self.attention = Attention(use_scale=True, dropout=0.1, seed=2)
        self.head = nhanh.layers.Dense(1)

    def call(self, x, training=None):
        h = self.mha(x, x, use_causal_mask=True, training=training)
        h = self.attention([h, x], training=training, use_causal_mask=True)
        return self.head(ops.mean(h, axis=1))


def test_attention_layers_train_inside_the_compiled_step(np_rng):
    x = f32(np_rng, 32, 4, 3)
    y = x.sum(axis=(1, 2))[:, None]
    model = _SelfAttentionRegressor()
    model.compile(optimizer=nhanh.optimizers.Adam(learning_rate=0.02), loss="mse")
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert len(model.trainable_weights) == 8 + 1 + 2 and len(model.state_variables) == 2
