"""The rest of keras.ops.nn (nhanh/ops/ nn_functions.py, spatial.py, attention.py,
ctc_decode.py) against independent references.

nhanh writes these ops once for both engines, so their values are compared, on each engine,
with Keras 3's PyTorch kernels (keras.src.backend.torch imports beside Keras's JAX backend and
runs without compiling), with closed forms in NumPy, and with torch.nn.functional. Attention is
the one op whose kernel differs per engine: it is compared with Keras's kernel for the same
engine. Beam search is also checked against a brute-force sum over every alignment, and
gradients against finite differences.
"""

from __future__ import annotations

import importlib
import itertools
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402,F401  (Keras first, on JAX unless chosen before)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import nhanh  # noqa: E402
from nhanh import ops  # noqa: E402
from nhanh.ops import attention as nnf  # noqa: E402


def np_(x):
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def nh(x):
    return ops.convert_to_numpy(x)


def keras_nn(backend: str = "torch"):
    """Keras's nn kernels for one engine (PyTorch's by default: they run without compiling)."""
    return importlib.import_module(f"keras.src.backend.{backend}.nn")


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np_(a), np_(b), rtol=tol, atol=tol)


RNG = np.random.default_rng(0)


def rand(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape).astype("float32")


# --- elementwise, distances, statistics ----------------------------------------------------------

def test_swish_cdist_psnr_multi_hot(backend):
    x = rand(3, 4)
    close(nh(ops.swish(x)), x / (1 + np.exp(-x)))
    a, b = rand(2, 3, 4), rand(1, 5, 4)
    kmath = importlib.import_module("keras.src.backend.torch.math")
    close(nh(ops.cdist(a, b)), kmath.cdist(a, b))
    close(nh(ops.cdist(a, b)), np.sqrt(((a[:, :, None] - b[:, None]) ** 2).sum(-1)))
    y1, y2 = rand(2, 4, 4, 3, low=0, high=1), rand(2, 4, 4, 3, low=0, high=1)
    close(nh(ops.psnr(y1, y2, 1.0)), keras_nn().psnr(y1, y2, 1.0))
    labels = np.array([[0, 4, 4], [1, 2, 3]], "int32")
    for axis in (-1, 0):
        close(nh(ops.multi_hot(labels, num_classes=5, axis=axis)),
              keras_nn().multi_hot(labels, 5, axis=axis, dtype="float32"))
    close(nh(ops.multi_hot(np.array([0, 4]), num_tokens=5)), [1, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="num_classes"):
        ops.multi_hot(labels)


@pytest.mark.parametrize("axes,keepdims", [([0], False), ([0, 2], True), (-1, False)])
def test_moments_and_batch_normalization_match_keras(backend, axes, keepdims):
    x = rand(4, 3, 5)
    mean, var = ops.moments(x, axes, keepdims=keepdims)
    k_mean, k_var = keras_nn().moments(x, axes, keepdims=keepdims)
    close(nh(mean), k_mean)
    close(nh(var), k_var)
    half_mean, half_var = ops.moments(x.astype("float16"), axes)
    assert ops.dtype(half_mean) == ops.dtype(half_var) == "float16"
    m, v, off, sc = rand(3), rand(3, low=0.5), rand(3), rand(3)
    for offset, scale in ((None, None), (off, sc)):
        out = ops.batch_normalization(x, m, v, axis=1, offset=offset, scale=scale, epsilon=1e-3)
        ref = ((x - m[:, None]) / np.sqrt(v[:, None] + 1e-3))
        if scale is not None:
            ref = ref * sc[:, None] + off[:, None]
        close(nh(out), ref)
    with pytest.raises(ValueError, match="variance"):
        ops.batch_normalization(x, m, rand(4), axis=1)


def _np_layer_norm(x, axes, gamma=None, beta=None, eps=1e-7):
    out = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)
    return out * (1 if gamma is None else gamma) + (0 if beta is None else beta)


