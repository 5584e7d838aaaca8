"""Random draws on JAX from an explicit seed state (works inside compiled code)."""

import jax
import jax.numpy as jnp


def _key(seed):
    seed = jnp.asarray(seed, dtype="uint32")
    return jax.random.fold_in(jax.random.PRNGKey(seed[0]), seed[1])


def normal(shape, seed, mean=0.0, stddev=1.0, dtype="float32"):
    return mean + stddev * jax.random.normal(_key(seed), tuple(shape), dtype=dtype)


def uniform(shape, seed, minval=0.0, maxval=1.0, dtype="float32"):
    return jax.random.uniform(_key(seed), tuple(shape), dtype=dtype, minval=minval, maxval=maxval)


def truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype="float32"):
    draw = jax.random.truncated_normal(_key(seed), -2.0, 2.0, tuple(shape), dtype=dtype)
    return mean + stddev * draw


def bernoulli(shape, seed, p):
    return jax.random.bernoulli(_key(seed), p, tuple(shape))


def permutation(n, seed):
    return jax.random.permutation(_key(seed), n)
