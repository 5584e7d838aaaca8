"""The random engines: repeatability, distributions against closed forms and SciPy, independence
of neighbouring counters; and for PyTorch's two counter-based generators (tensor-op Philox4x32 for
devices, NumPy's Philox4x64 behind one opaque op for the CPU), Random123's known answers,
traceability by make_fx, and no host reads on the device path."""

import math

import numpy as np
import pytest

import nhanh
from conftest import to_numpy

stats = pytest.importorskip("scipy.stats")

N = 100_000
# Runs a test once, on torch only (see the `engines` marker in conftest.py).
torch_only = pytest.mark.engines("torch")


def _seed(a, b=0):
    return np.array([a, b], dtype="int32")


def _engine():
    return nhanh.backend.get().random


def _draw(kind, seed, n=N):
    r = _engine()
    if kind == "bernoulli":
        return to_numpy(r.bernoulli((n,), seed, 0.5)).astype("float32")
    if kind == "permutation":
        return to_numpy(r.permutation(n, seed)).astype("float64")
    return to_numpy(getattr(r, kind)((n,), seed)).astype("float64")


KINDS = ["uniform", "normal", "truncated_normal", "bernoulli", "permutation"]


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_repeats_other_seed_or_counter_differs(kind):
    a = _draw(kind, _seed(5, 3), 1000)
    np.testing.assert_array_equal(a, _draw(kind, _seed(5, 3), 1000))
    for other in (_seed(6, 3), _seed(5, 4), _seed(5, -1)):
        assert not np.array_equal(a, _draw(kind, other, 1000))


def test_public_functions_follow_the_seed():
    gen, again = nhanh.random.SeedGenerator(9), nhanh.random.SeedGenerator(9)
    for fn in (nhanh.random.uniform, nhanh.random.normal, nhanh.random.truncated_normal):
        x, y = to_numpy(fn((64,), seed=gen)), to_numpy(fn((64,), seed=gen))
        assert not np.array_equal(x, y)  # the counter moved on
        np.testing.assert_array_equal(x, to_numpy(fn((64,), seed=again)))
        np.testing.assert_array_equal(y, to_numpy(fn((64,), seed=again)))
        np.testing.assert_array_equal(to_numpy(fn((64,), seed=3)), to_numpy(fn((64,), seed=3)))


def test_uniform_range_moments_and_ks():
    lo, hi = -2.0, 3.0
    x = to_numpy(nhanh.random.uniform((N,), lo, hi, seed=17)).astype("float64")
    assert x.shape == (N,) and x.min() >= lo and x.max() < hi
    width = hi - lo
    assert abs(x.mean() - (lo + hi) / 2) < 5 * width / math.sqrt(12 * N)
    assert abs(x.var() / (width ** 2 / 12) - 1) < 0.02
    assert stats.kstest((x - lo) / width, "uniform").pvalue > 1e-3
    unit = to_numpy(nhanh.random.uniform((N,), seed=18))
    assert unit.min() >= 0.0 and unit.max() < 1.0
    assert stats.kstest(unit, "uniform").pvalue > 1e-3


def test_normal_moments_and_ks():
    x = to_numpy(nhanh.random.normal((N,), 1.5, 2.0, seed=21)).astype("float64")
    assert np.isfinite(x).all()
    assert abs(x.mean() - 1.5) < 5 * 2.0 / math.sqrt(N)
    assert abs(x.std() / 2.0 - 1) < 0.01
    assert stats.kstest(x, "norm", args=(1.5, 2.0)).pvalue > 1e-3
    z = to_numpy(nhanh.random.normal((N,), seed=22)).astype("float64")
    assert abs(stats.kurtosis(z)) < 0.1  # the tails too, not just the spread


def test_truncated_normal_within_two_stddev_with_the_right_spread():
    mean, stddev = -1.0, 0.5
    x = to_numpy(nhanh.random.truncated_normal((N,), mean, stddev, seed=31)).astype("float64")
    z = (x - mean) / stddev
    assert np.abs(z).max() <= 2.0 + 1e-5
    # std of N(0, 1) truncated to [-2, 2]: sqrt(1 - 2 * 2 * phi(2) / (2 * Phi(2) - 1))
    closed = math.sqrt(1 - 4 * stats.norm.pdf(2) / (2 * stats.norm.cdf(2) - 1))
    assert abs(closed - 0.8796) < 1e-4
    assert abs(z.std() - closed) < 0.01 and abs(z.mean()) < 5 * closed / math.sqrt(N)
    assert stats.kstest(z, stats.truncnorm(-2, 2).cdf).pvalue > 1e-3


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_bernoulli_rate(p):
    keep = to_numpy(_engine().bernoulli((400, 250), _seed(41), p))
    assert keep.dtype == np.bool_ and keep.shape == (400, 250)
    assert abs(keep.mean() - p) < 5 * math.sqrt(p * (1 - p) / N) + 1e-12


