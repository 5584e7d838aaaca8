"""Objects as Keras 3's config dicts and back, without ever running what a file says to run.

The dict is Keras 3's, so a config written here loads in Keras and Keras's loads here:
`{"module", "class_name", "config", "registered_name"}` plus `build_config` and
`compile_config` where an object has them. A built-in object's module is the public Keras
module of its family (`"keras.layers"`, `"keras.initializers"`, ...).

Loading is a whitelist. A class or function named in a config resolves only to
- an object the user vouched for (`custom_objects`, `custom_object_scope`,
  `register_keras_serializable`), looked up by its registered name or class name; or
- one of nhanh's own public objects of the family the module names (`keras.layers.Dense`,
  `nhanh.losses.Huber`); a module outside Keras's and nhanh's public families is refused.
No module is ever imported by the name a file gives, so `os.system`, `builtins.eval`,
`keras.utils.get_file` or `keras.config.enable_unsafe_deserialization` named in a file are
refused with an error saying so (Keras's CVE-2025-1550, CVE-2025-8747 and CVE-2025-9906 all
came from importing what a file named). Python bytecode (a Lambda's `__lambda__` entry) is
loaded only when the caller passed `safe_mode=False` or called
`nhanh.config.enable_unsafe_deserialization()`; a file cannot switch that on.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import marshal
import threading
import types
import warnings
from typing import Any

import numpy as np

from nhanh import config as _config
from nhanh.saving import object_registration

#: Keras's public module of each family, and where nhanh keeps it (first match wins when an
#: object appears in two, as a loss function does in metrics).
FAMILIES: dict[str, str] = {
    "keras.layers": "nhanh.layers",
    "keras.losses": "nhanh.losses",
    "keras.metrics": "nhanh.metrics",
    "keras.optimizers.schedules": "nhanh.optimizers.schedules",
    "keras.optimizers": "nhanh.optimizers",
    "keras.initializers": "nhanh.initializers",
    "keras.regularizers": "nhanh.regularizers",
    "keras.constraints": "nhanh.constraints",
    "keras.activations": "nhanh.activations",
    "keras.dtype_policies": "nhanh.dtype_policies",
}
#: Where Keras looks up a function a config names with module "builtins" (its own, by name).
_BUILTIN_FAMILIES = ("keras.activations", "keras.constraints", "keras.initializers",
                     "keras.losses", "keras.metrics", "keras.optimizers", "keras.regularizers")
#: Objects Keras writes under its top-level module.
_TOP_LEVEL = ("Sequential", "Model", "Functional", "DTypePolicy", "FloatDTypePolicy",
              "InputSpec")
#: A config nested deeper than this is refused before it is walked (a file cannot make the
#: loader recurse without bound).
MAX_DEPTH = 200


class _Local(threading.local):
    def __init__(self):
        self.safe_mode: list[bool] = []


_local = _Local()


class SafeModeScope:
    """Inside it, deserialization refuses (True) or allows (False) Python bytecode."""

    def __init__(self, safe_mode: bool | None = True):
        self.safe_mode = safe_mode

    def __enter__(self):
        _local.safe_mode.append(in_safe_mode() if self.safe_mode is None else
                                bool(self.safe_mode))
        return self

    def __exit__(self, *exc):
        _local.safe_mode.pop()


def in_safe_mode() -> bool:
    """Whether bytecode is refused now: the innermost scope's setting, else the process-wide
    switch (`nhanh.config.enable_unsafe_deserialization`)."""
    if _local.safe_mode:
        return _local.safe_mode[-1]
    return not _config.is_unsafe_deserialization_enabled()


# --- the public objects of each family ----------------------------------------------------
_tables: dict[str, dict[str, Any]] | None = None
_public: dict[int, tuple[str, str]] = {}


def _own(obj: Any) -> bool:
    return getattr(obj, "__module__", "").split(".")[0] == "nhanh" and (
        inspect.isclass(obj) or inspect.isfunction(obj))


def family_tables() -> dict[str, dict[str, Any]]:
    """{Keras module: {name: nhanh object}} for every family, and "keras" for the top level."""
    global _tables
    if _tables is None:
        import nhanh
        from nhanh.models.functional import Functional

        tables: dict[str, dict[str, Any]] = {}
        for keras_module, module in FAMILIES.items():
            namespace = vars(importlib.import_module(module))
            tables[keras_module] = {k: v for k, v in namespace.items()
                                    if not k.startswith("_") and _own(v)}
        tables["keras"] = {name: getattr(nhanh, name, None) for name in _TOP_LEVEL}
        tables["keras"]["Functional"] = Functional
        tables["keras"] = {k: v for k, v in tables["keras"].items() if v is not None}
        for keras_module in ("keras", *FAMILIES):  # the top level first: Keras writes it so
            for name, obj in tables[keras_module].items():
                # (A class Keras exports under another name than its own says so in
                # `_keras_name`: GroupedQueryAttention is keras.layers.GroupQueryAttention.)
                if (getattr(obj, "__dict__", {}).get("_keras_name")
                        or getattr(obj, "__name__", name)) == name:
                    _public.setdefault(id(obj), (keras_module, name))
        _tables = tables
    return _tables


def public_name(obj: Any) -> tuple[str, str] | None:
    """(Keras module, name) of one of nhanh's public classes or functions, else None. A
    layer class made for the torch engine counts as the class it was made from."""
    family_tables()
    obj = obj.__dict__.get("_nhanh_base", obj) if inspect.isclass(obj) else obj
    return _public.get(id(obj))


# --- serializing ----------------------------------------------------------------------------
def serialize_keras_object(obj: Any) -> Any:
    """A JSON-ready description of `obj`, as Keras 3 writes it.

    Args:
        obj: A layer, model, loss, metric, optimizer, schedule, initializer, regularizer,
            constraint, dtype policy, function, or plain data (numbers, strings, lists, dicts,
            NumPy arrays, bytes, slices) holding them.
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):  # (tuples stay tuples, as in Keras; JSON lists them)
        return type(obj)(serialize_keras_object(x) for x in obj) if type(obj) in (
            list, tuple) else [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            k: serialize_keras_object(getattr(obj, k)) for k in ("start", "stop", "step")}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, (np.ndarray, np.generic)):
        if isinstance(obj, np.ndarray) and obj.ndim > 0:
            return {"class_name": "__numpy__",
                    "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
        return obj.item()
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        return _lambda_config(obj)
    if isinstance(obj, types.FunctionType) or (inspect.isclass(obj) and
                                               not hasattr(obj, "get_config")):
        return _function_config(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {obj!r} ({type(obj).__name__}): only objects with "
                        "get_config(), functions and plain data can be saved.")
    inner = obj.get_config()
    if not isinstance(inner, dict):
        raise TypeError(f"{type(obj).__name__}.get_config() must return a dict, got "
                        f"{type(inner).__name__}.")
    out = {**class_reference(type(obj)), "config": serialize_keras_object(inner)}
    out = {k: out[k] for k in ("module", "class_name", "config", "registered_name")}
    build = getattr(obj, "get_build_config", None)
    if build is not None and (build := build()) is not None:
        out["build_config"] = serialize_keras_object(build)
    compile_ = getattr(obj, "get_compile_config", None)
    if compile_ is not None and (compile_ := compile_()) is not None:
        out["compile_config"] = serialize_keras_object(compile_)
    return out


def class_reference(cls: type) -> dict:
    """{"module", "class_name", "registered_name"} for a class, as Keras writes them."""
    public = public_name(cls)
    if public is not None:
        module, name = public
        if name == "Functional":  # Keras records its inner module for this one
            return {"module": "keras.src.models.functional", "class_name": name,
                    "registered_name": name}
        return {"module": module, "class_name": name, "registered_name": None}
    cls = cls.__dict__.get("_nhanh_base", cls)
    module = None if cls.__module__ == "__main__" else cls.__module__
    return {"module": module, "class_name": cls.__name__,
            "registered_name": object_registration.get_registered_name(cls)}


def _function_config(fn) -> dict:
    public = public_name(fn)
    if public is not None:
        return {"module": public[0], "class_name": "function", "config": public[1],
                "registered_name": public[1]}
    registered = object_registration.get_registered_name(fn)
    return {"module": fn.__module__, "class_name": "function", "config": registered,
            "registered_name": registered}


def _lambda_config(fn) -> dict:
    """Keras's `__lambda__` entry: the function's bytecode, which only an unsafe load runs."""
    warnings.warn(
        "Saving a Python lambda stores its bytecode: loading it needs safe_mode=False, and "
        "only for a file you trust. A named function registered with "
        "nhanh.saving.register_keras_serializable loads safely.", stacklevel=3)
    code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
    closure = None if not fn.__closure__ else [c.cell_contents for c in fn.__closure__]
    return {"class_name": "__lambda__",
            "config": {"value": [code, serialize_keras_object(fn.__defaults__),
                                 serialize_keras_object(closure)]}}


# --- deserializing --------------------------------------------------------------------------
class UnsafeObjectError(ValueError):
    """A config named something loading must not resolve (a module, a utility, bytecode)."""


def deserialize_keras_object(config: Any, custom_objects: dict[str, Any] | None = None,
                             safe_mode: bool = True, **kwargs) -> Any:
    """The object a config (from `serialize_keras_object`, or Keras 3) describes.

    Args:
        config: The dict, or plain data holding such dicts.
        custom_objects: Your classes and functions by name (class name or registered name).
        safe_mode: Refuse Python bytecode (a saved lambda). Only turn it off for a file you
            trust.
    """
    check_depth(config, "config")
    # The caller's process-wide switch lifts safe mode too, as Keras's does (the argument
    # defaults to True, so the switch would otherwise never reach load_model).
    safe = bool(safe_mode) and not _config.is_unsafe_deserialization_enabled()
    if _local.safe_mode:  # a call made while loading (a layer's from_config) follows the load
        safe = _local.safe_mode[-1]
    with object_registration.CustomObjectScope(custom_objects), SafeModeScope(safe):
        return _deserialize(config)


def check_depth(config: Any, what: str, limit: int = MAX_DEPTH) -> None:
    """Refuse a config nested deeper than `limit` (iteratively: no recursion to exhaust)."""
    stack = [(config, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise ValueError(f"The {what} is nested more than {limit} levels deep; refusing "
                             "it (no model needs that, a crafted file might).")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, depth + 1) for v in value)


def _deserialize(config: Any) -> Any:
    if config is None or isinstance(config, (bool, int, float, str)):
        return config
    if isinstance(config, (list, tuple)):
        return [_deserialize(x) for x in config]
    if not isinstance(config, dict):
        raise TypeError(f"Could not read config {config!r}.")
    if "class_name" not in config or "config" not in config:
        return {k: _deserialize(v) for k, v in config.items()}
    name, inner = config["class_name"], config["config"]
    special = _SPECIAL.get(name)
    if special is not None:
        return special(inner if inner is not None else {})
    if name == "function":
        return resolve_function(config)
    cls = resolve_class(config)
    if not hasattr(cls, "from_config"):
        raise TypeError(f"{name} has no from_config(); it cannot be rebuilt from a config.")
    instance = cls.from_config(inner if inner is not None else {})
    build = config.get("build_config")
    if build and not getattr(instance, "built", True) and hasattr(instance,
                                                                  "build_from_config"):
        instance.build_from_config(build)
    compile_ = config.get("compile_config")
    if compile_ and hasattr(instance, "compile_from_config"):
        instance.compile_from_config(compile_)
    return instance


def _lambda(inner: dict):
    if in_safe_mode():
        raise UnsafeObjectError(
            "The config holds a Python lambda's bytecode; running it could run any code, so "
            "it is refused in safe mode. If you trust the file, load it with "
            "safe_mode=False (or call nhanh.config.enable_unsafe_deserialization()).")
    code, defaults, closure = inner["value"]
    code = marshal.loads(base64.decodebytes(code.encode("ascii")))
    cells = None if closure is None else tuple(types.CellType(c) for c in closure)
    return types.FunctionType(code, globals(), code.co_name,
                              tuple(defaults) if defaults else None, cells)


#: The most bytes an array written inside a config may take once built.
MAX_ARRAY_BYTES = 64 << 20


def _array(inner: dict) -> np.ndarray:
    """A `__numpy__` entry's array, its size checked before it is built: a few bytes of JSON
    naming dtype "U4000000000" or "(10**9,)f4" would otherwise allocate gigabytes."""
    try:
        dtype = np.dtype(inner["dtype"])
        value = np.asarray(inner["value"])
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(f"Could not read an array entry of the config (dtype "
                         f"{inner.get('dtype')!r}): {error}.") from None
    if value.size * dtype.itemsize > MAX_ARRAY_BYTES or dtype.itemsize > MAX_ARRAY_BYTES:
        raise UnsafeObjectError(
            f"An array entry of the config declares dtype {inner['dtype']!r} for "
            f"{value.size} value(s), {value.size * max(dtype.itemsize, 1)} bytes once built "
            f"(more than {MAX_ARRAY_BYTES}); refusing it (arrays in a config are small, a "
            "crafted file's need not be).")
    return np.array(value, dtype=dtype)


def _refuse(kind: str):
    def refuse(inner):
        raise UnsafeObjectError(f"The config holds a {kind}, which nhanh does not load.")
    return refuse


_SPECIAL = {
    "__bytes__": lambda c: c["value"].encode("utf-8"),
    "__numpy__": lambda c: _array(c),
    "__tensor__": lambda c: _array(c),
    "__ellipsis__": lambda c: Ellipsis,
    "__slice__": lambda c: slice(*(_deserialize(c.get(k)) for k in ("start", "stop", "step"))),
    "__lambda__": _lambda,
    "__typespec__": _refuse("TensorFlow TypeSpec"),
}


def _family(module: str | None) -> str | None:
    """The Keras family module a config's module names ("keras.src.layers.core.dense" ->
    "keras.layers"; "nhanh.losses" -> "keras.losses"), "keras" for the top level, or None."""
    if not module:
        return None
    parts = module.split(".")
    if parts[0] not in ("keras", "nhanh"):
        return None
    if parts[1:2] == ["src"]:
        parts = parts[:1] + parts[2:]
        if parts[1:2] == ["models"]:
            return "keras"
    if len(parts) == 1:
        return "keras"
    two = "keras." + ".".join(parts[1:3])
    if two in FAMILIES:
        return two
    one = "keras." + parts[1]
    return one if one in FAMILIES else None


def user_object(config: dict):
    for key in (config.get("registered_name"), config["class_name"],
                config["config"] if config["class_name"] == "function" else None):
        if isinstance(key, str):
            found = object_registration.get_registered_object(key)
            if found is not None:
                return found
    return None


def resolve_class(config: dict, family: str | None = None) -> type:
    """The class a config names: the user's (custom objects, scopes, registered) first, then
    nhanh's public class of the module's family (or of `family`). Anything else is refused."""
    found = user_object(config)
    if found is not None:
        return found
    name, module = config["class_name"], config.get("module")
    fam = _family(module) if module else family
    if fam is None and module is None and family is None:
        fam = "keras.layers" if name in family_tables()["keras.layers"] else None
    tables = family_tables()
    if fam is not None:
        for table in (tables[fam], tables["keras"]) if fam != "keras" else (tables["keras"],
                                                                           tables["keras.layers"]):
            obj = table.get(name)
            if inspect.isclass(obj):
                return obj
    where = f"module {module!r}" if module else "no module"
    raise UnsafeObjectError(
        f"Refused to load class {name!r} ({where}): configs may name only nhanh's own public "
        "classes (Keras's built-in names) and the classes you pass as custom_objects or "
        "register with nhanh.saving.register_keras_serializable; nothing is imported by the "
        f"name a file gives. If {name!r} is your class, pass custom_objects={{{name!r}: "
        f"{name}}}.")


def resolve_function(config: dict) -> Any:
    """The function a `{"class_name": "function"}` config names, by the same rule."""
    found = user_object(config)
    if found is not None:
        return found
    name, module = config.get("config"), config.get("module")
    fam = _family(module)
    if fam is not None and fam != "keras" and isinstance(name, str):
        obj = family_tables()[fam].get(name)
        if inspect.isfunction(obj):
            return obj
    if module == "builtins" and isinstance(name, str):  # how Keras's Lambda writes Keras's own
        for fam in _BUILTIN_FAMILIES:                   # functions: by name, searched as Keras
            obj = family_tables()[fam].get(name)       # does, in its built-in families only
            if inspect.isfunction(obj):
                return obj
    raise UnsafeObjectError(
        f"Refused to load function {name!r} from module {module!r}: configs may name only "
        "nhanh's activations, losses and metrics, and the functions you pass as "
        "custom_objects or register with nhanh.saving.register_keras_serializable; nothing "
        "is imported by the name a file gives.")
