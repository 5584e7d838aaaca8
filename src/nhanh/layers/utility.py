"""Small utility layers: Lambda (a Python function as a layer), Identity, Rescaling."""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable

import numpy as np

from nhanh import config, ops
from nhanh.layers.layer import Layer

LAMBDA_MARKER = "__lambda__"


class Lambda(Layer):
    """Wraps `function(inputs, **arguments)` as a layer, for quick stateless transformations.

    The function must use `nhanh.ops` (so it runs on every backend and inside compiled steps)
    and must not create state: Lambda has no weights, so anything trainable belongs in a
    subclass of Layer. If the function accepts `mask` or `training`, it receives them.

    Saving: a named function is stored by reference (module and name) and restored only from
    `custom_objects`, the registered objects, or nhanh's own ops, activations, losses and
    metrics: nothing is imported or looked up by the path a file gives (a config naming
    `nhanh.saving.archive` + `os.environ.update` is refused, not followed). A lambda or nested
    function is stored as Keras 3 stores it, as bytecode (`__lambda__`: code, defaults,
    closure), with a warning; loading it runs that code, so `from_config` refuses it unless
    the caller turned safe mode off (`safe_mode=False` to the loading function, or
    `nhanh.config.enable_unsafe_deserialization()`) or passes the function again as
    `custom_objects`. A file cannot switch safe mode off (Keras's CVE-2024-3660,
    CVE-2025-1550, CVE-2025-9906). Write a Layer subclass for anything you share.

    Args:
        function: Callable taking the inputs (and the keywords in `arguments`, plus `mask` and
            `training` if it names them) and returning the outputs.
        output_shape: The output shape without the batch axis (a tuple), or a function of the input
            shape returning the full output shape; `None` infers it by tracing `function`.
        mask: The output mask: a fixed value, or a function `(inputs, mask) -> mask`; `None` gives
            no output mask.
        arguments: Dict of extra keyword arguments passed to `function` on every call.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, function: Callable, output_shape=None, mask=None,
                 arguments: dict[str, Any] | None = None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {function!r}.")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda: arguments must be a dict of keyword arguments for the "
                            f"function, got {arguments!r}.")
        self.function, self.arguments = function, dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        params = _parameters(function)
        self._wants_mask, self._wants_training = "mask" in params, "training" in params

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._wants_mask:
            kwargs["mask"] = mask
        if self._wants_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        if self._output_shape is not None:
            batch = input_shape[0] if input_shape and not isinstance(input_shape[0], (
                tuple, list)) else input_shape[0][0]
            return (batch, *tuple(self._output_shape))
        try:
            return super().compute_output_shape(input_shape)
        except Exception as e:
            raise NotImplementedError(
                f"Lambda layer {self.name!r} could not infer the output shape of its function "
                f"for input shape {input_shape} ({type(e).__name__}: {e}). Pass output_shape= "
                "(without the batch axis) or a function of the input shape.") from e

    def get_config(self) -> dict:
        config_ = {**super().get_config(),
                   "function": _function_config(self.name, self.function),
                   "arguments": self.arguments}
        if self._output_shape is not None:
            config_["output_shape"] = (_function_config(self.name, self._output_shape)
                                       if callable(self._output_shape)
                                       else list(self._output_shape))
        if self.mask is not None:
            config_["mask"] = (_function_config(self.name, self.mask) if callable(self.mask)
                               else self.mask)
        return config_

    @classmethod
    def from_config(cls, config_: dict, custom_objects: dict[str, Any] | None = None,
                    safe_mode: bool | None = None) -> "Lambda":
        """The layer a config describes; `safe_mode` None follows the loading call's."""
        config_ = dict(config_)
        for key in ("function", "output_shape", "mask"):
            value = config_.get(key)
            if isinstance(value, dict) and "class_name" in value:
                config_[key] = _resolve_function(config_.get("name"), key, value,
                                                 custom_objects or {}, safe_mode)
        if isinstance(config_.get("output_shape"), list):
            config_["output_shape"] = tuple(config_["output_shape"])
        return cls(**config_)