def test_permutation_is_a_uniform_permutation():
    perm = to_numpy(_engine().permutation(1000, _seed(51)))
    np.testing.assert_array_equal(np.sort(perm), np.arange(1000))
    assert not np.array_equal(perm, to_numpy(_engine().permutation(1000, _seed(52))))
    assert not np.array_equal(perm, np.arange(1000))
    # every order of 3 items about equally often, over consecutive counters
    orders = [tuple(to_numpy(_engine().permutation(3, _seed(53, c)))) for c in range(600)]
    counts = [orders.count(o) for o in set(orders)]
    assert len(counts) == 6 and stats.chisquare(counts).pvalue > 1e-3


@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_neighbouring_seeds_and_counters_are_uncorrelated(kind):
    bound = 5 / math.sqrt(N)
    for k in (0, 1, 1000, 2**31 - 2):
        a, b = _draw(kind, _seed(7, k)), _draw(kind, _seed(7, k + 1))
        assert abs(np.corrcoef(a, b)[0, 1]) < bound, k
    a, b = _draw(kind, _seed(7, 0)), _draw(kind, _seed(8, 0))
    assert abs(np.corrcoef(a, b)[0, 1]) < bound
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < bound  # neighbours within one draw


# ---------------------------------------------------------------- torch's counter-based engine


def _torch_engine():
    from nhanh.backend.torch import random

    return random


@torch_only
def test_philox_matches_random123_known_answers():
    import torch

    engine = _torch_engine()
    m = 0xFFFFFFFF
    # Random123 tests/kat_vectors, "philox4x32 10" lines: counter, key, expected output
    cases = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((m, m, m, m), (m, m), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for counter, key, expected in cases:
        out = engine._philox4x32(tuple(torch.tensor([c], dtype=torch.int64) for c in counter),
                                 tuple(torch.tensor(k, dtype=torch.int64) for k in key))
        assert [int(o[0]) for o in out] == list(expected)


@torch_only
def test_int64_products_keep_both_32_bit_halves():
    import torch

    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**32, 10_000, dtype=np.uint64)
    b = np.concatenate([[0xFFFFFFFF, 0xD2511F53, 0xCD9E8D57], rng.integers(0, 2**32, 9_997)])
    b = b.astype(np.uint64)
    want = a * b  # exact: both factors are below 2**32
    got = torch.from_numpy(a.astype(np.int64)) * torch.from_numpy(b.astype(np.int64))
    np.testing.assert_array_equal((got & 0xFFFFFFFF).numpy(), want & np.uint64(0xFFFFFFFF))
    np.testing.assert_array_equal(((got >> 32) & 0xFFFFFFFF).numpy(), want >> np.uint64(32))


@pytest.fixture(params=["host", "device"])
def torch_path(request, monkeypatch):
    """Which of the torch engine's word generators `_bits` uses: the CPU's opaque op, or the
    tensor-op Philox a GPU runs (forced here on the CPU)."""
    if request.param == "device":
        monkeypatch.setattr(_torch_engine(), "_ON_HOST", False)
    return request.param


_M64 = (1 << 64) - 1


def _philox4x64(counter, key):
    """Philox4x64-10 in Python integers, from Salmon et al. (SC 2011): the reference for the
    CPU's words."""
    x0, x1, x2, x3 = counter
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + 0x9E3779B97F4A7C15) & _M64, (k1 + 0xBB67AE8584CAA73B) & _M64
        p0, p1 = x0 * 0xD2E7470EE14C6C93, x2 * 0xCA5A826395121157
        x0, x1, x2, x3 = (p1 >> 64) ^ x1 ^ k0, p1 & _M64, (p0 >> 64) ^ x3 ^ k1, p0 & _M64
    return x0, x1, x2, x3


