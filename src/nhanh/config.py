"""Global settings: which engine runs the ops, the default float type, epsilon, image layout.

The backend can be switched at run time (`set_backend`), so one Python process (one pytest
session) can exercise every installed engine. Objects created under one backend keep that
backend's arrays: build models after choosing the backend.
"""

from __future__ import annotations

import difflib
import os

BACKENDS = ("jax", "torch")
_INSTALL_HINT = {
    "jax": "pip install jax",
    "torch": "pip install 'nhanh[torch]'  (or: pip install torch)",
}

_floatx = "float32"
_epsilon = 1e-7
_image_data_format = "channels_last"


def backend() -> str:
    """Name of the active backend ('jax' or 'torch')."""
    from nhanh import backend as _backend

    return _backend.get().NAME


def set_backend(name: str) -> None:
    """Make `name` the engine behind every nhanh op from now on."""
    from nhanh import backend as _backend

    _backend.load(name)


def check_backend_name(name: str) -> str:
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        close = difflib.get_close_matches(str(name).lower(), BACKENDS, n=2)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"Unknown backend {name!r}: nhanh runs on {', '.join(repr(b) for b in BACKENDS)}.{hint} "
            "Set NHANH_BACKEND or call nhanh.config.set_backend(name)."
        )
    return name.lower()


def install_hint(name: str) -> str:
    return _INSTALL_HINT[name]


def default_backend_name() -> str:
    return check_backend_name(os.environ.get("NHANH_BACKEND", "jax"))


def floatx() -> str:
    """Default float dtype of weights and of converted data."""
    return _floatx


def set_floatx(value: str) -> None:
    global _floatx
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"floatx must be float16, bfloat16, float32 or float64, got {value!r}.")
    _floatx = value


def epsilon() -> float:
    """Fuzz factor that keeps divisions and logarithms finite."""
    return _epsilon


def set_epsilon(value: float) -> None:
    global _epsilon
    _epsilon = float(value)


def image_data_format() -> str:
    return _image_data_format


def set_image_data_format(value: str) -> None:
    global _image_data_format
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"image_data_format must be 'channels_last' or 'channels_first', got {value!r}."
        )
    _image_data_format = value
