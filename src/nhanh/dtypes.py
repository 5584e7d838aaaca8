"""Dtype promotion as Keras 3 does it (keras.backend.result_type), and dtype predicates.

Keras promotes like JAX: dtypes form a lattice (bool below the integers, the integers below
the floats, the floats below the complex types) and two dtypes promote to their least upper
bound. Python's `int` and `float` are *weak*: they adopt the other operand's kind and width
(`result_type("bfloat16", float)` is bfloat16) and, when only weak types meet, take floatx()'s
width. On JAX and PyTorch Keras then narrows 64-bit results to 32 bits (JAX's default, x64
off), even `result_type("float64")`; nhanh returns what Keras returns, so code that asks
Keras's question gets Keras's answer.
"""

from __future__ import annotations

import functools

from nhanh import config

# Each dtype's immediate successors on the lattice ("i*" and "f*" are the weak int and float).
_ABOVE = {
    "bool": ("i*",),
    "i*": ("uint8", "int8", "complex64"),
    "uint8": ("uint16", "int16"), "uint16": ("uint32", "int32"),
    "uint32": ("uint64", "int64"), "uint64": ("f*",),
    "int8": ("int16",), "int16": ("int32",), "int32": ("int64",), "int64": ("f*",),
    "f*": ("float16", "bfloat16"),
    "float16": ("float32",), "bfloat16": ("float32",),
    "float32": ("float64", "complex64"), "float64": ("complex128",),
    "complex64": ("complex128",), "complex128": (),
}
_NARROW = {"int64": "int32", "uint64": "uint32", "float64": "float32",
           "complex128": "complex64"}
_FLOAT8 = ("float8_e4m3fn", "float8_e5m2")


@functools.cache
def _at_or_above(node: str) -> frozenset:
    return frozenset({node}).union(*(_at_or_above(up) for up in _ABOVE[node]))


def _join(nodes: frozenset) -> str:
    """The least upper bound of `nodes` on the lattice."""
    common = frozenset.intersection(*(_at_or_above(n) for n in nodes))
    least = [c for c in common if common <= _at_or_above(c)]
    if len(least) != 1:
        raise ValueError(f"Input dtypes {sorted(nodes)} have no common dtype to promote to; "
                         "cast the inputs to the dtype you want explicitly.")
    return least[0]


def _standardize(dtype) -> str:
    from nhanh.utils.dtype_utils import standardize_dtype

    return standardize_dtype(dtype)


def _weak_kind(dtype: str) -> str:
    return "bool" if dtype == "bool" else "f*" if "float" in dtype else "i*" \
        if "int" in dtype else "c*"


def result_type(*dtypes) -> str:
    """The dtype an operation on values of `dtypes` gives, by Keras 3's promotion rules.

    Args:
        *dtypes: Dtypes in any spelling (`"int8"`, `np.float16`, `torch.bfloat16`, ...);
            Python's `int` and `float` are weak (they follow the other dtypes); `None` is
            floatx(). No argument gives floatx().

    Returns:
        The promoted dtype's name.
    """
    if not dtypes:
        return config.floatx()
    for d in dtypes:
        if isinstance(d, str) and d in _FLOAT8:
            raise ValueError(f"result_type: float8 dtypes do not promote implicitly, got "
                             f"{dtypes}; cast the float8 value to the dtype you want first.")
    pairs = [(_standardize(config.floatx() if d is None else d), d is int or d is float)
             for d in dtypes]
    names = {name for name, _ in pairs}
    if len(pairs) == 1:
        out, weak = pairs[0]
    elif len(names) == 1 and not all(w for _, w in pairs):
        out, weak = pairs[0][0], False
    elif all(w for _, w in pairs):
        out, weak = _join(frozenset(names)), True
    else:
        out = _join(frozenset(_weak_kind(n) if w else n for n, w in pairs))
        weak = out in ("i*", "f*")
    if weak and out != "bool":
        bits = config.floatx()[-2:]
        kind = "float" if out in ("bfloat16", "f*") or out.startswith("float") or \
            out.startswith("complex") else "uint" if out.startswith("u") else "int"
        out = f"{kind}{bits}"
    return _NARROW.get(out, out)


def is_float_dtype(dtype) -> bool:
    """Whether `dtype` (any spelling) is a floating-point dtype (bfloat16 included)."""
    return _standardize(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype) -> bool:
    """Whether `dtype` (any spelling) is a signed or unsigned integer dtype."""
    return _standardize(dtype).startswith(("int", "uint"))
