"""DTypePolicy: the pair (compute dtype, variable dtype) a layer runs with, and the global one.

A policy named after a dtype ("float32", "bfloat16", "int32") computes and stores in that
dtype. "mixed_float16" and "mixed_bfloat16" compute in the 16-bit type and keep the variables
in float32, so that small updates are not rounded away (Keras's mixed precision).

The global policy is not cached at first use, as Keras does: until `set_dtype_policy` is
called it is `DTypePolicy(nhanh.config.floatx())`, so it follows a later `set_floatx`.
"""

from __future__ import annotations

from typing import Any

from nhanh.dtypes import is_float_dtype
from nhanh.utils.dtype_utils import standardize_dtype

_MIXED = {"mixed_float16": ("float16", "float32"), "mixed_bfloat16": ("bfloat16", "float32")}


class DTypePolicy:
    """A layer's compute and variable dtypes, by name.

    Args:
        name: "mixed_float16", "mixed_bfloat16", or a dtype name ("float32", "bfloat16", ...)
            used for both; `None` takes the global policy's name
            (`nhanh.config.dtype_policy()`).
    """

    def __init__(self, name: str | None = None):
        if name is None:
            name = dtype_policy().name
        self._name = name
        self._compute_dtype, self._variable_dtype = _parse(name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's inputs, computation and outputs."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype the layer's weights are created and stored in."""
        return self._variable_dtype

    @property
    def quantization_mode(self) -> str | None:
        """Always None: quantized policies are not part of nhanh."""
        return None

    def convert_input(self, x, autocast: bool, dtype) -> Any:
        """`x` as a tensor, cast to `dtype` if it is floating and `autocast` is on.

        Integer and boolean inputs are left as they are (token ids, masks)."""
        from nhanh import ops

        dtype = standardize_dtype(dtype)
        if not ops.is_tensor(x):
            if not hasattr(x, "__array__"):
                return x
            x = ops.convert_to_tensor(x)
        if autocast and is_float_dtype(ops.dtype(x)) and ops.dtype(x) != dtype:
            x = ops.cast(x, dtype)
        return x

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict) -> "DTypePolicy":
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'

    def __eq__(self, other) -> bool:
        # FloatDTypePolicy is the same thing under its Keras 3.0 name; subclasses (a map)
        # compare only with their own kind.
        plain = (DTypePolicy, FloatDTypePolicy)
        if type(self) in plain:
            return type(other) in plain and self._name == other._name
        return type(other) is type(self) and self._name == other._name

    def __hash__(self) -> int:
        return hash((DTypePolicy, self._name))


class FloatDTypePolicy(DTypePolicy):
    """Keras 3.0's name for a `DTypePolicy` (kept as an alias, as Keras does).

    Args:
        name: The policy name, as for `DTypePolicy`.
    """


def _parse(name) -> tuple[str, str]:
    if not isinstance(name, str):
        raise TypeError(f"DTypePolicy: `name` must be a string such as 'mixed_float16' or "
                        f"'float32', got {name!r} ({type(name).__name__}).")
    if name in _MIXED:
        return _MIXED[name]
    try:
        dtype = standardize_dtype(name)
    except ValueError:
        raise ValueError(
            f"DTypePolicy: cannot interpret name {name!r}. Use 'mixed_float16', "
            "'mixed_bfloat16', or a dtype name such as 'float32' or 'bfloat16'.") from None
    return dtype, dtype


_global: list[DTypePolicy | None] = [None]


def dtype_policy() -> DTypePolicy:
    """The global dtype policy, which layers made without `dtype=` take.

    Returns:
        The policy set with `set_dtype_policy`, else `DTypePolicy(nhanh.config.floatx())`.
    """
    from nhanh import config

    return _global[0] if _global[0] is not None else DTypePolicy(config.floatx())


def set_dtype_policy(policy) -> None:
    """Make `policy` the default of every layer created from now on.

    Args:
        policy: A policy name ("mixed_float16", "mixed_bfloat16", "float32", ...) or a
            `DTypePolicy`; `None` goes back to the default (`floatx()`).
    """
    if policy is None:
        _global[0] = None
        return
    if isinstance(policy, str):
        policy = DTypePolicy(policy)
    if not isinstance(policy, DTypePolicy):
        raise ValueError(
            "set_dtype_policy: `policy` must be a policy name (such as 'mixed_float16') or a "
            f"DTypePolicy, got {policy!r} ({type(policy).__name__}).")
    _global[0] = policy
