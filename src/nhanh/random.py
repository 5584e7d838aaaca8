"""Seeded random numbers that work inside compiled training steps.

A SeedGenerator keeps its state in a Variable, so every draw advances state that the training
step carries like any other; the same seed gives the same draws.
"""

from __future__ import annotations

import numpy as np

from nhanh import backend as _backend
from nhanh import ops
from nhanh.variables import Variable

_global_rng = np.random.default_rng()


def set_global_seed(seed: int | None) -> None:
    """Reseed the host generator that hands seeds to layers and initializers.

    `nhanh.utils.set_random_seed` calls this; objects created afterwards draw repeatable
    seeds.

    Args:
        seed: An int, or `None` for fresh entropy from the operating system.
    """
    global _global_rng
    _global_rng = np.random.default_rng(seed)


def draw_seed() -> int:
    """A fresh integer seed from the global host generator.

    Returns:
        An int in [0, 2**31 - 1).
    """
    return int(_global_rng.integers(0, 2**31 - 1))


class SeedGenerator:
    """Produces a new seed on each `next()`; its state is a Variable.

    Because the state is a Variable, a compiled training step carries and advances it like
    any other state.

    Args:
        seed: Initial seed (an int, taken modulo 2**31); `None` draws one from the global
            host generator (see `set_global_seed`).
        name: Name of the state Variable.
    """

    def __init__(self, seed: int | None = None, name: str = "seed_generator"):
        seed = draw_seed() if seed is None else int(seed)
        self.state = Variable(np.array([seed % 2**31, 0], dtype="int32"), shape=(2,),
                              dtype="int32", trainable=False, name=name)

    def next(self):
        """The current seed state (a 2-element int32 tensor); advances the counter."""
        state = self.state.value
        self.state.assign(state + ops.convert_to_tensor(np.array([0, 1], dtype="int32")))
        return state


_default_generator: SeedGenerator | None = None


def _seed(seed):
    global _default_generator
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        if _default_generator is None or _default_generator.state._backend is not _backend.get():
            _default_generator = SeedGenerator()
        return _default_generator.next()
    return np.array([int(seed) % 2**31, 0], dtype="int32")


