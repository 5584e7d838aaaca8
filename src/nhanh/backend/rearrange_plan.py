"""The shape arithmetic of einops-style `rearrange`, shared by both engines.

A pattern such as "b (h w) c -> b h w c" names the input's axes (a parenthesised group is one
axis made of several) and the output's. Every rearrangement is then three steps each engine
already has: reshape the input into its elementary axes, transpose them into the output's
order, reshape them into the output's groups. `plan` computes the three shapes / orders.
"""

from __future__ import annotations

import math
import re

_TOKEN = re.compile(r"\(([^()]*)\)|([A-Za-z_]\w*)|(\S)")


def _groups(side: str, pattern: str) -> list[list[str]]:
    groups = []
    for inner, name, other in _TOKEN.findall(side):
        if other:
            raise ValueError(f"rearrange: cannot read {other!r} in pattern {pattern!r}; use "
                             "axis names, groups in parentheses, and one '->'.")
        groups.append(inner.split() if inner or not name else [name])
    return groups


def plan(pattern: str, shape: tuple, axes_lengths: dict):
    """(elementary shape, transpose order, output shape) for `pattern` on an input of `shape`;
    ValueError naming the problem when the pattern does not fit."""
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: the pattern must have one '->' between the input's and "
                         f"the output's axes, got {pattern!r}.")
    left, right = pattern.split("->")
    inputs, outputs = _groups(left, pattern), _groups(right, pattern)
    if len(inputs) != len(shape):
        raise ValueError(f"rearrange: pattern {pattern!r} names {len(inputs)} input axes but "
                         f"the tensor has shape {tuple(shape)}.")
    names_in = [n for g in inputs for n in g]
    names_out = [n for g in outputs for n in g]
    if sorted(names_in) != sorted(names_out) or len(set(names_in)) != len(names_in):
        raise ValueError(f"rearrange: pattern {pattern!r} must use each axis name exactly once "
                         "on each side.")
    sizes = {}
    for group, dim in zip(inputs, shape):
        unknown = [n for n in group if n not in axes_lengths]
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot split an axis of size {dim} into {group}: "
                             f"give the lengths of all but one, e.g. {unknown[0]}=...")
        known = math.prod(axes_lengths[n] for n in group if n in axes_lengths)
        for n in group:
            sizes[n] = axes_lengths[n] if n in axes_lengths else dim // max(known, 1)
        if math.prod(sizes[n] for n in group) != dim:
            raise ValueError(f"rearrange: axis {group} of size {dim} is not the product of "
                             f"the lengths given ({ {n: sizes[n] for n in group} }).")
    elementary = tuple(sizes[n] for n in names_in)
    order = tuple(names_in.index(n) for n in names_out)
    final = tuple(math.prod(sizes[n] for n in g) for g in outputs)
    return elementary, order, final
