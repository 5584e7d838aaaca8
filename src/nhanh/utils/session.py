"""Session-wide state: clear_session, and the symbolic-tensor helpers of the functional API.

`clear_session` forgets what Keras's does: the counters behind default names ('dense',
'dense_1', ...) and the global generator that unseeded random ops draw from (re-created, on
first use, from the host seed stream that `set_random_seed` seeds, which goes on where it
was, as Keras's Python `random` does).
"""

from __future__ import annotations

import gc

from nhanh import naming
from nhanh import random as nhanh_random


def clear_session(free_memory: bool = True) -> None:
    """Reset default names and the global random generator, as after a fresh import.

    Models built before keep working; new layers are named from 'dense' again.

    Args:
        free_memory: If True, run Python's garbage collector so arrays that only the old
            models held are released.
    """
    naming.reset()
    nhanh_random._default_generator = None
    if free_memory:
        gc.collect()


def is_keras_tensor(x) -> bool:
    """Whether `x` is a symbolic tensor (from `Input` or a layer called on one).

    Args:
        x: Any object.

    Returns:
        True for nhanh's `SymbolicTensor`s, False for arrays and everything else.
    """
    from nhanh.layers.symbolic import SymbolicTensor  # here: utils sits below layers

    return isinstance(x, SymbolicTensor)


def get_source_inputs(tensor) -> list:
    """The `Input` tensors a symbolic tensor was computed from.

    Args:
        tensor: A symbolic tensor; anything else is returned as it is (as in Keras).

    Returns:
        The list of input tensors `tensor` depends on, each once, in first-reached order.
    """
    if not is_keras_tensor(tensor):
        return tensor
    node = tensor._node
    if node is None:
        return [tensor]
    sources: list = []
    for parent in node.input_tensors:
        for source in get_source_inputs(parent):
            if all(source is not s for s in sources):
                sources.append(source)
    return sources
