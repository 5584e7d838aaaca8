"""A mapping from weight paths to values, keyed by exact paths or regular expressions.

Keras has two of these (LayoutMap: path -> layout; OptimizerMap: path -> optimizer) with one
rule: an exact key wins, else the single key that matches the whole path as a regular
expression; two matching keys are an error, since the order keys were added in must not
decide. Written once here; each map adds its values' checks and its default.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, Iterator


class PathPatternMap(MutableMapping):
    """Path or pattern -> value; `lookup(path, default)` applies the rule above.
    `_what` names the map and `_check_value(key, value)` vets a value, in subclasses."""

    _what = "PathPatternMap"

    def __init__(self):
        self._entries: dict[str, Any] = {}

    def _check_value(self, key: str, value):
        return value

    def lookup(self, path: str, default=None):
        if path in self._entries:
            return self._entries[path]
        matches = [k for k in self._entries if re.fullmatch(k, path)]
        if len(matches) > 1:
            raise ValueError(f"{self._what}: path {path!r} matches several patterns {matches}; "
                             f"make them exclusive, or add {path!r} itself as a key.")
        return self._entries[matches[0]] if matches else default

    def __getitem__(self, path: str):
        return self.lookup(path)

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(key, str):
            raise TypeError(f"{self._what}: keys are weight paths or patterns (str), got "
                            f"{type(key).__name__} {key!r}.")
        if key in self._entries:
            raise ValueError(f"{self._what}: {key!r} already maps to "
                             f"{self._entries[key]!r}; delete it first to replace it.")
        try:
            re.compile(key)
        except re.error as e:
            raise ValueError(f"{self._what}: key {key!r} is not a regular expression ({e}).") \
                from None
        self._entries[key] = self._check_value(key, value)

    def __delitem__(self, key: str) -> None:
        del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)
