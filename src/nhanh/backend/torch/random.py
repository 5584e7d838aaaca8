"""Random draws on PyTorch from an explicit seed state.

The draws are a pure function of the seed tensor (a counter-based generator keyed by it), so the
same seed gives the same numbers eagerly and inside captured or compiled steps. Where the words
come from depends on where tensors live:

- On a GPU (any device but the CPU): Philox4x32-10 written as int64 tensor ops, computed on the
  device. The seed is never read on the host, so a step with dropout does not wait for the
  device each step.
- On the CPU: one opaque op, `torch.ops.nhanh.random_words` (or `random_below`, the words
  compared with a threshold: Bernoulli draws, dropout's masks), that reads the seed on the host
  (free there: it is already in host memory) and runs NumPy's Philox4x64-10, in C. The tensor-op
  Philox takes about a hundred full passes over memory per draw and made dropout most of a
  transformer's CPU step; this is about 20x faster. Captured steps record the op as one node,
  which replays as a call to it.

Both are Random123's Philox (Salmon et al., SC 2011), keyed by the seed, so the words are as good
either way; they are different numbers, so a seed draws different masks on the CPU and on a GPU.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from nhanh.backend.torch import distribution
from nhanh.backend.torch.core import DEVICE, convert_to_tensor, to_torch_dtype

# Philox4x32-10, as published by Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy
# as 1, 2, 3" (SC 2011) and in their Random123 library; the key is the 2-word seed, the counter is
# the word index. 32-bit words are held in int64 tensors: a product of two 32-bit words may wrap
# past 2**63, but two's-complement wraparound keeps all 64 bits of the unsigned product, so
# `p & MASK` is its low word and `(p >> 32) & MASK` its high word.
_MASK = 0xFFFFFFFF
_MUL = (0xD2511F53, 0xCD9E8D57)
_BUMP = (0x9E3779B9, 0xBB67AE85)
_ROUNDS = 10


def _philox4x32(counter: tuple, key: tuple) -> tuple:
    """Philox4x32-10 of four counter words under two key words (int64 tensors in [0, 2**32))."""
    x0, x1, x2, x3 = counter
    k0, k1 = key
    for r in range(_ROUNDS):
        if r:
            k0, k1 = (k0 + _BUMP[0]) & _MASK, (k1 + _BUMP[1]) & _MASK
        p0, p1 = x0 * _MUL[0], x2 * _MUL[1]
        x0, x1, x2, x3 = (((p1 >> 32) & _MASK) ^ x1 ^ k0, p1 & _MASK,
                          ((p0 >> 32) & _MASK) ^ x3 ^ k1, p0 & _MASK)
    return x0, x1, x2, x3


def _device_words(seed: torch.Tensor, n: int, stream: int) -> torch.Tensor:
    """Philox4x32-10 words of key `seed` (2 int64 words) and counters (i, 0, stream, 0), as
    tensor ops on seed's device: no host read, traceable."""
    key = seed & _MASK
    block = torch.arange(-(-n // 4), dtype=torch.int64, device=seed.device)
    zero = torch.zeros_like(block)
    words = _philox4x32((block & _MASK, block >> 32, zero + stream, zero), (key[0], key[1]))
    return torch.stack(words, dim=-1).reshape(-1)[:n]


_FIRST_COUNTER = 2**256 - 1  # NumPy's Philox steps its counter before each block: start at 0


def _numpy_words(seed: torch.Tensor, n: int, stream: int) -> np.ndarray:
    """Philox4x64-10 (NumPy's, in C) under key (seed's two 32-bit words as one 64-bit word,
    stream), counters 0, 1, ...: each 64-bit word gives two 32-bit words, low half first. Reads
    the seed on the host."""
    low, high = (int(word) & _MASK for word in seed.reshape(2))  # (no tolist: see recording)
    philox = np.random.Philox(key=np.array([low | high << 32, stream], dtype=np.uint64),
                              counter=_FIRST_COUNTER)
    return philox.random_raw(-(-n // 2)).view(np.uint32)[:n]


def _host_words(seed: torch.Tensor, n: int, stream: int) -> torch.Tensor:
    """The CPU kernel of `random_words`: _numpy_words as int64."""
    return torch.from_numpy(_numpy_words(seed, n, stream).astype(np.int64))


def _host_below(seed: torch.Tensor, n: int, stream: int, threshold: int) -> torch.Tensor:
    """The CPU kernel of `random_below`: whether each of _numpy_words is below `threshold`,
    compared in NumPy (a bool per word: no int64 words written and read again)."""
    if threshold <= 0 or threshold >= 2**32:
        return torch.full((n,), threshold > 0, dtype=torch.bool)
    return torch.from_numpy(_numpy_words(seed, n, stream) < np.uint32(threshold))


_library = torch.library.Library("nhanh", "DEF")
_library.define("random_words(Tensor seed, int n, int stream) -> Tensor")
_library.define("random_below(Tensor seed, int n, int stream, int threshold) -> Tensor")
_library.impl("random_words", _host_words, "CPU")
_library.impl("random_below", _host_below, "CPU")
# (the shapes, for tracing with fake tensors: make_fx, torch.compile)
_library.impl("random_words", lambda seed, n, stream: torch.empty(
    (n,), dtype=torch.int64, device="meta"), "Meta")
_library.impl("random_below", lambda seed, n, stream, threshold: torch.empty(
    (n,), dtype=torch.bool, device="meta"), "Meta")
_random_words = torch.ops.nhanh.random_words.default
_random_below = torch.ops.nhanh.random_below.default
_ON_HOST = DEVICE.type == "cpu"  # tensors live in host memory: words from random_words


def _bits(seed, n: int) -> torch.Tensor:
    """`n` uniform 32-bit words (int64 tensor on DEVICE), a pure function of the seed."""
    seed = convert_to_tensor(seed, "int64").reshape(2)
    # Each process of a step split over processes draws its own stream (its rows need masks of
    # their own); the seed state stays the same everywhere.
    stream = distribution.stream_id()
    if _ON_HOST and seed.device.type == "cpu":
        return _random_words(seed, n, stream)
    return _device_words(seed.to(DEVICE), n, stream)


def _unit(seed, n: int, bits: int = 24) -> torch.Tensor:
    """`n` float32 draws from {0, 1, ..., 2**bits - 1} / 2**bits: in [0, 1), exact, never 1."""
    return (_bits(seed, n) >> (32 - bits)).to(torch.float32) * 2.0 ** -bits


def _dtype(dtype) -> torch.dtype:
    return torch.float32 if dtype is None else to_torch_dtype(dtype)


def _scale(z: torch.Tensor, shape: tuple, loc, scale, dtype: torch.dtype) -> torch.Tensor:
    """loc + scale * z, in float64 when asked for it and float32 otherwise, then cast."""
    z = z.to(torch.float64 if dtype == torch.float64 else torch.float32)
    return (loc + scale * z).reshape(shape).to(dtype)


_SAME_SIZE_INT = {torch.float16: torch.int16, torch.bfloat16: torch.int16,
                  torch.float32: torch.int32, torch.float64: torch.int64}


def _next_below(x: torch.Tensor) -> torch.Tensor:
    """The largest value of x's dtype below x, by stepping its IEEE bit pattern (torch.nextafter
    lacks float16 on CUDA before torch 2.6)."""
    bits = x.view(_SAME_SIZE_INT[x.dtype])
    negative_tiny = torch.iinfo(bits.dtype).min + 1  # the bits of minus the smallest subnormal
    stepped = torch.where(bits > 0, bits - 1, torch.where(bits == 0, negative_tiny, bits + 1))
    return stepped.view(x.dtype)


_UNIT_BITS = {torch.float16: 11, torch.bfloat16: 8}


def uniform(shape, seed, minval=0.0, maxval=1.0, dtype="float32") -> torch.Tensor:
    """Uniform draws in [minval, maxval)."""
    shape, tdtype = tuple(shape), _dtype(dtype)
    bits = _UNIT_BITS.get(tdtype, 24)  # no more bits than the dtype holds just below 1
    out = _scale(_unit(seed, math.prod(shape), bits), shape, minval, maxval - minval, tdtype)
    top = _next_below(torch.as_tensor(maxval, dtype=tdtype, device=DEVICE))
    return torch.minimum(out, top)  # rounding of minval + range * u must not reach maxval


def normal(shape, seed, mean=0.0, stddev=1.0, dtype="float32") -> torch.Tensor:
    """Normal draws (Box-Muller, both outputs of each pair used)."""
    shape = tuple(shape)
    n = math.prod(shape)
    pairs = -(-n // 2)
    words = _bits(seed, 2 * pairs)
    u1 = (words[:pairs].to(torch.float32) + 0.5) * 2.0 ** -32  # in (0, 1]: log never sees 0
    theta = (2 * math.pi) * ((words[pairs:] >> 8).to(torch.float32) * 2.0 ** -24)
    radius = torch.sqrt(-2.0 * torch.log(u1))
    z = torch.cat((radius * torch.cos(theta), radius * torch.sin(theta)))[:n]
    return _scale(z, shape, mean, stddev, _dtype(dtype))


_ERF_2 = math.erf(2 / math.sqrt(2))  # P(|z| < 2) for a standard normal


def truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype="float32") -> torch.Tensor:
    """Normal draws conditioned on lying within 2 stddev of the mean (exact, by inverse CDF)."""
    shape = tuple(shape)
    n = math.prod(shape)
    u = ((_bits(seed, n) >> 8).to(torch.float32) + 0.5) * 2.0 ** -24  # in (0, 1)
    z = math.sqrt(2) * torch.erfinv(_ERF_2 * (2 * u - 1))  # Φ⁻¹ of u spread over [Φ(-2), Φ(2)]
    return _scale(z.clamp(-2.0, 2.0), shape, mean, stddev, _dtype(dtype))


def bernoulli(shape, seed, p) -> torch.Tensor:
    """Boolean draws, True with probability p."""
    shape = tuple(shape)
    n = math.prod(shape)
    if isinstance(p, (int, float)):  # compare the words themselves: no conversion pass
        threshold = round(p * 2.0 ** 32)
        seed = convert_to_tensor(seed, "int64").reshape(2)
        if _ON_HOST and seed.device.type == "cpu":
            return _random_below(seed, n, distribution.stream_id(), threshold).reshape(shape)
        return (_bits(seed, n) < threshold).reshape(shape)
    return _unit(seed, n).reshape(shape) < p


def permutation(n: int, seed) -> torch.Tensor:
    """A uniformly random permutation of range(n) (int64), by sorting random 63-bit keys."""
    words = _bits(seed, 2 * n)
    keys = (words[:n] << 31) | (words[n:] >> 1)
    return torch.argsort(keys, stable=True)
