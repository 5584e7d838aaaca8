"""Which of the user's own classes and functions a saved config may name.

A file names objects by string; loading may only turn those strings into nhanh's own objects
or into objects the user has vouched for here: registered with `register_keras_serializable`
(kept for the process), or passed as `custom_objects` / inside `custom_object_scope` (kept for
the scope, per thread). Nothing is ever imported by the name a file gives.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any, Callable

_REGISTERED: dict[str, Any] = {}          # "package>Name" -> object
_NAMES: dict[Any, str] = {}                # object -> "package>Name"


class _Scopes(threading.local):
    def __init__(self):
        self.stack: list[dict[str, Any]] = []


_scopes = _Scopes()


class CustomObjectScope:
    """Makes `custom_objects` ({name: class or function}) known to deserialization inside a
    `with` block, as `load_model(custom_objects=...)` does.

    Args:
        custom_objects: Names mapped to your classes and functions. Several dicts may be
            given; later ones win.
    """

    def __init__(self, *custom_objects: dict[str, Any] | None):
        merged: dict[str, Any] = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError(f"custom_object_scope expects dicts of {{name: class or "
                                f"function}}, got {type(objects).__name__}: {objects!r}.")
            merged.update(objects)
        self.custom_objects = merged

    def __enter__(self) -> "CustomObjectScope":
        _scopes.stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc) -> None:
        _scopes.stack.pop()


custom_object_scope = CustomObjectScope


def get_custom_objects() -> dict[str, Any]:
    """The live dict of registered objects ("package>Name" -> object); objects put here by
    hand are found by their key too. Scoped custom objects are not in it."""
    return _REGISTERED


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable:
    """Decorator that lets saved configs name a class or function as "package>name".

    Args:
        package: The first part of the registered name.
        name: The second part; the object's own `__name__` by default.
    """
    def decorator(obj):
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"Cannot register class {obj.__name__}: it has no get_config(), "
                             "so it could not be saved.")
        key = f"{package}>{name if name is not None else obj.__name__}"
        _REGISTERED[key] = obj
        _NAMES[obj] = key
        return obj

    return decorator


def get_registered_name(obj: Any) -> str:
    """The "package>name" an object was registered under, else its `__name__`.

    Args:
        obj: The class or function.
    """
    try:
        return _NAMES[obj]
    except (KeyError, TypeError):
        return obj.__name__


def get_registered_object(name: str | None, custom_objects: dict[str, Any] | None = None,
                          module_objects: dict[str, Any] | None = None) -> Any:
    """The object known as `name`: from `custom_objects`, the innermost open scopes, the
    registered objects, then `module_objects`; None when none has it.

    Args:
        name: A registered name ("package>name") or a custom object's name.
        custom_objects: Names mapped to objects, looked up first.
        module_objects: Names mapped to objects, looked up last.
    """
    if not name:
        return None
    for table in (custom_objects or {}, *reversed(_scopes.stack), _REGISTERED,
                  module_objects or {}):
        if name in table:
            return table[name]
    return None
