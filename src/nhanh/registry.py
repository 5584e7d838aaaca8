"""Name lookup shared by activations, initializers, losses, metrics and optimizers.

An unknown name raises at once with the close matches, so a typo in compile() or a layer
argument is caught before anything is built.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable


def lookup(kind: str, identifier: str, table: dict[str, Any]) -> Any:
    """table[identifier] (case-insensitive), or a ValueError naming the close matches."""
    key = identifier.lower() if isinstance(identifier, str) else identifier
    if key in table:
        return table[key]
    close = difflib.get_close_matches(str(key), list(table), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"Unknown {kind} {identifier!r}.{hint} Known {kind}s: {', '.join(sorted(table))}."
    )


def serialize(obj: Any) -> dict:
    """{'class_name', 'config'} for an object with get_config()."""
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def deserialize(kind: str, config: dict, classes: dict[str, Callable]) -> Any:
    cls = lookup(kind, config["class_name"], {k.lower(): v for k, v in classes.items()})
    return cls.from_config(config.get("config", {}))
