"""Neural-network ops on PyTorch (torch.nn.functional)."""

import torch
import torch.nn.functional as F

from nhanh.backend.torch.core import to_torch_dtype
from nhanh.backend.torch.numpy import _t


def relu(x):
    return F.relu(_t(x))


def relu6(x):
    return F.relu6(_t(x))


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_t(x), negative_slope)


def elu(x, alpha=1.0):
    return F.elu(_t(x), alpha)


def selu(x):
    return F.selu(_t(x))


def gelu(x, approximate=True):
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


def sigmoid(x):
    return torch.sigmoid(_t(x))


def hard_sigmoid(x):
    return F.hardsigmoid(_t(x))


def hard_silu(x):
    return F.hardswish(_t(x))


def silu(x):
    return F.silu(_t(x))


def softplus(x):
    return F.softplus(_t(x))


def softsign(x):
    return F.softsign(_t(x))


def mish(x):
    return F.mish(_t(x))


def softmax(x, axis=-1):
    return torch.softmax(_t(x), dim=axis)


def log_softmax(x, axis=-1):
    return torch.log_softmax(_t(x), dim=axis)


def one_hot(x, num_classes, dtype="float32"):
    return F.one_hot(_t(x).long(), num_classes).to(to_torch_dtype(dtype))


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC's negative log-likelihood per sample, by torch.nn.functional.ctc_loss."""
    output = _t(output)
    if output.dtype not in (torch.float32, torch.float64):
        output = output.float()
    logprobs = torch.log_softmax(output, dim=-1).transpose(0, 1)  # (T, B, K), as torch wants
    target = _t(target).long()
    lengths = _t(target_length).long().reshape(-1)
    steps = _t(output_length).long().reshape(-1)
    return F.ctc_loss(logprobs, target, steps, lengths, blank=mask_index, reduction="none")


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """torch.nn.functional.scaled_dot_product_attention on (B, T, N, H) inputs (it wants
    (B, N, T, H)). Masks become an additive bias of -0.7 * the dtype's largest value (so a
    fully masked row averages the values, as in Keras, instead of giving NaN), and a causal
    flag given with a mask or bias is folded into it (the kernel takes one or the other).
    Returns None where the kernel refuses the inputs, and for a logits soft cap, which it does
    not take; flash_attention=True where no flash kernel applies raises RuntimeError, as in
    Keras."""
    if attn_logits_soft_cap is not None:
        return None
    q, k, v = (_t(a).transpose(1, 2) for a in (query, key, value))
    t, s = q.shape[2], k.shape[2]
    if is_causal and (mask is not None or bias is not None):
        causal = torch.ones((t, s), dtype=torch.bool, device=q.device).tril()
        mask = causal if mask is None else torch.logical_and(_t(mask), causal)
        is_causal = False
    attn_mask = None if bias is None else _t(bias).to(q.dtype)
    if mask is not None:
        low = -0.7 * torch.finfo(q.dtype).max
        base = torch.zeros((), dtype=q.dtype, device=q.device) if attn_mask is None else attn_mask
        attn_mask = torch.where(_t(mask), base, torch.tensor(low, dtype=q.dtype, device=q.device))
    kwargs = dict(attn_mask=attn_mask, is_causal=bool(is_causal), scale=scale,
                  enable_gqa=q.shape[1] != k.shape[1])
    if flash_attention:
        from torch.backends.cuda import SDPAParams, can_use_flash_attention
        from torch.nn.attention import SDPBackend, sdpa_kernel

        params = SDPAParams(q, k, v, attn_mask, 0.0, bool(is_causal), kwargs["enable_gqa"])
        if not q.is_cuda or not can_use_flash_attention(params, False):
            raise RuntimeError("flash_attention=True needs PyTorch's flash kernel: a CUDA GPU, "
                               "float16 or bfloat16 inputs, no mask or bias, and a supported "
                               f"head size; got {q.dtype} inputs on {q.device}. Pass "
                               "flash_attention=None.")
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            return F.scaled_dot_product_attention(q, k, v, **kwargs).transpose(1, 2)
    if flash_attention is False and q.is_cuda:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        others = [SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH]
        with sdpa_kernel(others):
            return F.scaled_dot_product_attention(q, k, v, **kwargs).transpose(1, 2)
    try:
        return F.scaled_dot_product_attention(q, k, v, **kwargs).transpose(1, 2)
    except RuntimeError:
        return None


def batch_norm_training(x, axis, gamma=None, beta=None, epsilon=1e-3):
    """Training-mode batch normalization by torch's fused kernel: (outputs, batch mean, biased
    batch variance), statistics over every axis but `axis`. One pass for the statistics and one
    for the outputs, forward and backward, where the ops written out take about six. The
    variance comes back from the kernel's saved inverse standard deviation (exact to float32
    rounding of var + epsilon). None where the kernel does not apply (a dtype other than
    float32 / float64, fewer than 2 axes, no elements, the features on an axis other than the
    first after the batch or the last): the caller then writes the ops out."""
    x = _t(x)
    rank = x.ndim
    axis = axis % rank if rank else axis
    params = [p for p in (gamma, beta) if p is not None]
    if rank < 2 or x.numel() == 0 or x.dtype not in (torch.float32, torch.float64) \
            or any(_t(p).dtype != x.dtype for p in params) or axis not in (1, rank - 1):
        return None
    features = x.shape[axis]
    # channels last (Keras's default): the rows of a (samples, features) matrix, a view of x
    flat = x.reshape(-1, features) if axis == rank - 1 else x
    out, mean, inv_std = torch.native_batch_norm(
        flat, None if gamma is None else _t(gamma), None if beta is None else _t(beta),
        None, None, True, 0.0, epsilon)
    variance = torch.reciprocal(inv_std * inv_std) - epsilon
    return out.reshape(x.shape), mean, variance


def layer_norm(x, axes, gamma=None, beta=None, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta, statistics over `axes` of each
    sample, by torch's fused layer-norm kernel (forward and backward: a fifth of the time of the
    ops written out). gamma and beta have the normalized axes' shape. None where the kernel does
    not apply (axes other than the last ones, a dtype other than float32 / float64): the
    caller then writes the ops out."""
    x = _t(x)
    rank = x.ndim
    axes = sorted(a % rank for a in axes)
    params = [_t(p) for p in (gamma, beta) if p is not None]
    normalized = tuple(x.shape[rank - len(axes):])
    if not axes or axes != list(range(rank - len(axes), rank)) \
            or x.dtype not in (torch.float32, torch.float64) \
            or any(p.dtype != x.dtype or tuple(p.shape) != normalized for p in params):
        return None
    return F.layer_norm(x, normalized, None if gamma is None else _t(gamma),
                        None if beta is None else _t(beta), epsilon)
