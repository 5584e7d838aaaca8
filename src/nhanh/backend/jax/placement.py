"""Gradient checkpointing and device scopes on JAX (nhanh.remat, nhanh.device)."""

from __future__ import annotations

import jax


def remat(fn):
    """fn, recomputed in the backward pass instead of keeping its intermediates."""
    return jax.checkpoint(fn)


def device_scope(kind: str, index: int):
    """A context in which new arrays are placed on device `kind` ('cpu', 'gpu', 'tpu')
    number `index`; an unknown device raises ValueError listing the available ones."""
    try:
        devices = jax.devices(kind)
    except RuntimeError:
        devices = []
    if index >= len(devices):
        have = ", ".join(f"{d.platform}:{d.id}" for d in jax.devices()) or "none"
        raise ValueError(f"device: no {kind}:{index} on this machine (JAX has {have}).")
    return jax.default_device(devices[index])