@torch_only
def test_host_words_are_philox4x64_of_seed_and_stream(monkeypatch):
    import torch

    # the reference itself against Random123's kat_vectors ("philox4x64 10", counter 0, key 0)
    assert _philox4x64((0, 0, 0, 0), (0, 0)) == (
        0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B, 0x7E68B68AEC7BA23B)
    engine = _torch_engine()
    seed = torch.tensor([-7, 123456], dtype=torch.int32)  # a negative word: its 32-bit pattern
    key0 = ((-7) & 0xFFFFFFFF) | (123456 << 32)
    for stream in (0, 3):
        monkeypatch.setattr(engine.distribution, "stream_id", lambda: stream)
        got = to_numpy(engine._random_words(seed.long(), 13, stream)).tolist()
        want = []
        for block in range(2):  # 13 words: the first 6.5 of two blocks' eight 64-bit words
            for word in _philox4x64((block, 0, 0, 0), (key0, stream)):
                want += [word & 0xFFFFFFFF, word >> 32]
        assert got == want[:13]
        if engine.DEVICE.type == "cpu":  # the public draws go through it too
            assert to_numpy(engine._bits(seed, 13)).tolist() == want[:13]
            for p in (0.0, 0.3, 0.5, 1.0):  # Bernoulli: the same words against p * 2**32
                keep = to_numpy(engine.bernoulli((13,), seed, p)).tolist()
                assert keep == [w < round(p * 2**32) for w in want[:13]]


@torch_only
def test_torch_words_are_uniform_bit_by_bit(torch_path):
    words = to_numpy(_torch_engine()._bits(_seed(61, 2), N)).astype(np.uint64)
    assert words.min() >= 0 and words.max() < 2**32
    ones = np.array([((words >> np.uint64(i)) & np.uint64(1)).mean() for i in range(32)])
    assert np.abs(ones - 0.5).max() < 5 * 0.5 / math.sqrt(N)


@torch_only
def test_torch_draws_trace_with_make_fx_and_follow_the_traced_seed(torch_path):
    import torch
    from torch.fx.experimental.proxy_tensor import make_fx

    engine = _torch_engine()

    def draw(seed):
        return (engine.uniform((3, 50), seed, -1.0, 2.0), engine.normal((101,), seed),
                engine.truncated_normal((7,), seed, 1.0, 3.0), engine.bernoulli((64,), seed, 0.3),
                engine.permutation(20, seed))

    traced = make_fx(draw)(torch.tensor([1, 0], dtype=torch.int32))
    assert "_local_scalar_dense" not in traced.code  # no .item() in the graph
    # the CPU's words are one opaque node per draw; the device's are tensor ops
    assert traced.code.count("nhanh.random_") == (5 if torch_path == "host" else 0)
    other = torch.tensor([123, 45], dtype=torch.int32)
    for got, want in zip(traced(other), draw(other)):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert not torch.equal(traced(other)[0], draw(torch.tensor([1, 0], dtype=torch.int32))[0])


@torch_only
def test_torch_draws_never_read_the_host_on_the_device_path(monkeypatch):
    """What a GPU runs: no host read, so no wait for the device per draw. (On the CPU the opaque
    op reads the seed, which is in host memory already.)"""
    import torch

    engine = _torch_engine()
    monkeypatch.setattr(engine, "_ON_HOST", False)
    seed = nhanh.random.SeedGenerator(5).state.value

    def host_read(*args, **kwargs):
        raise AssertionError("the random engine read a tensor on the host")

    for name in ("item", "tolist", "__int__", "__bool__", "__float__", "__index__"):
        monkeypatch.setattr(torch.Tensor, name, host_read)
    monkeypatch.setattr(torch, "Generator", host_read)
    outs = [engine.uniform((10,), seed), engine.normal((10,), seed),
            engine.truncated_normal((10,), seed), engine.bernoulli((10,), seed, 0.5),
            engine.permutation(10, seed), engine.uniform((10,), _seed(3))]
    monkeypatch.undo()
    from nhanh.backend.torch.core import DEVICE
    assert all(o.device == DEVICE for o in outs)


@torch_only
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_torch_draws_in_every_float_dtype_stay_below_maxval(dtype):
    import torch

    engine = _torch_engine()
    tdtype = getattr(torch, dtype)
    for fn in (engine.uniform, engine.normal, engine.truncated_normal):
        x = fn((1000,), _seed(71), dtype=dtype)
        assert x.dtype == tdtype and torch.isfinite(x).all()
    coarse = 0.5 / torch.finfo(tdtype).eps  # the dtype's spacing there is 0.5
    for lo, hi in ((0.0, 1.0), (-0.05, 0.05), (-3.0, -2.0), (coarse, coarse + 1)):
        x = engine.uniform((N,), _seed(72), lo, hi, dtype=dtype)
        top = torch.tensor(hi, dtype=tdtype)
        assert (x < top).all() and (x >= torch.tensor(lo, dtype=tdtype)).all(), (lo, hi)
    # lo + u rounds up to maxval for u > 0.75; those draws must land on the value below it
    assert sorted(torch.unique(x).double().tolist()) == [coarse, coarse + 0.5]
    z = engine.truncated_normal((N,), _seed(73), dtype=dtype)
    assert z.abs().max() <= 2.0