def test_normalizations_match_closed_forms(backend):
    x = rand(2, 3, 4)
    gamma, beta = rand(4), rand(4)
    close(nh(ops.layer_normalization(x, gamma, beta)), _np_layer_norm(x, -1, gamma, beta))
    g2, b2 = rand(3, 4), rand(3, 4)
    close(nh(ops.layer_normalization(x, g2, b2, axis=[1, 2], epsilon=1e-3)),
          _np_layer_norm(x, (1, 2), g2, b2, eps=1e-3))
    g3 = rand(3)  # laid along axis 1, as Keras does for a vector gamma of another axis
    close(nh(ops.layer_normalization(x, g3, axis=1)), _np_layer_norm(x, 1) * g3[:, None])
    close(nh(ops.rms_normalization(x, scale=gamma)),
          x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-7) * gamma)
    close(nh(ops.rms_normalization(x, axis=(1, 2))),
          x / np.sqrt((x ** 2).mean((1, 2), keepdims=True) + 1e-7))
    z = np.concatenate([x, np.zeros((2, 3, 1), "float32")], -1)
    z[0, 0] = 0.0  # a zero vector stays zero
    for order, axis in ((2, -1), (1, -1), (3, 1), (2, (1, 2))):
        norm = (np.abs(z) ** order).sum(axis, keepdims=True) ** (1 / order)
        close(nh(ops.normalize(z, axis=axis, order=order)), z / np.maximum(norm, 1e-7))
    half = ops.layer_normalization(x.astype("float16"))
    assert ops.dtype(half) == "float16"
    close(nh(half), _np_layer_norm(x, -1), tol=3e-3)
    with pytest.raises(ValueError, match="order"):
        ops.normalize(x, order=0)


def _directional_check(fn, args, rng, eps=1e-2, tol=2e-2, directions=2):
    """The derivative of sum(w * fn(*args)) along random directions of all the arguments at
    once, by central differences, against the gradient's inner product with them."""
    weights = ops.convert_to_tensor(rng.normal(size=ops.shape(fn(*args))).astype("float32"))

    def loss(params):
        return ops.sum(ops.multiply(fn(*params), weights))

    _, grads = nhanh.backend.get().value_and_grad(loss)([ops.convert_to_tensor(a) for a in args])
    for _ in range(directions):
        ds = [rng.normal(size=a.shape).astype("float32") for a in args]
        plus = loss([ops.convert_to_tensor(a + eps * d) for a, d in zip(args, ds)])
        minus = loss([ops.convert_to_tensor(a - eps * d) for a, d in zip(args, ds)])
        numeric = (float(nh(plus)) - float(nh(minus))) / (2 * eps)
        analytic = sum(float((nh(g) * d).sum()) for g, d in zip(grads, ds))
        np.testing.assert_allclose(analytic, numeric, rtol=tol, atol=tol)


def test_layer_normalization_gradient_matches_finite_differences(backend):
    rng = np.random.default_rng(1)
    _directional_check(lambda x, g, b: ops.layer_normalization(x, g, b),
                       [rand(3, 6), rand(6), rand(6)], rng)


# --- crossentropies ------------------------------------------------------------------------------

@pytest.mark.parametrize("from_logits", [False, True])
def test_crossentropies_match_keras(backend, from_logits):
    knn = keras_nn()
    logits = rand(4, 3, 5)
    output = logits if from_logits else np_(F.softmax(torch.tensor(logits), -1))
    onehot = np.eye(5, dtype="float32")[RNG.integers(0, 5, size=(4, 3))]
    close(nh(ops.categorical_crossentropy(onehot, output, from_logits=from_logits)),
          knn.categorical_crossentropy(onehot, output, from_logits=from_logits))
    # the class axis elsewhere
    moved = np.moveaxis(output, -1, 1)
    close(nh(ops.categorical_crossentropy(np.moveaxis(onehot, -1, 1), moved, from_logits, axis=1)),
          knn.categorical_crossentropy(np.moveaxis(onehot, -1, 1), moved, from_logits, axis=1))
    sparse = RNG.integers(0, 5, size=(4, 3)).astype("int32")
    close(nh(ops.sparse_categorical_crossentropy(sparse, output, from_logits=from_logits)),
          knn.sparse_categorical_crossentropy(sparse, output, from_logits=from_logits))
    close(nh(ops.sparse_categorical_crossentropy(sparse[..., None], output, from_logits)),
          knn.sparse_categorical_crossentropy(sparse, output, from_logits))
    target = RNG.integers(0, 2, size=(4, 3)).astype("float32")
    probs = logits[..., 0] if from_logits else 1 / (1 + np.exp(-logits[..., 0]))
    close(nh(ops.binary_crossentropy(target, probs, from_logits=from_logits)),
          knn.binary_crossentropy(target, probs, from_logits=from_logits))
    with pytest.raises(ValueError, match="same shape"):
        ops.categorical_crossentropy(onehot, output[:, :2])


