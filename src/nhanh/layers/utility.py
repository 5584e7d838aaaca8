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

    Saving: a Python function cannot be saved and restored safely. `get_config()` stores a
    named module-level function by reference (module and name); `from_config` resolves it only
    from `custom_objects` or from nhanh itself, never by importing arbitrary modules or running
    stored code. A lambda or a nested function cannot be stored at all: `get_config()` warns and
    records only its name and source text (for people to read), and `from_config` raises unless
    `custom_objects` gives the function again. Write a Layer subclass for anything you need to
    save and load.

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
    def from_config(cls, config_: dict, custom_objects: dict[str, Any] | None = None
                    ) -> "Lambda":
        config_ = dict(config_)
        for key in ("function", "output_shape", "mask"):
            value = config_.get(key)
            if isinstance(value, dict) and "class_name" in value:
                config_[key] = _resolve_function(config_.get("name"), key, value,
                                                 custom_objects or {})
        if isinstance(config_.get("output_shape"), list):
            config_["output_shape"] = tuple(config_["output_shape"])
        return cls(**config_)


def _parameters(fn: Callable) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _function_config(layer_name: str, fn: Callable) -> dict:
    """A reference to an importable function, or for a lambda / nested function a record that
    cannot be restored from the config alone (with a warning saying so)."""
    qualname = getattr(fn, "__qualname__", None) or type(fn).__name__
    name = getattr(fn, "__name__", None) or qualname
    module = getattr(fn, "__module__", None)
    if module and inspect.isfunction(fn) and "<" not in qualname:
        return {"module": module, "class_name": "function", "config": qualname,
                "registered_name": qualname}
    warnings.warn(
        f"Lambda layer {layer_name!r} wraps {qualname!r}, a lambda or nested function: it "
        "cannot be restored from the config, which records only its name and source text "
        "(running stored code would be unsafe). from_config needs it again as "
        f"custom_objects={{{name!r}: the_function}}. Use a named module-level function or a "
        "Layer subclass for a layer you save.", stacklevel=3)
    try:
        source = inspect.getsource(fn).strip()
    except (OSError, TypeError):
        source = None
    return {"class_name": LAMBDA_MARKER,
            "config": {"name": name, "qualname": qualname, "source": source}}


def _resolve_function(layer_name, key: str, spec: dict, custom_objects: dict) -> Callable:
    if spec["class_name"] == LAMBDA_MARKER:
        name = (spec.get("config") or {}).get("name") or "<lambda>"
        if name in custom_objects:
            return custom_objects[name]
        raise ValueError(
            f"Lambda layer {layer_name!r}: its {key} was the Python lambda or nested function "
            f"{name!r}, which a config cannot restore (running its stored source would be unsafe). "
            f"Pass it again: Lambda.from_config(config, custom_objects={{{name!r}: fn}}), or "
            "rewrite it as a named module-level function or a Layer subclass.")
    name, module = spec.get("config"), spec.get("module", "")
    if name in custom_objects:
        return custom_objects[name]
    if module == "nhanh" or module.startswith("nhanh."):
        import importlib

        target = importlib.import_module(module)
        for part in name.split("."):
            target = getattr(target, part, None)
        if callable(target):
            return target
    raise ValueError(
        f"Lambda layer {layer_name!r}: cannot restore its {key}, the function {module}.{name}: "
        "functions outside nhanh are not imported from configs (that would run arbitrary code). "
        f"Pass it: Lambda.from_config(config, custom_objects={{{name!r}: {name.split('.')[-1]}}}).")


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
