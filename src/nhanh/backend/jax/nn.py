"""Neural-network ops on JAX."""

import jax
import jax.numpy as jnp
from jax.nn import (  # noqa: F401
    elu, hard_sigmoid, log_softmax, relu, relu6, selu, sigmoid, silu, softmax, softplus,
)


def leaky_relu(x, negative_slope=0.2):
    return jax.nn.leaky_relu(x, negative_slope)


def hard_silu(x):
    return x * hard_sigmoid(x)


def gelu(x, approximate=True):
    return jax.nn.gelu(x, approximate=approximate)


def softsign(x):
    return x / (1 + jnp.abs(x))


def mish(x):
    return x * jnp.tanh(jax.nn.softplus(x))


def one_hot(x, num_classes, dtype="float32"):
    return jax.nn.one_hot(x, num_classes, dtype=dtype)


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC's negative log-likelihood per sample: the forward algorithm in log space, one
    lax.scan over time. Impossible alignments give a large finite loss (-log of ~e**-1e5)."""
    target = jnp.asarray(target).astype(jnp.int32)
    output = jnp.asarray(output)
    output = output.astype(jnp.promote_types(output.dtype, jnp.float32))
    target_length = jnp.asarray(target_length).astype(jnp.int32)
    output_length = jnp.asarray(output_length).astype(jnp.int32)
    batch, steps, _ = output.shape
    labels = target.shape[1]
    never = jnp.asarray(-1e5, output.dtype)  # log of "impossible", finite for clean gradients
    logprobs = jax.nn.log_softmax(output, axis=-1)
    # The extended label sequence: blank, l1, blank, l2, ..., lS, blank (2S + 1 states).
    states = 2 * labels + 1
    extended = jnp.full((batch, states), mask_index, jnp.int32).at[:, 1::2].set(target)
    emit = jnp.take_along_axis(logprobs, extended[:, None, :], axis=2)  # (B, T, 2S+1)
    before = jnp.pad(extended, ((0, 0), (2, 0)), constant_values=-1)[:, :states]
    can_skip = (extended != mask_index) & (extended != before)
    alpha0 = jnp.full((batch, states), never)
    alpha0 = alpha0.at[:, 0].set(emit[:, 0, 0]).at[:, 1].set(
        jnp.where(labels > 0, emit[:, 0, min(1, states - 1)], never))

    def step(alpha, inputs):
        t, emit_t = inputs
        stay = alpha
        advance = jnp.pad(alpha, ((0, 0), (1, 0)), constant_values=never)[:, :states]
        skip = jnp.pad(alpha, ((0, 0), (2, 0)), constant_values=never)[:, :states]
        skip = jnp.where(can_skip, skip, never)
        new = jnp.logaddexp(jnp.logaddexp(stay, advance), skip) + emit_t
        new = jnp.maximum(new, never)  # keep impossible states at "never", not below it
        return jnp.where((t < output_length)[:, None], new, alpha), None

    inputs = (jnp.arange(1, steps), jnp.swapaxes(emit, 0, 1)[1:])
    alpha, _ = jax.lax.scan(step, alpha0, inputs)
    last = 2 * target_length
    end_blank = jnp.take_along_axis(alpha, last[:, None], axis=1)[:, 0]
    end_label = jnp.take_along_axis(alpha, jnp.maximum(last - 1, 0)[:, None], axis=1)[:, 0]
    end_label = jnp.where(target_length > 0, end_label, never)
    return -jnp.logaddexp(end_blank, end_label)


def _cudnn_takes(query, key, value) -> bool:
    """Whether cuDNN's fused attention can run these inputs: a GPU, half precision, and a
    head size it supports (a multiple of 8, at most 128, the same for keys and values)."""
    try:
        platform = next(iter(query.devices())).platform
    except Exception:  # a tracer without devices: the default device decides
        platform = jax.devices()[0].platform
    h, hv = query.shape[-1], value.shape[-1]
    return (platform == "gpu" and query.dtype in (jnp.float16, jnp.bfloat16)
            and h == hv and h % 8 == 0 and h <= 128)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """jax.nn.dot_product_attention on (B, T, N, H) inputs: cuDNN where it takes them (and
    flash_attention is not False), else XLA. Returns None where the kernel refuses the inputs
    (the caller then runs the written-out formula), and for a logits soft cap, which neither
    kernel takes; flash_attention=True without cuDNN raises RuntimeError, as in Keras."""
    if attn_logits_soft_cap is not None:
        return None
    cudnn = flash_attention is not False and _cudnn_takes(query, key, value)
    if flash_attention and not cudnn:
        raise RuntimeError("flash_attention=True needs cuDNN's fused attention: a CUDA GPU, "
                           "float16 or bfloat16 inputs and a head size that is a multiple of 8 "
                           f"up to 128; got {query.dtype} inputs of shape {query.shape} on "
                           f"{jax.devices()[0].platform}. Pass flash_attention=None.")
    for implementation in (["cudnn"] if flash_attention else ["cudnn", "xla"] if cudnn
                           else ["xla"]):
        try:
            return jax.nn.dot_product_attention(
                query, key, value, bias=bias, mask=mask, scale=scale, is_causal=is_causal,
                implementation=implementation)
        except (ValueError, TypeError, NotImplementedError, RuntimeError):
            if flash_attention:
                raise
    return None