def _parameters(fn: Callable) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _function_config(layer_name: str, fn: Callable) -> dict:
    """A reference to a named function, or for a lambda / nested function Keras's
    `__lambda__` record (bytecode, which only an unsafe load runs), with a warning."""
    qualname = getattr(fn, "__qualname__", None) or type(fn).__name__
    name = getattr(fn, "__name__", None) or qualname
    module = getattr(fn, "__module__", None)
    if module and inspect.isfunction(fn) and "<" not in qualname:
        from nhanh.saving import serialization_lib as lib
        from nhanh.saving.object_registration import get_registered_name

        public = lib.public_name(fn)  # nhanh's own: Keras's spelling ("keras.activations")
        if public is not None:
            return {"module": public[0], "class_name": "function", "config": public[1],
                    "registered_name": public[1]}
        # A registered function by its "package>name", the key Keras looks it up by too.
        registered = get_registered_name(fn)
        registered = qualname if registered == name else registered
        return {"module": module, "class_name": "function", "config": registered,
                "registered_name": registered}
    warnings.warn(
        f"Lambda layer {layer_name!r} wraps {qualname!r}, a lambda or nested function: its "
        "config stores the function's bytecode, which cannot be restored in safe mode "
        "(running code from a file could do anything). Loading it needs safe_mode=False, for "
        f"a file you trust, or the function again as custom_objects={{{name!r}: "
        "the_function}. Use a named module-level function or a Layer subclass for a layer "
        "you share.", stacklevel=3)
    try:
        source = inspect.getsource(fn).strip()
    except (OSError, TypeError):
        source = None
    return {"class_name": LAMBDA_MARKER,
            "config": {**_dump_code(fn), "name": name, "qualname": qualname,
                       "source": source}}


def _dump_code(fn: Callable) -> dict:
    """Keras's `code`, `defaults` and `closure` entries; {} when `fn` has none that JSON
    can hold (then only custom_objects can restore it)."""
    import base64
    import marshal
    import types

    from nhanh.saving.serialization_lib import serialize_keras_object

    if not isinstance(fn, types.FunctionType):
        return {}
    try:
        closure = None if not fn.__closure__ else [serialize_keras_object(c.cell_contents)
                                                   for c in fn.__closure__]
        defaults = serialize_keras_object(fn.__defaults__)
    except (TypeError, ValueError):
        return {}
    return {"code": base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii"),
            "defaults": defaults, "closure": closure}


def _load_code(layer_name, key: str, record: dict) -> Callable:
    """The function a `__lambda__` record's bytecode makes (only ever after the safe-mode
    check). Its globals are nhanh's namespaces: `ops`, `np`, and `keras` standing for nhanh."""
    import base64
    import builtins
    import marshal
    import types

    import nhanh
    from nhanh.saving.serialization_lib import deserialize_keras_object

    code, defaults, closure = (record["value"] if "value" in record else
                               (record.get("code"), record.get("defaults"),
                                record.get("closure")))
    if not isinstance(code, str):
        raise ValueError(f"Lambda layer {layer_name!r}: its {key} record holds no bytecode.")
    code = marshal.loads(base64.decodebytes(code.encode("ascii")))
    defaults = deserialize_keras_object(defaults, safe_mode=False)
    closure = deserialize_keras_object(closure, safe_mode=False)
    cells = None if not closure else tuple(types.CellType(c) for c in closure)
    namespace = {"__builtins__": builtins, "ops": ops, "np": np, "nhanh": nhanh,
                 "keras": nhanh}
    return types.FunctionType(code, namespace, code.co_name,
                              tuple(defaults) if defaults else None, cells)


