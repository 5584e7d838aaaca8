"""Gradient clipping as small transforms that compose (the Optax way).

Each transform maps a list of gradients to a list of gradients, using ops only, so the same
chain runs eagerly or inside a compiled step. The Optimizer base builds one chain from its
`clipvalue` / `clipnorm` / `global_clipnorm` arguments; no optimizer branches on them itself.
"""

from __future__ import annotations

import functools
from typing import Callable

from nhanh import ops

GradientTransform = Callable[[list], list]


def clip_by_value(limit: float) -> GradientTransform:
    """Clip every gradient element to [-limit, limit]."""

    def transform(grads: list) -> list:
        return [ops.clip(g, -limit, limit) for g in grads]

    return transform


def clip_by_norm(max_norm: float) -> GradientTransform:
    """Rescale each gradient on its own so that its L2 norm is at most max_norm."""

    def transform(grads: list) -> list:
        out = []
        for g in grads:
            norm = ops.sqrt(ops.sum(ops.square(g)))
            # max_norm / max(norm, max_norm) is 1 when the norm is small, so no branch is needed.
            out.append(g * (max_norm / ops.maximum(norm, max_norm)))
        return out

    return transform


def global_norm(grads: list):
    """The L2 norm of all gradients taken together (computed in float32)."""
    squares = [ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads]
    return ops.sqrt(functools.reduce(ops.add, squares))


def clip_by_global_norm(max_norm: float) -> GradientTransform:
    """Rescale all gradients by one factor so that their joint L2 norm is at most max_norm.

    As in Keras, a non-finite global norm makes every gradient NaN rather than silently zero.
    """

    def transform(grads: list) -> list:
        norm = global_norm(grads)
        scale = max_norm / ops.maximum(norm, max_norm) + (norm - norm)
        return [g * ops.cast(scale, ops.dtype(g)) for g in grads]

    return transform


def chain(*transforms: GradientTransform) -> GradientTransform:
    """Apply the transforms left to right."""

    def transform(grads: list) -> list:
        for t in transforms:
            grads = t(grads)
        return grads

    return transform