# --- patches, pixel shuffles, adaptive pooling ----------------------------------------------------

@pytest.mark.parametrize("kernel,dilation,padding,stride", [
    (2, 1, 0, 2), ((2, 3), 1, 1, 1), (3, (2, 1), (1, 0), (2, 1)), (1, 1, 0, 1)])
def test_unfold_and_fold_match_torch(backend, kernel, dilation, padding, stride):
    x = rand(2, 3, 7, 6)
    args = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
    cols = nh(ops.unfold(x, **args))
    expected = F.unfold(torch.tensor(x), **args)
    close(cols, expected)
    blocks = rand(*expected.shape)  # fold sums overlapping blocks back
    close(nh(ops.fold(blocks, output_size=(7, 6), **args)),
          F.fold(torch.tensor(blocks), output_size=(7, 6), **args))


def test_fold_unfold_errors(backend):
    with pytest.raises(ValueError, match="4-D"):
        ops.unfold(rand(3, 7, 6), 2)
    with pytest.raises(ValueError, match="kernel_size"):
        ops.fold(rand(1, 8, 5), output_size=4, kernel_size=2, stride=2)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_depth_to_space_and_back_match_keras(backend, data_format):
    x = rand(2, 3, 4, 12) if data_format == "channels_last" else rand(2, 12, 3, 4)
    up = nh(ops.depth_to_space(x, 2, data_format=data_format))
    close(up, keras_nn().depth_to_space(x, 2, data_format=data_format))
    if data_format == "channels_first":  # PyTorch's pixel shuffle order
        close(up, F.pixel_shuffle(torch.tensor(x), 2))
    down = nh(ops.space_to_depth(up, 2, data_format=data_format))
    close(down, keras_nn().space_to_depth(up, 2, data_format=data_format))
    close(down, x)
    with pytest.raises(ValueError, match="block_size"):
        ops.depth_to_space(x, 1)
    with pytest.raises(ValueError, match="divisible"):
        ops.space_to_depth(x, 5, data_format=data_format)


@pytest.mark.parametrize("shape,out,data_format", [
    ((2, 7, 3), 3, "channels_last"), ((2, 3, 7, 5), (3, 2), "channels_first"),
    ((1, 5, 6, 4, 2), (2, 3, 3), "channels_last")])
def test_adaptive_pools_match_keras(backend, shape, out, data_format):
    x = rand(*shape)
    for name in ("adaptive_average_pool", "adaptive_max_pool"):
        got = nh(getattr(ops, name)(x, out, data_format=data_format))
        close(got, getattr(keras_nn(), name)(x, out, data_format=data_format))


# --- attention -----------------------------------------------------------------------------------

def _qkv(b=2, t=4, s=5, n=4, k=2, h=8, hv=8):
    return rand(b, t, n, h), rand(b, s, k, h), rand(b, s, k, hv)


