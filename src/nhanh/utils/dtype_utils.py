"""standardize_dtype: any spelling of a dtype as the one string nhanh and Keras use."""

from __future__ import annotations

from nhanh import config

ALLOWED = ("float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8",
           "int16", "int32", "int64", "bfloat16", "bool", "string", "float8_e4m3fn",
           "float8_e5m2", "complex64", "complex128")
_PYTHON = {bool: "bool", int: "int32", float: "float32", str: "string", "int": "int32",
           complex: "complex64"}


def standardize_dtype(dtype) -> str:
    """'float32' for np.float32, jnp.float32, torch.float32, float, 'float32', ...

    Python's `int` is 'int32' and `float` 'float32', as in Keras on JAX and PyTorch.

    Args:
        dtype: A dtype name, a NumPy / JAX / PyTorch dtype or scalar type, a Python type, or
            `None` for `nhanh.config.floatx()`.

    Returns:
        The dtype's name; an unknown dtype raises a ValueError listing the known ones.
    """
    if dtype is None:
        return config.floatx()
    try:
        dtype = _PYTHON.get(dtype, dtype)
    except TypeError:  # an unhashable object: not a dtype
        pass
    if hasattr(dtype, "name") and isinstance(dtype.name, str):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    elif "torch" in str(dtype) or "jax.numpy" in str(dtype):
        dtype = str(dtype).rsplit(".", 1)[-1]
    if dtype not in ALLOWED:
        raise ValueError(f"Invalid dtype: {dtype!r}. Expected one of {', '.join(ALLOWED)} (or "
                         "a NumPy / JAX / PyTorch / Python type naming one).")
    return dtype
