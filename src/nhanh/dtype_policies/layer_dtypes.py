"""What a layer does with its dtype policy: the properties Keras layers have, input casting, and
the autocast of its weights while call() runs.

Kept here so the Layer base stays about building and calling; `Layer` inherits `LayerDTypes`
and calls `convert_call_args` and `enter_call` / `exit_call` around call().

As in Keras 3:
- `dtype=` takes None (the global policy), a dtype or policy name, a config dict, a
  DTypePolicy or a DTypePolicyMap (looked up by the layer's name);
- `layer.dtype` is the variable dtype; weights are created in it;
- floating inputs (tensors and arrays, positional or keyword) are cast to the compute dtype;
  integer and boolean ones are not;
- while call() runs, floating weights read in the compute dtype when it differs from the
  variable dtype (the cast is an op, so gradients reach the float32 weight). A layer whose
  `autocast` is False (the normalization layers, which compute their statistics in float32)
  reads its weights as stored, and so do the layers it calls.
"""

from __future__ import annotations

import numpy as np

from nhanh import variables
from nhanh.dtype_policies.dtype_policy import DTypePolicy
from nhanh.dtype_policies.dtype_policy_map import DTypePolicyMap
from nhanh.dtypes import is_float_dtype


def policy_of(dtype) -> DTypePolicy:
    """The policy a layer's `dtype=` argument means (None: the global policy)."""
    from nhanh import dtype_policies

    try:
        return dtype_policies.get(dtype)
    except ValueError as e:
        raise ValueError(f"Invalid `dtype` argument {dtype!r} for a layer: {e}") from None


class LayerDTypes:
    """The dtype side of a layer: its policy, and the dtypes that follow from it."""

    #: Whether floating inputs are cast to the compute dtype and weights read in it during
    #: call() (Keras's `autocast`); layers that compute in float32 themselves turn it off.
    autocast = True
    #: Whether __call__ converts the call's arguments at all (models convert per layer).
    _convert_input_args = True

    def _policy(self) -> DTypePolicy:
        """The policy that applies to this layer (its entry, when it has a map)."""
        policy = self.dtype_policy
        if isinstance(policy, DTypePolicyMap):
            return policy[getattr(self, "path", None) or self.__dict__.get("name", "")]
        return policy

    @property
    def dtype_policy(self) -> DTypePolicy:
        """The layer's DTypePolicy (a DTypePolicyMap as given, when it was given one)."""
        policy = self.__dict__.get("_dtype_policy")
        if policy is None:  # a subclass that reads it before Layer.__init__ ran
            policy = policy_of(None)
            object.__setattr__(self, "_dtype_policy", policy)
        return policy

    @dtype_policy.setter
    def dtype_policy(self, value) -> None:
        policy = policy_of(value)
        current = self.__dict__.get("_dtype_policy")
        if isinstance(current, DTypePolicyMap) and not isinstance(policy, DTypePolicyMap):
            name = self.__dict__.get("name", "")
            if name in current:
                del current[name]
            current[name] = policy
        else:
            object.__setattr__(self, "_dtype_policy", policy)

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights (Keras: an alias of `variable_dtype`)."""
        return self._policy().variable_dtype

    @dtype.setter
    def dtype(self, value) -> None:
        self.dtype_policy = value

    @property
    def variable_dtype(self) -> str:
        """The dtype the layer's weights are created and stored in."""
        return self._policy().variable_dtype

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's computation and outputs (its floating inputs' dtype)."""
        return self._policy().compute_dtype

    @property
    def input_dtype(self) -> str:
        """The dtype floating inputs are cast to."""
        return self.compute_dtype

    @property
    def quantization_mode(self) -> None:
        """Always None: nhanh has no quantized layers."""
        return None


def convert_call_args(layer, inputs, args: tuple, kwargs: dict, to_tensors):
    """The call's inputs, args and kwargs with floating arrays and tensors in the layer's
    input dtype (arrays become tensors); `to_tensors(x, dtype)` converts the main input."""
    from nhanh import ops

    if not layer._convert_input_args:
        return to_tensors(inputs, layer.dtype), args, kwargs
    dtype = layer.input_dtype if layer.autocast else layer.dtype
    inputs = _cast_floats(to_tensors(inputs, dtype), dtype, ops) if layer.autocast else \
        to_tensors(inputs, dtype)
    if layer.autocast and (args or kwargs):
        args = tuple(_cast_floats(a, dtype, ops, convert=True) for a in args)
        kwargs = {k: _cast_floats(v, dtype, ops, convert=True) for k, v in kwargs.items()}
    return inputs, args, kwargs


def _cast_floats(x, dtype: str, ops, convert: bool = False):
    if isinstance(x, (list, tuple)):
        return type(x)(_cast_floats(i, dtype, ops, convert) for i in x)
    if isinstance(x, dict):
        return {k: _cast_floats(v, dtype, ops, convert) for k, v in x.items()}
    if isinstance(x, variables.Variable):
        x = x.value
    if convert and isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return ops.convert_to_tensor(x, dtype)
    if ops.is_tensor(x):
        current = ops.dtype(x)
        if current != dtype and current in _FLOATS:
            return ops.cast(x, dtype)
    return x


_FLOATS = frozenset({"float16", "bfloat16", "float32", "float64"})
_UNCHANGED = (False, None)


def enter_call(layer) -> tuple:
    """Start autocasting the layer's weights as Keras's AutocastScope does; returns the token
    for `exit_call`. (Called on every layer call: kept cheap for the float32 case.)"""
    current = variables.autocast_dtype()
    policy = layer._policy() if layer.autocast else None
    if policy is None or policy.compute_dtype not in _FLOATS:
        new = None
    elif current is not None or policy.compute_dtype != policy.variable_dtype:
        new = policy.compute_dtype
    else:
        return _UNCHANGED
    if new == current:
        return _UNCHANGED
    return (True, variables.set_autocast_dtype(new))


def exit_call(token: tuple) -> None:
    """Restore the autocast setting from before `enter_call`."""
    if token[0]:
        variables.set_autocast_dtype(token[1])


def serialize(policy: DTypePolicy) -> dict:
    """The policy as a layer config's "dtype" entry (Keras 3's form)."""
    from nhanh import dtype_policies

    return dtype_policies.serialize(policy)


def inference_dtype(layer, dtype: str) -> str:
    """The dtype an input of `dtype` has inside the layer's call (for shape inference)."""
    if layer.autocast and layer._convert_input_args and is_float_dtype(dtype):
        return layer.input_dtype
    return dtype


def call_autocast(layer, fn, *args, **kwargs):
    """fn(*args, **kwargs) with the layer's weights read as its call() reads them."""
    token = enter_call(layer)
    try:
        return fn(*args, **kwargs)
    finally:
        exit_call(token)
