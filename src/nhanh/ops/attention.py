"""keras.ops.dot_product_attention on the engine's fused kernel.

The work goes to `jax.nn.dot_product_attention` or
`torch.nn.functional.scaled_dot_product_attention` through `backend.nn.dot_product_attention`;
`plain_attention`, the same formula written out, runs where that kernel does not apply (a
logits soft cap, inputs it refuses) and is the reference the tests compare the kernel with.
"""

from __future__ import annotations

import math

import numpy as np

from nhanh import backend as _backend
from nhanh import ops
from nhanh.ops.nn_functions import promoted_float_dtype, statistics_dtype

__all__ = ["dot_product_attention"]

# --- attention ------------------------------------------------------------------------------------

def _to_rank4(t, dtype=None):
    t = ops.convert_to_tensor(t) if dtype is None else ops.convert_to_tensor(t, dtype)
    if ops.ndim(t) > 4:
        raise ValueError(f"dot_product_attention: bias and mask must broadcast to (B, N, T, S), "
                         f"got shape {ops.shape(t)}.")
    return ops.reshape(t, (1,) * (4 - ops.ndim(t)) + ops.shape(t))


def _large_negative(dtype: str) -> float:
    return -0.7 * float(np.finfo(np.float16 if dtype == "float16" else np.float32).max)


def plain_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                    attn_logits_soft_cap=None):
    """softmax(Q K^T * scale + bias, masked) V written out with einsums: the reference the
    fused kernels are checked against, and the path taken where they do not apply.

    Inputs are as for `dot_product_attention`, already of one float dtype, with bias and mask
    of rank 4. Logits and the softmax are computed in at least float32. Masked logits become
    -0.7 * the dtype's largest value (not -inf), so a fully masked row averages the values
    uniformly, as Keras and both engines' kernels do.

    Args:
        query: (B, T, N, H).
        key: (B, S, K, H), N a multiple of K.
        value: (B, S, K, Hv).
        bias: Optional additive bias, rank 4, broadcastable to (B, N, T, S).
        mask: Optional boolean mask, rank 4, True where attention is allowed.
        scale: Logit scale; `None` means 1 / sqrt(H).
        is_causal: Whether query step t sees only key steps s <= t.
        attn_logits_soft_cap: Optional cap c: logits become c * tanh(logits / c) before the
            bias and masks.

    Returns:
        A tensor (B, T, N, Hv) of `value`'s dtype.
    """
    b, t, n, h = ops.shape(query)
    s, k = ops.shape(key)[1], ops.shape(key)[2]
    g = n // k
    scale = 1.0 / math.sqrt(h) if scale is None else scale
    compute = statistics_dtype(query)
    q = ops.reshape(ops.cast(query, compute), (b, t, k, g, h))
    logits = ops.einsum("btkgh,bskh->bkgts", q, ops.cast(key, compute))
    logits = ops.multiply(ops.reshape(logits, (b, n, t, s)), scale)
    if attn_logits_soft_cap is not None:
        cap = float(attn_logits_soft_cap)
        logits = ops.multiply(cap, ops.tanh(ops.divide(logits, cap)))
    if bias is not None:
        logits = ops.add(logits, ops.cast(bias, compute))
    if is_causal:
        causal = ops.reshape(ops.tril(ops.ones((t, s), dtype="bool")), (1, 1, t, s))
        mask = causal if mask is None else ops.logical_and(ops.cast(mask, "bool"), causal)
    if mask is not None:
        logits = ops.where(ops.cast(mask, "bool"), logits, _large_negative(compute))
    probs = ops.reshape(ops.softmax(logits, axis=-1), (b, k, g, t, s))
    out = ops.einsum("bkgts,bskh->btkgh", probs, ops.cast(value, compute))
    return ops.cast(ops.reshape(out, (b, t, n, ops.shape(value)[-1])), ops.dtype(value))


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal: bool = False, flash_attention: bool | None = None,
                          attn_logits_soft_cap: float | None = None):
    """Scaled dot-product attention, softmax(Q K^T * scale + bias) V, on the engine's fused
    kernel where it applies.

    Shapes follow Keras: B batch, T query steps, S key steps, N query heads, K key/value heads
    (N a multiple of K: grouped-query attention; query head i reads key/value head i // (N/K)),
    H head size. JAX runs jax.nn.dot_product_attention (cuDNN on a GPU for float16/bfloat16
    inputs whose head size it takes, else XLA); PyTorch runs
    torch.nn.functional.scaled_dot_product_attention. A soft cap, or inputs a kernel refuses,
    run `plain_attention`, the same formula written out.

    Args:
        query: Tensor (B, T, N, H).
        key: Tensor (B, S, K, H).
        value: Tensor (B, S, K, Hv).
        bias: Optional tensor added to the logits, broadcastable to (B, N, T, S).
        mask: Optional boolean tensor broadcastable to (B, N, T, S), True where a query step
            may attend to a key step (for an additive mask, use `bias`).
        scale: Logit scale; `None` means 1 / sqrt(H).
        is_causal: Whether query step t sees only key steps s <= t.
        flash_attention: `None` lets the engine choose; `True` requires a flash kernel (a
            RuntimeError where there is none, e.g. on a CPU, as in Keras); `False` forbids it.
        attn_logits_soft_cap: Optional cap c: the logits become c * tanh(logits / c) before the
            bias and masks (Keras allows it only on TPUs; here it runs everywhere, through the
            written-out formula, and not with `flash_attention=True`).

    Returns:
        A tensor (B, T, N, Hv) of the inputs' promoted float dtype.
    """
    query, key, value = (ops.convert_to_tensor(a) for a in (query, key, value))
    shapes = tuple(ops.shape(a) for a in (query, key, value))
    if any(len(sh) != 4 for sh in shapes):
        raise ValueError("dot_product_attention expects 4-D query (B, T, N, H), key (B, S, K, H) "
                         f"and value (B, S, K, Hv), got shapes {shapes[0]}, {shapes[1]} and "
                         f"{shapes[2]}.")
    (b, _, n, h), (kb, s, k, kh), (vb, vs, vk, _) = shapes
    if not (b == kb == vb and s == vs and k == vk and h == kh) or n % k:
        raise ValueError("dot_product_attention: key and value must share batch, steps and "
                         "heads, key's head size must equal query's, and the query heads must "
                         f"be a multiple of the key heads; got query {shapes[0]}, key "
                         f"{shapes[1]}, value {shapes[2]}.")
    dtype = promoted_float_dtype(query, key, value)
    query, key, value = (ops.cast(a, dtype) for a in (query, key, value))
    bias = None if bias is None else _to_rank4(bias, dtype)
    mask = None if mask is None else ops.cast(_to_rank4(mask), "bool")
    if flash_attention and attn_logits_soft_cap is not None:
        raise RuntimeError("dot_product_attention: no flash kernel here takes "
                           "attn_logits_soft_cap; pass flash_attention=None or drop the cap.")
    fused = _backend.get().nn.dot_product_attention(
        query, key, value, bias=bias, mask=mask, scale=scale, is_causal=bool(is_causal),
        flash_attention=flash_attention, attn_logits_soft_cap=attn_logits_soft_cap)
    if fused is not None:
        return fused
    return plain_attention(query, key, value, bias, mask, scale, is_causal, attn_logits_soft_cap)