def _numpy_attention(q, k, v, bias=None, mask=None, scale=None, causal=False, cap=None):
    b, t, n, h = q.shape
    s, heads = k.shape[1], k.shape[2]
    k = np.repeat(k, n // heads, axis=2)
    v = np.repeat(v, n // heads, axis=2)
    logits = np.einsum("btnh,bsnh->bnts", q, k) * (1 / np.sqrt(h) if scale is None else scale)
    if cap is not None:
        logits = cap * np.tanh(logits / cap)
    if bias is not None:
        logits = logits + bias
    allowed = np.ones(logits.shape, bool)
    if mask is not None:
        allowed &= mask
    if causal:
        allowed &= np.tril(np.ones((t, s), bool))
    logits = np.where(allowed, logits, -0.7 * np.finfo(np.float32).max)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("bnts,bsnh->btnh", p, v)


CASES = {
    "plain": {}, "causal": {"is_causal": True}, "scale": {"scale": 0.3},
    "mask": {"mask": "mask"}, "mask+causal": {"mask": "mask", "is_causal": True},
    "bias": {"bias": "bias"}, "bias+causal": {"bias": "bias", "is_causal": True},
    "fully_masked_row": {"mask": "empty_row"},
}


@pytest.mark.parametrize("case", list(CASES))
def test_dot_product_attention_matches_keras_and_plain_formula(backend, case):
    # multi-head, grouped-query and multi-query attention in turn
    heads = [(4, 4), (4, 2), (4, 1)][list(CASES).index(case) % 3]
    q, k, v = _qkv(n=heads[0], k=heads[1])
    kwargs = dict(CASES[case])
    mask = RNG.random((2, 1, 4, 5)) > 0.3
    if kwargs.get("mask") == "empty_row":
        mask[0, 0, 1] = False
    if "mask" in kwargs:
        kwargs["mask"] = mask
    if "bias" in kwargs:
        kwargs["bias"] = rand(1, heads[0], 4, 5)
    fused = nh(ops.dot_product_attention(q, k, v, **kwargs))
    reference = _numpy_attention(q, k, v, kwargs.get("bias"), kwargs.get("mask"),
                                 kwargs.get("scale"), kwargs.get("is_causal", False))
    close(fused, reference, tol=1e-5)
    plain = nnf.plain_attention(*(ops.convert_to_tensor(a) for a in (q, k, v)),
                                bias=kwargs.get("bias"),
                                mask=None if "mask" not in kwargs else ops.convert_to_tensor(mask),
                                scale=kwargs.get("scale"),
                                is_causal=kwargs.get("is_causal", False))
    close(fused, nh(plain), tol=1e-5)
    tensors = {name: ops.convert_to_tensor(a) for name, a in kwargs.items()
               if name in ("bias", "mask")}
    kernel = nhanh.backend.get().nn.dot_product_attention(  # the engine's kernel took them
        *(ops.convert_to_tensor(a) for a in (q, k, v)), scale=kwargs.get("scale"),
        is_causal=kwargs.get("is_causal", False), **tensors)
    assert kernel is not None
    close(fused, nh(kernel), tol=0)
    if backend == "torch" and "bias" in kwargs and ("mask" in kwargs or "is_causal" in kwargs):
        return  # Keras's torch kernel refuses a bias with a mask or a causal flag
    close(fused, keras_nn(backend).dot_product_attention(q, k, v, **kwargs), tol=1e-5)


def test_dot_product_attention_fused_path_is_taken_and_dtypes(backend, monkeypatch):
    q, k, v = _qkv(h=8, hv=6)  # the value head size may differ from the key's
    calls = []
    kernel = nhanh.backend.get().nn.dot_product_attention
    monkeypatch.setattr(nhanh.backend.get().nn, "dot_product_attention",
                        lambda *a, **kw: calls.append(1) or kernel(*a, **kw))
    out = ops.dot_product_attention(q, k, v, mask=RNG.random((4, 5)) > 0.2)
    assert ops.shape(out) == (2, 4, 4, 6) and calls  # mask of rank 2 broadcasts
    mixed = ops.dot_product_attention(q.astype("float16"), k, v)
    assert ops.dtype(mixed) == "float32"
    half = ops.dot_product_attention(q.astype("float16"), k.astype("float16"),
                                     v.astype("float16"))
    assert ops.dtype(half) == "float16"
    close(nh(half).astype("float32"), _numpy_attention(q, k, v), tol=2e-2)


def test_dot_product_attention_soft_cap_flash_and_errors(backend):
    q, k, v = _qkv()
    close(nh(ops.dot_product_attention(q, k, v, attn_logits_soft_cap=0.5, is_causal=True)),
          _numpy_attention(q, k, v, causal=True, cap=0.5))
    with pytest.raises(RuntimeError, match="flash"):  # no flash kernel on a CPU, as in Keras
        ops.dot_product_attention(q, k, v, flash_attention=True)
    close(nh(ops.dot_product_attention(q, k, v, flash_attention=False)), _numpy_attention(q, k, v))
    with pytest.raises(ValueError, match="multiple"):
        ops.dot_product_attention(q, rand(2, 5, 3, 8), rand(2, 5, 3, 8))
    with pytest.raises(ValueError, match="4-D"):
        ops.dot_product_attention(q[0], k[0], v[0])


def test_dot_product_attention_gradient_matches_finite_differences(backend):
    rng = np.random.default_rng(2)
    q, k, v = _qkv(b=1, t=3, s=4, n=2, k=1, h=4, hv=4)
    mask = np.array([[True, True, False, True]])

    def fn(q, k, v):
        return ops.dot_product_attention(q, k, v, mask=mask, is_causal=True)

    _directional_check(fn, [q, k, v], rng)


# --- the attention layers use the fused op --------------------------------------------------------

@pytest.mark.parametrize("layer", ["mha", "gqa"])
def test_attention_layers_fuse_when_keras_does(backend, layer, monkeypatch):
    calls = []
    fused = ops.dot_product_attention
    monkeypatch.setattr(ops, "dot_product_attention",
                        lambda *a, **kw: calls.append(kw) or fused(*a, **kw))
    if layer == "mha":
        att = nhanh.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    else:
        att = nhanh.layers.GroupQueryAttention(head_dim=4, num_query_heads=4,
                                               num_key_value_heads=2)
    x = rand(2, 5, 6)
    value_mask = np.ones((2, 5), bool)
    value_mask[1, 3:] = False
    out = nh(att(x, x, use_causal_mask=True, value_mask=value_mask))
    assert len(calls) == 1 and calls[0]["is_causal"] and calls[0]["mask"] is not None
    written_out, _ = att(x, x, use_causal_mask=True, value_mask=value_mask,
                         return_attention_scores=True)
    assert len(calls) == 1  # scores asked for: the written-out path
    close(out, nh(written_out), tol=1e-5)


# --- CTC decoding --------------------------------------------------------------------------------

@pytest.mark.parametrize("merge_repeated,mask_index", [(True, 0), (False, 3), (True, None)])
def test_ctc_greedy_decode_matches_keras(backend, merge_repeated, mask_index):
    logits = rand(3, 8, 4)
    logits[0, 2] = logits[0, 1]  # a repeated label
    lengths = np.array([8, 5, 1], "int32")
    got = ops.ctc_decode(logits, lengths, merge_repeated=merge_repeated, mask_index=mask_index)
    ref = keras_nn().ctc_decode(logits, lengths, merge_repeated=merge_repeated,
                                       mask_index=mask_index)
    close(nh(got[0]), ref[0])
    close(nh(got[1]), ref[1])


@pytest.mark.parametrize("beam_width,top_paths,mask_index", [(4, 2, 0), (8, 3, None)])
def test_ctc_beam_search_matches_keras(backend, beam_width, top_paths, mask_index):
    logits = rand(3, 7, 5, low=-3, high=3)
    lengths = np.array([7, 4, 2], "int32")
    paths, scores = ops.ctc_decode(logits, lengths, strategy="beam_search",
                                   beam_width=beam_width, top_paths=top_paths,
                                   mask_index=mask_index)
    # Keras's torch beam search is a port of its JAX one with the same results (checked by
    # hand: nhanh matches both), and runs in milliseconds where the JAX one compiles for seconds.
    k_paths, k_scores = keras_nn().ctc_decode(
        logits, lengths, strategy="beam_search", beam_width=beam_width, top_paths=top_paths,
        mask_index=mask_index)
    assert ops.shape(paths) == (top_paths, 3, 7) and ops.dtype(paths) == "int32"
    close(nh(paths), k_paths)
    close(nh(scores), k_scores, tol=1e-4)


def test_ctc_beam_search_is_exact_with_a_wide_beam(backend):
    """With a beam wider than every prefix, the best sequence and its probability (the sum
    over all its alignments) equal a brute-force enumeration of every alignment."""
    logits = rand(1, 4, 3, low=-2, high=2)
    logp = logits[0] - np.log(np.exp(logits[0]).sum(-1, keepdims=True))
    totals = {}
    for alignment in itertools.product(range(3), repeat=4):
        merged = [c for i, c in enumerate(alignment) if i == 0 or c != alignment[i - 1]]
        label = tuple(c for c in merged if c != 0)
        totals[label] = np.logaddexp(totals.get(label, -np.inf),
                                     sum(logp[t, c] for t, c in enumerate(alignment)))
    best = sorted(totals.items(), key=lambda kv: -kv[1])[:3]
    paths, scores = ops.ctc_decode(logits, np.array([4]), strategy="beam_search",
                                   beam_width=20, top_paths=3)
    for rank, (label, score) in enumerate(best):
        got = [c for c in nh(paths)[rank, 0] if c >= 0]
        assert tuple(got) == label
        np.testing.assert_allclose(nh(scores)[0, rank], score, rtol=1e-5)


def test_ctc_decode_errors(backend):
    with pytest.raises(ValueError, match="strategy"):
        ops.ctc_decode(rand(1, 3, 4), np.array([3]), strategy="best")
    with pytest.raises(ValueError, match="top_paths"):
        ops.ctc_decode(rand(1, 3, 4), np.array([3]), strategy="beam_search", beam_width=2,
                       top_paths=3)
