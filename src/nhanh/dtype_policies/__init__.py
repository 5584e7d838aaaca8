"""Dtype policies (keras.dtype_policies): what dtype a layer computes in and stores weights in.

Configs are written as Keras 3 writes them ({"module": "keras", "class_name": "DTypePolicy",
"config": {"name": ...}, "registered_name": None}), so layer configs travel both ways. The
quantized policies (Int4, GPTQ, AWQ, QuantizedDTypePolicy, ...) belong to quantization, which
nhanh does not have: asking for one says so.
"""

from __future__ import annotations

from typing import Any

from nhanh import keras_names as _keras_names
from nhanh.dtype_policies import dtype_policy as _policy
from nhanh.dtype_policies.dtype_policy import DTypePolicy, FloatDTypePolicy
from nhanh.dtype_policies.dtype_policy_map import DTypePolicyMap

ALL_OBJECTS_DICT = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy,
                    "DTypePolicyMap": DTypePolicyMap}
_MODULES = {DTypePolicyMap: "keras.dtype_policies"}
_QUANTIZED = ("int8", "float8", "int4", "gptq", "awq")


def serialize(policy: DTypePolicy) -> dict:
    """A policy's config as Keras 3 writes it (module, class_name, config, registered_name).

    Args:
        policy: The `DTypePolicy` (or `DTypePolicyMap`) to describe.
    """
    if not isinstance(policy, DTypePolicy):
        raise TypeError(f"serialize: expected a DTypePolicy, got {policy!r} "
                        f"({type(policy).__name__}).")
    cls = type(policy)
    return {"module": _MODULES.get(cls, "keras"),
            "class_name": "DTypePolicy" if cls is FloatDTypePolicy else cls.__name__,
            "config": policy.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None) -> DTypePolicy:
    """The policy of a config that `serialize` (or Keras 3) wrote.

    Args:
        config: The dict `serialize` returns.
        custom_objects: Extra policy classes by class name.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a dict with 'class_name' and 'config' (as "
                         f"serialize writes), got {config!r}.")
    classes = {**ALL_OBJECTS_DICT, **(custom_objects or {})}
    name = config["class_name"]
    if name not in classes:
        raise ValueError(
            f"deserialize: unknown dtype policy class {name!r}; nhanh has "
            f"{', '.join(sorted(ALL_OBJECTS_DICT))} (quantized policies are not part of "
            "nhanh). Pass custom_objects={name!r: cls} for your own.")
    cls = classes[name]
    inner = config.get("config") or {}
    if cls is DTypePolicyMap:
        return cls.from_config(inner, custom_objects)
    return cls.from_config(inner)


def get(identifier: Any) -> DTypePolicy:
    """A policy from None (the global one), a name, a config dict, a dtype, or a policy.

    Args:
        identifier: `None`, "mixed_bfloat16" / "float32" / ..., a dict that `serialize`
            wrote, a NumPy / JAX / PyTorch dtype, or a `DTypePolicy` (returned as it is).
    """
    if identifier is None:
        return _policy.dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.startswith(_QUANTIZED):
            raise ValueError(f"Dtype policy {identifier!r} is a quantized policy; nhanh does "
                             "not have quantization. Use a float policy such as 'float32' or "
                             "'mixed_bfloat16'.")
        return DTypePolicy(identifier)
    from nhanh.utils.dtype_utils import standardize_dtype

    try:
        return DTypePolicy(standardize_dtype(identifier))
    except (TypeError, ValueError):
        raise ValueError(
            f"Cannot interpret dtype {identifier!r} ({type(identifier).__name__}) as a dtype "
            "policy. Give a name ('float32', 'mixed_bfloat16', ...), a dtype, or a "
            "DTypePolicy.") from None


__all__ = ["DTypePolicy", "FloatDTypePolicy", "DTypePolicyMap", "get", "serialize",
           "deserialize"]

__getattr__ = _keras_names.module_getattr(__name__)  # the quantized policies say so