def _floatx(dtype):
    from nhanh import config

    return config.floatx() if dtype is None else _backend.get().standardize_dtype(dtype)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws from a normal (Gaussian) distribution.

    Args:
        shape: Shape of the result, a tuple of ints.
        mean: Mean of the distribution.
        stddev: Standard deviation of the distribution.
        dtype: Float dtype of the result; `None` means `nhanh.config.floatx()`.
        seed: An int for reproducible draws (the same int gives the same numbers), a
            `SeedGenerator` (advanced by each call, so inside a training step every step
            draws anew), or `None` for a module-wide generator seeded from the global
            host generator.

    Returns:
        A tensor of `shape`.
    """
    return _backend.get().random.normal(shape, _seed(seed), mean, stddev, _floatx(dtype))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Draws from a uniform distribution on [minval, maxval).

    Args:
        shape: Shape of the result, a tuple of ints.
        minval: Lower bound (included).
        maxval: Upper bound (excluded).
        dtype: Float dtype of the result; `None` means `nhanh.config.floatx()`.
        seed: An int for reproducible draws (the same int gives the same numbers), a
            `SeedGenerator` (advanced by each call, so inside a training step every step
            draws anew), or `None` for a module-wide generator seeded from the global
            host generator.

    Returns:
        A tensor of `shape`.
    """
    return _backend.get().random.uniform(shape, _seed(seed), minval, maxval,
                                         _floatx(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws from a normal distribution conditioned on lying within 2 `stddev` of `mean`.

    Args:
        shape: Shape of the result, a tuple of ints.
        mean: Mean of the untruncated distribution.
        stddev: Standard deviation of the untruncated distribution (the draws' own is
            about 0.88 times it).
        dtype: Float dtype of the result; `None` means `nhanh.config.floatx()`.
        seed: An int for reproducible draws (the same int gives the same numbers), a
            `SeedGenerator` (advanced by each call, so inside a training step every step
            draws anew), or `None` for a module-wide generator seeded from the global
            host generator.

    Returns:
        A tensor of `shape`.
    """
    return _backend.get().random.truncated_normal(shape, _seed(seed), mean, stddev,
                                                  _floatx(dtype))


def dropout(inputs, rate: float, noise_shape=None, seed=None):
    """Zero each entry with probability `rate`; scale the rest by 1 / (1 - rate).

    The scaling keeps the expected value of each entry unchanged (inverted dropout).

    Args:
        inputs: Input tensor.
        rate: Probability of dropping an entry, in [0, 1).
        noise_shape: Shape of the keep/drop mask, broadcast against `inputs` (e.g.
            `(batch, 1, features)` drops whole features for every time step); a `None`
            entry takes `inputs`' length on that axis. `None` means `inputs`' shape.
        seed: An int for reproducible draws (the same int gives the same numbers), a
            `SeedGenerator` (advanced by each call, so inside a training step every step
            draws anew), or `None` for a module-wide generator seeded from the global
            host generator.

    Returns:
        A tensor of `inputs`' shape.
    """
    inputs = ops.convert_to_tensor(inputs)
    shape = tuple(inputs.shape) if noise_shape is None else tuple(
        inputs.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    keep = _backend.get().random.bernoulli(shape, _seed(seed), 1.0 - rate)
    return ops.where(keep, inputs / (1.0 - rate), ops.zeros_like(inputs))


def shuffle_indices(n: int, seed=None):
    """A random permutation of `range(n)`, for shuffling a data set (not in Keras).

    Args:
        n: Number of indices.
        seed: An int for reproducible draws (the same int gives the same numbers), a
            `SeedGenerator` (advanced by each call, so inside a training step every step
            draws anew), or `None` for a module-wide generator seeded from the global
            host generator.

    Returns:
        An integer tensor of length `n` holding each of 0 ... n - 1 once.
    """
    return _backend.get().random.permutation(n, _seed(seed))


# --- Distributions built from one block of uniform draws --------------------------------------
# Each function below draws ONE uniform block from its seed and derives everything from it, so
# it needs no extra engine primitive, works in compiled code wherever `uniform` does, and never
# correlates two draws by reusing a seed.

_GAMMA_TRIES = 8  # Marsaglia-Tsang accepts >= 95% of candidates: 8 all fail with p < 1e-10


def _work_dtype(dtype: str) -> str:
    return "float64" if dtype == "float64" else "float32"


def _unit_block(n: int, shape: tuple, seed, dtype: str):
    """`n` stacked blocks of uniform draws in (0, 1) (never 0, so logs stay finite)."""
    u = _backend.get().random.uniform((n,) + tuple(shape), _seed(seed), 0.0, 1.0, dtype)
    return ops.maximum(u, 2.0 ** -30)


def _check_shape(shape, fn: str) -> tuple:
    try:
        return tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"{fn}: `shape` must be a tuple of ints, got {shape!r}.") from None


def _gamma_from(u, alpha, dtype: str):
    """Gamma(alpha, 1) draws from a (3 * _GAMMA_TRIES + 1, *shape) block of uniforms, by
    Marsaglia and Tsang's method ("A simple method for generating gamma variables", 2000):
    the first accepted of _GAMMA_TRIES candidates, and for alpha < 1 the boost
    Gamma(alpha) = Gamma(alpha + 1) * U ** (1 / alpha)."""
    k = _GAMMA_TRIES
    alpha = ops.broadcast_to(ops.convert_to_tensor(alpha, dtype), tuple(u.shape[1:]))
    boosted = ops.where(alpha < 1.0, alpha + 1.0, alpha)
    d = boosted - 1.0 / 3.0
    c = 1.0 / ops.sqrt(9.0 * d)
    z = ops.sqrt(-2.0 * ops.log(u[:k])) * ops.cos((2 * np.pi) * u[k:2 * k])  # Box-Muller
    v = (1.0 + c * z) ** 3
    safe_v = ops.where(v > 0, v, ops.ones_like(v))
    accept = ops.logical_and(
        v > 0, ops.log(u[2 * k:3 * k]) < 0.5 * z * z + d - d * safe_v + d * ops.log(safe_v))
    first = ops.expand_dims(ops.argmax(ops.cast(accept, "int32"), axis=0), 0)
    draw = ops.take_along_axis(d * safe_v, first, axis=0)[0]
    boost = ops.where(alpha < 1.0, u[3 * k] ** (1.0 / alpha), ops.ones_like(alpha))
    return draw * boost


def gamma(shape, alpha, dtype=None, seed=None):
    """Draws from a Gamma distribution with shape `alpha` and scale 1 (mean and variance
    `alpha`).

    Args:
        shape: Shape of the result, a tuple of ints.
        alpha: Shape parameter (> 0), a float or an array broadcastable to `shape`.
        dtype: Float dtype of the result; `None` means `nhanh.config.floatx()`.
        seed: An int, a `SeedGenerator` or `None`, as for `normal`.

    Returns:
        A tensor of `shape`.
    """
    shape, dtype = _check_shape(shape, "gamma"), _floatx(dtype)
    work = _work_dtype(dtype)
    u = _unit_block(3 * _GAMMA_TRIES + 1, shape, seed, work)
    return ops.cast(_gamma_from(u, alpha, work), dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):  # noqa: A002 - Keras's argument names
    """Draws from a Beta distribution (as X / (X + Y), X ~ Gamma(alpha), Y ~ Gamma(beta)).

    Args:
        shape: Shape of the result, a tuple of ints.
        alpha: First shape parameter (> 0), a float or an array broadcastable to `shape`.
        beta: Second shape parameter (> 0), likewise.
        dtype: Float dtype of the result; `None` means `nhanh.config.floatx()`.
        seed: An int, a `SeedGenerator` or `None`, as for `normal`.

    Returns:
        A tensor of `shape` with values in [0, 1].
    """
    shape, dtype = _check_shape(shape, "beta"), _floatx(dtype)
    work, n = _work_dtype(dtype), 3 * _GAMMA_TRIES + 1
    u = _unit_block(2 * n, shape, seed, work)
    x, y = _gamma_from(u[:n], alpha, work), _gamma_from(u[n:], beta, work)
    return ops.cast(x / ops.maximum(x + y, np.finfo(work).tiny), dtype)


def _static_max(counts, fn: str) -> int:
    try:
        return int(np.max(ops.convert_to_numpy(counts)))
    except Exception:  # a traced value: its maximum is not known while compiling
        raise ValueError(
            f"{fn}: `counts` must be known when the call is traced (a Python number or a "
            f"NumPy array), got a traced tensor {counts!r}. Pass the counts as a constant; "
            "the draws themselves may still be made inside compiled code.") from None


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Draws from a Binomial distribution: successes in `counts` trials of probability
    `probabilities` (as a sum of that many Bernoulli draws).

    Args:
        shape: Shape of the result, a tuple of ints.
        counts: Number of trials, a number or an array broadcastable to `shape`; it must be
            known when tracing (not computed inside a compiled function).
        probabilities: Success probability of each trial, a float or an array
            broadcastable to `shape`.
        dtype: Dtype of the result; `None` means `nhanh.config.floatx()` (as Keras).
        seed: An int, a `SeedGenerator` or `None`, as for `normal`.

    Returns:
        A tensor of `shape` holding whole numbers in [0, counts].
    """
    shape, dtype = _check_shape(shape, "binomial"), _floatx(dtype)
    trials = max(_static_max(counts, "binomial"), 0)
    u = _backend.get().random.uniform((max(trials, 1),) + shape, _seed(seed), 0.0, 1.0,
                                      "float32")
    index = ops.reshape(ops.arange(max(trials, 1), dtype="float32"), (-1,) + (1,) * len(shape))
    counts = ops.convert_to_tensor(counts, "float32")
    success = ops.logical_and(u < ops.convert_to_tensor(probabilities, "float32"),
                              index < counts)
    return ops.cast(ops.sum(ops.cast(success, "float32"), axis=0), dtype)


def categorical(logits, num_samples: int, dtype="int32", seed=None):
    """Draws class indices from categorical distributions given by unnormalized log-probs.

    Args:
        logits: A (batch, classes) tensor; row i is the log-probabilities (up to a constant)
            of batch entry i's distribution. `-inf` marks a class that is never drawn.
        num_samples: Number of draws per row.
        dtype: Integer dtype of the result.
        seed: An int, a `SeedGenerator` or `None`, as for `normal`.

    Returns:
        A (batch, num_samples) tensor of class indices.
    """
    logits = ops.convert_to_tensor(logits)
    if len(logits.shape) != 2:
        raise ValueError(f"categorical: `logits` must be 2-D (batch, classes), got shape "
                         f"{tuple(logits.shape)}. Add a batch axis with ops.expand_dims.")
    batch, classes = tuple(logits.shape)
    u = _unit_block(1, (batch, int(num_samples), classes), seed, "float32")[0]
    gumbel = -ops.log(-ops.log(u))  # argmax of logits + Gumbel noise is a categorical draw
    scores = ops.expand_dims(ops.cast(logits, "float32"), 1) + gumbel
    return ops.cast(ops.argmax(scores, axis=-1), dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Draws integers uniformly from [minval, maxval).

    Args:
        shape: Shape of the result, a tuple of ints.
        minval: Lowest value (included).
        maxval: Upper bound (excluded).
        dtype: Integer dtype of the result.
        seed: An int, a `SeedGenerator` or `None`, as for `normal`.

    Returns:
        A tensor of `shape`.
    """
    shape = _check_shape(shape, "randint")
    u = _backend.get().random.uniform(shape, _seed(seed), 0.0, 1.0, "float32")
    span = ops.convert_to_tensor(maxval, "float32") - ops.convert_to_tensor(minval, "float32")
    offset = ops.minimum(ops.floor(u * span), span - 1.0)  # rounding must not reach maxval
    return ops.cast(ops.convert_to_tensor(minval, "float32") + offset, dtype)


def shuffle(x, axis: int = 0, seed=None):
    """`x` with its slices along `axis` in a random order (each slice kept whole).

    Keras on PyTorch and TensorFlow permutes whole slices as here; Keras on JAX permutes
    each column independently, which breaks rows apart.

    Args:
        x: Input tensor.
        axis: The axis whose order is shuffled.
        seed: An int, a `SeedGenerator` or `None`, as for `normal`.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    x = ops.convert_to_tensor(x)
    order = _backend.get().random.permutation(int(x.shape[axis]), _seed(seed))
    return ops.take(x, order, axis=axis)


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
