"""Global settings: which engine runs the ops, the default float type, epsilon, image layout.

The backend can be switched at run time (`set_backend`), so one Python process (one pytest
session) can exercise every installed engine. Objects created under one backend keep that
backend's arrays: build models after choosing the backend.

Choosing the engine at start-up: NHANH_BACKEND, else KERAS_BACKEND (a Keras user's environment
should not silently pick another engine), else JAX. NHANH_BACKEND is explicit, so a name nhanh
does not know is an error. KERAS_BACKEND is set for Keras, often machine-wide, and may name an
engine nhanh does not have (tensorflow, numpy, openvino): then nhanh falls back to JAX and warns,
saying how to choose. An error there would only make the user set a variable to get the same
engine, and would stop a program that runs on every engine nhanh has.
"""

from __future__ import annotations

import difflib
import os
import warnings

BACKENDS = ("jax", "torch")
DEFAULT_BACKEND = "jax"
_INSTALL_HINT = {
    "jax": "pip install jax",
    "torch": "pip install 'nhanh[torch]'  (or: pip install torch)",
}

_floatx = "float32"
_epsilon = 1e-7
_image_data_format = "channels_last"


def backend() -> str:
    """Name of the active backend ('jax' or 'torch'), loading the default one if none is.

    Returns:
        The backend's name as a string.
    """
    from nhanh import backend as _backend

    return _backend.get().NAME


def set_backend(name: str) -> None:
    """Make `name` the engine behind every nhanh op from now on.

    Objects built earlier keep the arrays of the engine they were built on.

    Args:
        name: `"jax"` or `"torch"` (case-insensitive). An unknown name raises ValueError,
            an engine that is not installed raises ImportError with the install command.
    """
    from nhanh import backend as _backend

    _backend.load(name)


def check_backend_name(name: str) -> str:
    """`name` lower-cased if nhanh runs on it, else a ValueError suggesting the closest name.

    Args:
        name: The engine's name as the user spelled it.

    Returns:
        The canonical (lower-case) name.
    """
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        close = difflib.get_close_matches(str(name).lower(), BACKENDS, n=2)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"Unknown backend {name!r}: nhanh runs on {', '.join(repr(b) for b in BACKENDS)}.{hint} "
            "Set NHANH_BACKEND or call nhanh.config.set_backend(name)."
        )
    return name.lower()


def install_hint(name: str) -> str:
    """The pip command that installs an engine, for error messages.

    Args:
        name: A canonical backend name, one of `BACKENDS`.

    Returns:
        The command as a string.
    """
    return _INSTALL_HINT[name]


def default_backend_name() -> str:
    """The engine the environment asks for: NHANH_BACKEND, else KERAS_BACKEND, else jax."""
    chosen = os.environ.get("NHANH_BACKEND")
    if chosen:
        return check_backend_name(chosen)
    keras_choice = os.environ.get("KERAS_BACKEND")
    if not keras_choice:
        return DEFAULT_BACKEND
    if keras_choice.strip().lower() in BACKENDS:
        return keras_choice.strip().lower()
    warnings.warn(
        f"KERAS_BACKEND={keras_choice!r} names an engine nhanh does not run on; nhanh runs on "
        f"{' and '.join(BACKENDS)}, and uses {DEFAULT_BACKEND!r}. To choose, set NHANH_BACKEND "
        "(e.g. NHANH_BACKEND=torch; it takes precedence over KERAS_BACKEND) or call "
        "nhanh.config.set_backend(name).", UserWarning, stacklevel=2)
    return DEFAULT_BACKEND


def floatx() -> str:
    """Default float dtype of weights and of converted data.

    Returns:
        The dtype's name, `"float32"` unless changed with `set_floatx`.
    """
    return _floatx


def set_floatx(value: str) -> None:
    """Set the default float dtype of weights and converted data from now on.

    Args:
        value: `"float16"`, `"bfloat16"`, `"float32"` or `"float64"`; anything else
            raises ValueError.
    """
    global _floatx
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"floatx must be float16, bfloat16, float32 or float64, got {value!r}.")
    _floatx = value


def epsilon() -> float:
    """Fuzz factor that keeps divisions and logarithms finite.

    Returns:
        A float, `1e-7` unless changed with `set_epsilon`.
    """
    return _epsilon


def set_epsilon(value: float) -> None:
    """Set the fuzz factor that losses and constraints read from now on.

    Args:
        value: The new epsilon, converted with `float()` (not otherwise checked).
    """
    global _epsilon
    _epsilon = float(value)


def image_data_format() -> str:
    """The default layout of image tensors for convolution, pooling and image layers.

    Returns:
        `"channels_last"` (batch, ..., channels), unless changed, or `"channels_first"`.
    """
    return _image_data_format


def set_image_data_format(value: str) -> None:
    """Set the default image layout used where a `data_format` argument is `None`.

    Args:
        value: `"channels_last"` or `"channels_first"`; anything else raises ValueError.
    """
    global _image_data_format
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"image_data_format must be 'channels_last' or 'channels_first', got {value!r}."
        )
    _image_data_format = value


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
