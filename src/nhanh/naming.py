"""Default names: 'dense', 'dense_1', ... unique within a session, as Keras gives them."""

from __future__ import annotations

import re

_counts: dict[str, int] = {}


def to_snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    count = _counts.get(prefix, 0)
    _counts[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset() -> None:
    _counts.clear()
