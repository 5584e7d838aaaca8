"""Gradient checkpointing and device scopes on PyTorch (nhanh.remat, nhanh.device)."""

from __future__ import annotations

import contextlib

import torch
import torch.utils.checkpoint

from nhanh.backend.torch import core


def remat(fn):
    """fn, recomputed in the backward pass instead of keeping its intermediates."""
    def checkpointed(*args, **kwargs):
        if not torch.is_grad_enabled():  # nothing to save memory for
            return fn(*args, **kwargs)
        return torch.utils.checkpoint.checkpoint(fn, *args, use_reentrant=False, **kwargs)

    return checkpointed


@contextlib.contextmanager
def device_scope(kind: str, index: int):
    """A context in which tensors that nhanh converts, and torch's factory functions, are
    placed on device `kind` ('cpu' or 'gpu') number `index`."""
    name = "cuda" if kind == "gpu" else kind
    if kind not in ("cpu", "gpu") or (kind == "gpu" and index >= torch.cuda.device_count()):
        raise ValueError(f"device: no {kind}:{index} on this machine (PyTorch sees "
                         f"{torch.cuda.device_count()} GPU(s) and the CPU).")
    target = torch.device(name, index) if name == "cuda" else torch.device("cpu")
    saved = core.DEVICE
    core.DEVICE = target
    try:
        with target:
            yield
    finally:
        core.DEVICE = saved
