"""Name lookup shared by activations, initializers, losses, metrics and optimizers.

An unknown name raises at once with the close matches, so a typo in compile() or a layer
argument is caught before anything is built.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

from nhanh.naming import to_snake_case


def plural(noun: str) -> str:
    """English plural of the last word: 'loss' -> 'losses', 'metric function' -> 'metric
    functions', 'learning rate schedule' -> 'learning rate schedules'."""
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    return noun + "s"


def _known_names(table: dict[str, Any], class_names: bool) -> dict[str, list[str]]:
    """Each object in `table` once: its canonical name, then the other spellings users may
    type ('mean_squared_error (mse)'). Case-insensitive squashed class names
    ('meansquarederror') are accepted but not listed; a class whose snake_case name is also
    a function's name ('MeanSquaredError' beside 'mean_squared_error') is listed once."""
    groups: dict[int, tuple[Any, list[str]]] = {}
    for key, obj in table.items():
        groups.setdefault(id(obj), (obj, []))[1].append(key)

    def canonical(obj, keys: list[str]) -> str:
        name = getattr(obj, "__name__", None)
        if name is not None:
            if class_names and isinstance(obj, type):
                return name
            for candidate in (name, to_snake_case(name)):
                if candidate in keys:
                    return candidate
        return keys[0]

    listed: dict[str, list[str]] = {}
    pending = []
    for obj, keys in groups.values():
        display = canonical(obj, keys)
        if isinstance(obj, type) and not class_names and display not in (
                obj.__name__, to_snake_case(obj.__name__)):
            pending.append((to_snake_case(obj.__name__), display, keys))
            continue
        listed.setdefault(display, []).extend(keys)
    for snake, display, keys in pending:  # a class folded into the function of its name
        listed.setdefault(snake if snake in listed else display, []).extend(keys)
    entries = {}
    for display in sorted(listed, key=str.lower):
        squashed = display.replace("_", "").lower()
        entries[display] = [k for k in dict.fromkeys(listed[display])
                            if k != display and k.replace("_", "") != squashed]
    return entries


def lookup(kind: str, identifier: str, table: dict[str, Any], *,
           class_names: bool = False) -> Any:
    """table[identifier] (case-insensitive), or a ValueError naming the close matches and
    listing every known object once. `class_names`: the table holds classes looked up by
    class name (deserialization), so they are listed as 'MeanSquaredError'."""
    key = identifier.lower() if isinstance(identifier, str) else identifier
    if key in table:
        return table[key]
    known = _known_names(table, class_names)
    spelling = {name.lower(): display for display, aliases in known.items()
                for name in (display, *aliases)}
    close = []
    for match in difflib.get_close_matches(str(key), list(spelling), n=6, cutoff=0.6):
        if spelling[match] not in (spelling[c.lower()] for c in close):  # one per object
            close.append(match if match != spelling[match].lower() else spelling[match])
    hint = f" Did you mean {' or '.join(repr(c) for c in close[:3])}?" if close else ""
    listing = ", ".join(f"{d} ({', '.join(a)})" if a else d for d, a in known.items())
    raise ValueError(f"Unknown {kind} {identifier!r}.{hint} Known {plural(kind)}: {listing}.")


def serialize(obj: Any) -> dict:
    """Keras 3's {'module', 'class_name', 'config', 'registered_name'} for an object with
    get_config() (nhanh.saving.serialization_lib writes it)."""
    from nhanh.saving.serialization_lib import serialize_keras_object

    return serialize_keras_object(obj)


def user_object(config: dict) -> Any:
    """The user's class a config names (custom objects in scope, or registered), else None."""
    from nhanh.saving import serialization_lib

    return serialization_lib.user_object(config)


def deserialize(kind: str, config: dict, classes: dict[str, Callable]) -> Any:
    """An object of one family from its config: the user's class by that name, else one of
    `classes` (nothing else: a config cannot name arbitrary code)."""
    cls = user_object(config) or lookup(kind, config["class_name"],
                                        {k.lower(): v for k, v in classes.items()},
                                        class_names=True)
    return cls.from_config(config.get("config") or {})


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
        cls = (custom_objects or {}).get(name) or user_object(config) or self.cls(name)
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