def _resolve_function(layer_name, key: str, spec: dict, custom_objects: dict,
                      safe_mode: bool | None = None) -> Callable:
    from nhanh.saving import serialization_lib as lib
    from nhanh.saving.object_registration import get_registered_object

    if spec["class_name"] == LAMBDA_MARKER:
        record = spec.get("config") or {}
        name = record.get("name") or "<lambda>"
        found = get_registered_object(name, custom_objects)
        if found is not None:
            return found
        if "code" not in record and "value" not in record:
            raise ValueError(
                f"Lambda layer {layer_name!r}: its {key} was the Python lambda or nested "
                f"function {name!r}, which this config cannot restore (it holds no bytecode, "
                "and running its stored source would be unsafe). Pass it again: "
                f"Lambda.from_config(config, custom_objects={{{name!r}: fn}}), or rewrite it "
                "as a named module-level function or a Layer subclass.")
        unsafe_allowed = (safe_mode is False) if safe_mode is not None else \
            not lib.in_safe_mode()
        if not unsafe_allowed:
            raise lib.UnsafeObjectError(
                f"Lambda layer {layer_name!r}: its {key} is a Python lambda stored as "
                "bytecode; running code from a file is unsafe, so safe mode refuses it. If you "
                "trust the file, load it with safe_mode=False (or call "
                "nhanh.config.enable_unsafe_deserialization()); or give the function again as "
                f"custom_objects={{{name!r}: fn}}.")
        return _load_code(layer_name, key, record)
    name, module = spec.get("config"), spec.get("module") or ""
    if isinstance(name, str):
        found = get_registered_object(name, custom_objects)
        if found is not None:
            return found
        try:  # the user's registered objects, nhanh's activations, losses and metrics
            return lib.resolve_function(spec)
        except lib.UnsafeObjectError:
            pass
        found = _nhanh_op(module, name)
        if found is not None:
            return found
    raise lib.UnsafeObjectError(
        f"Lambda layer {layer_name!r}: refused to restore its {key}, the function "
        f"{module}.{name}: a config may name only nhanh's ops, activations, losses and "
        "metrics and the functions you pass or register; nothing is imported or looked up by "
        "the path a file gives (that would let a file run any function). If it is yours, "
        f"pass custom_objects={{{str(name).split('.')[-1]!r}: the_function}}.")


def _nhanh_op(module: str, name: str) -> Callable | None:
    """`nhanh.ops.<name>` for a config naming nhanh's or Keras's ops module and a plain name."""
    parts = module.split(".")
    if parts[:2] not in (["nhanh", "ops"], ["keras", "ops"]) and parts[:3] != ["keras", "src",
                                                                            "ops"]:
        return None
    if not name.isidentifier() or name.startswith("_"):
        return None
    found = vars(ops).get(name)
    if inspect.isfunction(found) and found.__module__.split(".")[:2] == ["nhanh", "ops"]:
        return found
    return None


class Identity(Layer):
    """Returns its inputs unchanged (a placeholder, e.g. for an optional block).

    Args:
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class Rescaling(Layer):
    """outputs = inputs * scale + offset, in the layer's dtype; e.g. Rescaling(1 / 255) maps
    uint8 pixels to [0, 1], Rescaling(1 / 127.5, offset=-1) to [-1, 1].

    `scale` and `offset` may be numbers or per-channel lists; with
    image_data_format 'channels_first' a per-channel scale applies to axis -3.

    Args:
        scale: Number or list of numbers (one per channel) multiplying the inputs.
        offset: Number or list of numbers (one per channel) added after scaling.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = _number_or_list(scale, "scale"), _number_or_list(offset,
                                                                                  "offset")

    def call(self, inputs):
        x = inputs if ops.dtype(inputs) == self.dtype else ops.cast(inputs, self.dtype)
        scale = np.asarray(self.scale, dtype=self.dtype)
        if scale.ndim > 0 and config.image_data_format() == "channels_first":
            scale = scale.reshape(scale.shape + (1,) * (3 - scale.ndim))
        offset = np.asarray(self.offset, dtype=self.dtype)
        return x * ops.convert_to_tensor(scale, self.dtype) + ops.convert_to_tensor(offset,
                                                                                    self.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


def _number_or_list(value, name: str):
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"Rescaling: {name} must be a number or a list of numbers, got "
                        f"{name}={value!r}.")
    return float(array) if array.ndim == 0 else array.astype(float).tolist()
