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
