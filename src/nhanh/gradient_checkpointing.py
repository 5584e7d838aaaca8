"""Gradient checkpointing: `remat(f)` and `RematScope`, as Keras 3 spells them.

`remat(f)` trades compute for memory: the backward pass recomputes f's intermediates instead
of keeping them (jax.checkpoint on JAX, torch.utils.checkpoint on PyTorch), so gradients are
the same as f's. `RematScope(mode=...)` picks layers for checkpointing: as in Keras, the scope open
when a layer is made is recorded on it, and its call follows that scope's mode
(layers/layer.py, `Layer._rematerialized_call`).
"""

from __future__ import annotations

import threading
from typing import Callable

from nhanh import backend as _backend
from nhanh import variables as _variables

MODES = ("full", "activations", "larger_than", "list_of_layers", None)


def remat(f: Callable) -> Callable:
    """`f`, recomputed during the backward pass instead of storing its intermediates.

    Args:
        f: A function of arrays (a layer's call, a block of ops).

    Returns:
        A function with `f`'s values and gradients that uses less memory while
        differentiated.
    """
    if not callable(f):
        raise TypeError(f"remat: `f` must be callable, got {type(f).__name__}.")
    engine_remat = _backend.get().remat

    def checkpointed(*args, **kwargs):
        # The recomputation may run after the training step's StatelessScope closed (PyTorch
        # recomputes during backward): it must read the same variable values as the first
        # run, so it re-enters the scopes open now.
        scopes = _variables.open_scopes()
        autocast = _variables.autocast_dtype()  # and reads weights in the same dtype

        def replay(*a, **k):
            previous = _variables.set_autocast_dtype(autocast)
            try:
                with _variables.reentered(scopes):
                    return f(*a, **k)
            finally:
                _variables.set_autocast_dtype(previous)

        return engine_remat(replay)(*args, **kwargs)

    return checkpointed


class _Stack(threading.local):
    def __init__(self):
        self.scopes: list[RematScope] = []


_stack = _Stack()


class RematScope:
    """Ask for gradient checkpointing of the layers called inside.

    Args:
        mode: "full" (every layer), "activations" (activation functions), "larger_than"
            (layers whose output has more than `output_size_threshold` elements),
            "list_of_layers" (the layers named in `layer_names`), or None (none; turns off
            an enclosing scope).
        output_size_threshold: The element count for "larger_than".
        layer_names: Layer names for "list_of_layers".
    """

    def __init__(self, mode: str | None = "full", output_size_threshold: int = 1024,
                 layer_names=None):
        if mode not in MODES:
            raise ValueError(f"RematScope: `mode` must be one of {MODES}, got {mode!r}.")
        if mode == "list_of_layers" and not layer_names:
            raise ValueError("RematScope: mode='list_of_layers' needs `layer_names`, the "
                             "names of the layers to rematerialize.")
        self.mode = mode
        self.output_size_threshold = int(output_size_threshold)
        self.layer_names = list(layer_names or [])

    def __enter__(self):
        _stack.scopes.append(self)
        return self

    def __exit__(self, *exc):
        _stack.scopes.remove(self)


def get_current_remat_mode() -> RematScope | None:
    """The innermost open RematScope, or None when none is open (or its mode is None)."""
    scope = _stack.scopes[-1] if _stack.scopes else None
    return scope if scope is not None and scope.mode is not None else None
