"""JAX pytrees and PRNG keys for nhanh.layers.JaxLayer.

JaxLayer keeps a pure JAX model's params and state as nhanh Variables laid out in the model's
own pytree; these helpers walk such trees with jax.tree_util (which knows classes users
registered as pytrees) and turn nhanh's seeds into the raw keys jax.random accepts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def is_array(value) -> bool:
    """Whether a pytree leaf is an array or a number (a weight), not configuration."""
    return isinstance(value, (jax.Array, np.ndarray, np.generic, bool, int, float))


def tree_map(fn, tree, *rest):
    """jax.tree_util.tree_map, with None kept as an empty subtree."""
    return jax.tree_util.tree_map(fn, tree, *rest)


def tree_leaves(tree) -> list:
    return jax.tree_util.tree_leaves(tree)


def as_key(seed):
    """A raw uint32 PRNG key from nhanh's int32 seed state of shape (2,)."""
    return jax.lax.bitcast_convert_type(jnp.asarray(seed, dtype=jnp.int32), jnp.uint32)


def placeholder(shape) -> jax.Array:
    """Ones of `shape`, unknown (None) dims as 1: an input init_fn can read shapes from."""
    return jnp.ones([1 if d is None else d for d in shape])
