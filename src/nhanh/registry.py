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


class Family:
    """get / serialize / deserialize for one kind of configurable object (initializers,
    regularizers, constraints): names, Keras class names, instances, classes and callables."""

    def __init__(self, kind: str, by_name: dict[str, type], classes: tuple[type, ...],
                 example: str, class_aliases: dict[str, type] | None = None):
        self.kind, self.by_name, self.example = kind, by_name, example
        self.by_class_name = {cls.__name__.lower(): cls for cls in classes}
        self.by_class_name.update(class_aliases or {})

    def cls(self, name: str) -> type:
        return self.by_class_name.get(name.lower()) or lookup(self.kind, name, self.by_name)

    def serialize(self, obj: Any) -> dict:
        """{'class_name', 'config'}, which deserialize (and get) turn back into an equal one."""
        return serialize(obj)

    def deserialize(self, config: dict | str, custom_objects: dict | None = None) -> Any:
        """An object from serialize's dict, or from a name with default arguments."""
        if isinstance(config, str):
            config = {"class_name": config, "config": {}}
        name = config["class_name"]
        cls = (custom_objects or {}).get(name) or self.cls(name)
        return cls.from_config(config.get("config") or {})

    def get(self, identifier: Any) -> Any:
        """A name, {'class_name', 'config'} dict, class, instance or callable -> an object."""
        if identifier is None:
            return None
        if isinstance(identifier, (str, dict)):
            return self.deserialize(identifier)
        if isinstance(identifier, type):
            return identifier()
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {self.kind} identifier {identifier!r}: expected "
                         f"a name such as {self.example!r}, an object, a callable or a dict.")
