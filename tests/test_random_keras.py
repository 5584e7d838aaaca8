"""keras.random's distributions on nhanh: moments against closed forms, shapes and dtypes
against real Keras, repeatability with a seed, and draws inside compiled steps."""

import os

import numpy as np
import pytest

import nhanh
from nhanh import backend as nb
from nhanh import random as R
from nhanh.variables import StatelessScope

os.environ.setdefault("KERAS_BACKEND", "jax")
N = 20000


def _close(sample, mean, var, k=5.0):
    """Sample mean and variance within k standard errors of the closed forms."""
    sample = np.asarray(sample, dtype="float64").ravel()
    assert abs(sample.mean() - mean) < k * np.sqrt(var / sample.size), (sample.mean(), mean)
    # var of the sample variance ~ (mu4 - var^2) / n; 3 var^2 bounds mu4 for these laws x2
    assert abs(sample.var() - var) < k * var * np.sqrt(6.0 / sample.size) + 1e-12, \
        (sample.var(), var)


@pytest.mark.parametrize("alpha", [0.3, 1.0, 4.5])
def test_gamma_moments(alpha):
    _close(R.gamma((N,), alpha, seed=1), alpha, alpha)


def test_gamma_per_element_alpha_and_positivity():
    alpha = np.array([0.5, 2.0, 9.0], "float32")
    g = nhanh.ops.convert_to_numpy(R.gamma((N // 4, 3), alpha, seed=2))
    assert (g >= 0).all()
    for j, a in enumerate(alpha):
        _close(g[:, j], a, a)


@pytest.mark.parametrize("a,b", [(2.0, 5.0), (0.5, 0.5)])
def test_beta_moments(a, b):
    sample = nhanh.ops.convert_to_numpy(R.beta((N,), a, b, seed=3))
    assert ((sample >= 0) & (sample <= 1)).all()
    _close(sample, a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1)))


def test_binomial_moments_and_array_counts():
    _close(R.binomial((N,), 10, 0.3, seed=4), 3.0, 2.1)
    counts, p = np.array([0.0, 1.0, 7.0]), np.array([0.5, 0.9, 0.2])
    draws = nhanh.ops.convert_to_numpy(R.binomial((N // 4, 3), counts, p, seed=5))
    assert (draws == np.round(draws)).all() and (draws <= counts).all() and (draws >= 0).all()
    for j in range(3):
        _close(draws[:, j], counts[j] * p[j], counts[j] * p[j] * (1 - p[j]) or 1e-12)


def test_categorical_frequencies_and_masked_class():
    probs = np.array([[0.2, 0.3, 0.5, 0.0], [0.7, 0.1, 0.1, 0.1]])
    with np.errstate(divide="ignore"):
        logits = np.log(probs).astype("float32")
    draws = nhanh.ops.convert_to_numpy(R.categorical(logits, N, seed=6))
    assert draws.shape == (2, N)
    for row in range(2):
        freq = np.bincount(draws[row], minlength=4) / N
        np.testing.assert_allclose(freq, probs[row], atol=5 * np.sqrt(0.25 / N))
    assert not (draws[0] == 3).any()


def test_randint_uniform_over_range():
    draws = nhanh.ops.convert_to_numpy(R.randint((N,), -3, 4, seed=7))
    assert draws.min() == -3 and draws.max() == 3
    np.testing.assert_allclose(np.bincount(draws + 3) / N, np.full(7, 1 / 7), atol=0.012)


def test_shuffle_keeps_slices_whole_and_permutes():
    x = np.arange(40).reshape(10, 4)
    out = nhanh.ops.convert_to_numpy(R.shuffle(x, seed=8))
    assert sorted(map(tuple, out)) == sorted(map(tuple, x)) and not (out == x).all()
    cols = nhanh.ops.convert_to_numpy(R.shuffle(x, axis=1, seed=8))
    assert sorted(cols[0]) == [0, 1, 2, 3] and (cols - cols[:, :1] == (cols[0] - cols[0, 0])).all()
    firsts = [int(nhanh.ops.convert_to_numpy(R.shuffle(np.arange(3), seed=s))[0])
              for s in range(300)]
    np.testing.assert_allclose(np.bincount(firsts) / 300, [1 / 3] * 3, atol=0.1)


CALLS = {
    "gamma": lambda L, **k: L.random.gamma((2, 3), 2.0, **k),
    "beta": lambda L, **k: L.random.beta((2, 3), 2.0, 3.0, **k),
    "binomial": lambda L, **k: L.random.binomial((2, 3), 5, 0.5, **k),
    "categorical": lambda L, **k: L.random.categorical(np.zeros((2, 3), "float32"), 4, **k),
    "randint": lambda L, **k: L.random.randint((2, 3), 0, 5, **k),
    "shuffle": lambda L, **k: L.random.shuffle(np.arange(6, dtype="float32"), **k),
    "normal": lambda L, **k: L.random.normal((2, 3), **k),
    "uniform": lambda L, **k: L.random.uniform((2, 3), **k),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_shapes_and_dtypes_match_keras(name):
    keras = pytest.importorskip("keras")
    ours, theirs = CALLS[name](nhanh, seed=1), CALLS[name](keras, seed=1)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert nb.get().dtype_of(ours) == keras.backend.standardize_dtype(theirs.dtype)
    if name not in ("shuffle", "categorical"):  # dtype= is honoured
        want = "int16" if name == "randint" else "float64"
        if nb.get().NAME == "jax" and want == "float64":
            want = "float16"
        assert nb.get().dtype_of(CALLS[name](nhanh, seed=1, dtype=want)) == want


@pytest.mark.parametrize("name", sorted(CALLS))
def test_seed_int_repeats_generator_advances(name):
    f = CALLS[name]
    same = [nhanh.ops.convert_to_numpy(f(nhanh, seed=11)) for _ in range(2)]
    np.testing.assert_array_equal(*same)
    gen = R.SeedGenerator(11)
    a, b = (nhanh.ops.convert_to_numpy(f(nhanh, seed=gen)) for _ in range(2))
    gen2 = R.SeedGenerator(11)
    np.testing.assert_array_equal(a, nhanh.ops.convert_to_numpy(f(nhanh, seed=gen2)))
    assert not np.array_equal(a, b) or name == "shuffle" and sorted(a) == sorted(b)
    f(nhanh)  # seed=None works


@pytest.mark.parametrize("name", ["gamma", "beta", "binomial", "categorical", "randint",
                                  "shuffle"])
def test_draws_inside_a_compiled_step(name):
    gen = R.SeedGenerator(5)

    def step(state):
        with StatelessScope({gen.state: state}) as scope:
            out = CALLS[name](nhanh, seed=gen)
        return out, scope.assigned[gen.state]

    compiled = nb.get().compile_step(step)
    first, state = compiled(gen.state.value)
    second, _ = compiled(state)
    eager = CALLS[name](nhanh, seed=R.SeedGenerator(5))
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(first),
                               nhanh.ops.convert_to_numpy(eager), rtol=1e-5)
    if name != "shuffle":
        assert not np.array_equal(nhanh.ops.convert_to_numpy(first),
                                  nhanh.ops.convert_to_numpy(second))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="`logits` must be 2-D"):
        R.categorical(np.zeros(3), 2)
    with pytest.raises(TypeError, match="`shape` must be a tuple of ints"):
        R.gamma(None, 1.0)
