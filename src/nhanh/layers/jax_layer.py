"""JaxLayer: a pure JAX model function used as an nhanh layer (JAX engine only).

The model's params (trainable) and state (non-trainable) become nhanh Variables, kept in the
model's own pytree layout, so `fit` differentiates and updates them in its compiled step. Each
call hands `call_fn` the Variables' current values by argument name, as Keras does: `params`,
`state`, `rng` (a fresh raw uint32 key in training, `None` in inference), `inputs` and
`training`. A `call_fn` with `state` returns `(outputs, new_state)`; the new state is assigned.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np

from nhanh import backend as _backend
from nhanh import random as _random
from nhanh.layers import symbolic
from nhanh.layers.layer import Layer
from nhanh.random import SeedGenerator
from nhanh.variables import Variable

_CALL_ARGS = {"params", "state", "rng", "inputs", "training"}
_INIT_ARGS = {"rng", "inputs", "training"}


def _engine_module(owner: str):
    name = _backend.get().NAME
    if name != "jax":
        raise ValueError(
            f"{owner} runs only on the JAX engine, but the current engine is {name!r}. Switch "
            "with nhanh.config.set_backend('jax') (or NHANH_BACKEND=jax) before building the "
            "model; on PyTorch, wrap a torch.nn.Module with TorchModuleWrapper instead.")
    return importlib.import_module("nhanh.backend.jax.module_wrapping")


def _argument_names(fn, fn_name: str, allowed: set, required: set) -> list[str]:
    if not callable(fn):
        raise TypeError(f"JaxLayer: `{fn_name}` must be a function, got {type(fn).__name__}.")
    names = list(inspect.signature(fn).parameters)
    unknown = [n for n in names if n not in allowed]
    missing = [n for n in sorted(required) if n not in names]
    if unknown or missing:
        raise ValueError(
            f"JaxLayer: `{fn_name}` must take arguments named among {sorted(allowed)} "
            f"({', '.join(sorted(required))} required), but its signature is "
            f"{fn_name}({', '.join(names)}). Wrap it in a function with those argument names.")
    return names


class JaxLayer(Layer):
    """Wraps a pure JAX model `call_fn` whose params are trained as nhanh weights.

    Args:
        call_fn: `fn(params, state, rng, inputs, training)`, any subset of those argument
            names with `inputs` required; returns the outputs, or `(outputs, new_state)` when
            it takes `state`.
        init_fn: `fn(rng, inputs, training)` (`inputs` required) returning the initial
            `params`, or `(params, state)` when `call_fn` takes `state`; called at build on
            placeholder inputs of the input shape, with `training=True`.
        params: Initial params (a pytree of arrays), instead of `init_fn`.
        state: Initial non-trainable state (a pytree of arrays).
        seed: Seed of the keys passed as `rng` in training; `None` draws one.
        **kwargs: Base-layer keywords (`name`, `trainable`, `dtype`, ...).
    """

    def __init__(self, call_fn, init_fn=None, params=None, state=None, seed=None, **kwargs):
        self._engine = _engine_module(type(self).__name__)
        super().__init__(**kwargs)
        self.call_fn = call_fn
        self.init_fn = init_fn
        self.call_fn_arguments = _argument_names(call_fn, "call_fn", _CALL_ARGS, {"inputs"})
        self.init_fn_arguments = None if init_fn is None else _argument_names(
            init_fn, "init_fn", _INIT_ARGS, {"inputs"})
        self._has_state = "state" in self.call_fn_arguments
        needs_weights = "params" in self.call_fn_arguments or self._has_state
        if init_fn is None and params is None and state is None and needs_weights:
            raise ValueError("JaxLayer: `init_fn`, `params` and `state` are all None, but "
                             "`call_fn` takes `params` or `state`. Pass the initial `params` "
                             "(and `state`), or an `init_fn` that makes them.")
        self.seed_generator = SeedGenerator(seed) if "rng" in self.call_fn_arguments else None
        self.params = self._variables(params, trainable=True)
        self.state = self._variables(state, trainable=False)
        if params is not None or state is not None:
            self.built = True

    def _variables(self, values, trainable: bool):
        """The pytree `values` with each array leaf replaced by a new weight of this layer."""
        if values is None:
            return None

        def make(value):
            if not self._engine.is_array(value):
                return value  # configuration, passed to call_fn as it is
            array = np.asarray(value)
            dtype = self.dtype if array.dtype.kind == "f" else str(array.dtype)
            variable = Variable(value, shape=array.shape, dtype=dtype, trainable=trainable,
                                name=f"{self.name}/{'params' if trainable else 'state'}_"
                                     f"{len(self._own_weights)}")
            self._own_weights.append(variable)
            return variable

        return self._engine.tree_map(make, values)

    def build(self, input_shape) -> None:
        needs_weights = "params" in self.call_fn_arguments or self._has_state
        if self.params is not None or self.state is not None or not needs_weights:
            return
        inputs = symbolic.map_structure_shapes(self._engine.placeholder, input_shape)
        seed = np.array([_random.draw_seed() % 2**31, 0], dtype="int32")
        given = {"rng": self._init_rng(self._engine.as_key(seed)), "inputs": inputs,
                 "training": True}
        result = self.init_fn(*[given[n] for n in self.init_fn_arguments])
        params, state = result if self._has_state else (result, None)
        self.params = self._variables(params, trainable=True)
        self.state = self._variables(state, trainable=False)

    def _init_rng(self, key):
        """What init_fn gets as `rng` (a subclass may wrap the key, e.g. Flax's rng dict)."""
        return key

    def _call_rng(self, key):
        """What call_fn gets as `rng`: a fresh key in training, None in inference."""
        return key

    def call(self, inputs, training=None):
        training = bool(training)  # None (not given) is inference, as Keras's default False
        read = self._engine.tree_map
        given = {"inputs": inputs, "training": training,
                 "params": read(_value, self.params), "state": read(_value, self.state)}
        if "rng" in self.call_fn_arguments:
            given["rng"] = self._call_rng(
                self._engine.as_key(self.seed_generator.next()) if training else None)
        result = self.call_fn(*[given[n] for n in self.call_fn_arguments])
        if not self._has_state:
            return result
        outputs, new_state = result
        self._engine.tree_map(_assign, new_state, self.state)
        return outputs

    def get_config(self) -> dict:
        """Keras's keys: `call_fn` and `init_fn` by reference (module and name), as Lambda
        stores its function; params and state travel as weights, not in the config."""
        from nhanh.layers.utility import _function_config

        functions = {key: None if fn is None else _function_config(self.name, fn)
                     for key, fn in (("call_fn", self.call_fn), ("init_fn", self.init_fn))}
        return {**super().get_config(), **functions}

    @classmethod
    def from_config(cls, config_: dict, custom_objects: dict | None = None) -> "JaxLayer":
        """The functions come back from `custom_objects` (or nhanh itself), never by importing
        the module a config names."""
        from nhanh.layers.utility import _resolve_function

        config_ = dict(config_)
        config_.pop("native_serialization_platforms", None)  # Keras's jax2tf export setting
        for key in ("call_fn", "init_fn"):
            if isinstance(config_.get(key), dict):
                config_[key] = _resolve_function(config_.get("name"), key, config_[key],
                                                 custom_objects or {})
        return cls(**config_)


def _value(leaf):
    return leaf.value if isinstance(leaf, Variable) else leaf


def _assign(value, variable):
    if not isinstance(variable, Variable):
        raise ValueError("JaxLayer: the state `call_fn` returned does not have the structure "
                         "of the initial state (a leaf that was not an array now gets a "
                         f"value, {type(value).__name__}). Return the state in the layout "
                         "`init_fn` or `state=` gave it.")
    variable.assign(value)
