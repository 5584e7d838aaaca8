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


def dtype_policy():
    """The global dtype policy (`nhanh.dtype_policies.DTypePolicy`) of new layers.

    Returns:
        The policy set with `set_dtype_policy`, else `DTypePolicy(floatx())`.
    """
    from nhanh.dtype_policies import dtype_policy as _policy

    return _policy.dtype_policy()


def set_dtype_policy(policy) -> None:
    """Make `policy` the dtype policy of layers created from now on.

    Args:
        policy: A name ("mixed_bfloat16", "mixed_float16", "float32", ...) or a
            `DTypePolicy`; `None` restores the default, `DTypePolicy(floatx())`.
    """
    from nhanh.dtype_policies import dtype_policy as _policy

    _policy.set_dtype_policy(policy)


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


# --- Keras's other global switches ----------------------------------------------------------
# Each is a flag that the code it concerns reads when it runs: the progress output
# (training/progress.py), fit (max_epochs, max_steps_per_epoch), the attention layers (flash
# attention), the loader (unsafe deserialization).

_interactive_logging = True
_traceback_filtering = True
_flash_attention: bool | None = None  # None: each layer decides (Keras's default)
_unsafe_deserialization = False
_max_epochs: int | None = int(os.environ["KERAS_MAX_EPOCHS"]) \
    if os.environ.get("KERAS_MAX_EPOCHS") else None
_max_steps_per_epoch: int | None = int(os.environ["KERAS_MAX_STEPS_PER_EPOCH"]) \
    if os.environ.get("KERAS_MAX_STEPS_PER_EPOCH") else None


def enable_interactive_logging() -> None:
    """Print progress bars and messages to stdout (the default)."""
    global _interactive_logging
    _interactive_logging = True


def disable_interactive_logging() -> None:
    """Send progress output to the `nhanh` logger (Python's `logging`, level INFO) instead
    of stdout: for jobs whose output goes to log files, not a terminal."""
    global _interactive_logging
    _interactive_logging = False


def is_interactive_logging_enabled() -> bool:
    """Whether progress output goes to stdout (True) or to the `nhanh` logger (False)."""
    return _interactive_logging


def enable_traceback_filtering() -> None:
    """Ask for shortened tracebacks (the default). Kept for Keras code that calls it: nhanh
    raises its errors where they happen, so there are no internal frames to filter."""
    global _traceback_filtering
    _traceback_filtering = True


def disable_traceback_filtering() -> None:
    """Ask for full tracebacks (nhanh's are full either way; see enable_traceback_filtering)."""
    global _traceback_filtering
    _traceback_filtering = False


def is_traceback_filtering_enabled() -> bool:
    """The switch set by enable_/disable_traceback_filtering (True by default)."""
    return _traceback_filtering


def enable_flash_attention() -> None:
    """Let attention layers use a fused (flash) attention kernel where the engine has one.

    Like Keras, this permits it; the inputs' dtype and layout still decide.
    """
    global _flash_attention
    _flash_attention = True


def disable_flash_attention() -> None:
    """Keep attention off flash kernels (the fused op still runs where the engine has one)."""
    global _flash_attention
    _flash_attention = False


def is_flash_attention_enabled() -> bool | None:
    """`True` or `False` once set; `None` (the default) lets each layer choose, as Keras."""
    return _flash_attention


def enable_unsafe_deserialization() -> None:
    """Let model loading run code stored in files (Lambda layers' bytecode): only for files
    you trust. The loader reads `is_unsafe_deserialization_enabled()`."""
    global _unsafe_deserialization
    _unsafe_deserialization = True


def is_unsafe_deserialization_enabled() -> bool:
    """Whether enable_unsafe_deserialization() was called (not in Keras's API)."""
    return _unsafe_deserialization


def is_nnx_enabled() -> bool:
    """Always False: Flax NNX is a Keras-on-JAX option that makes layers Flax modules; nhanh
    keeps layers engine-neutral and does not depend on Flax."""
    return False


def _positive_or_none(value, name: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 1):
        raise ValueError(f"{name} must be a positive int or None (no cap), got {value!r}.")
    return value


def set_max_epochs(max_epochs: int | None) -> None:
    """Cap every `fit` at this many epochs (a debugging aid; also KERAS_MAX_EPOCHS).

    Args:
        max_epochs: A positive int, or `None` to remove the cap.
    """
    global _max_epochs
    _max_epochs = _positive_or_none(max_epochs, "max_epochs")


def max_epochs() -> int | None:
    """The cap set by set_max_epochs (or KERAS_MAX_EPOCHS), or None."""
    return _max_epochs


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Cap the batches of each epoch of `fit`, `evaluate` and `predict` (a debugging aid;
    also KERAS_MAX_STEPS_PER_EPOCH).

    Args:
        max_steps_per_epoch: A positive int, or `None` to remove the cap.
    """
    global _max_steps_per_epoch
    _max_steps_per_epoch = _positive_or_none(max_steps_per_epoch, "max_steps_per_epoch")


def max_steps_per_epoch() -> int | None:
    """The cap set by set_max_steps_per_epoch (or KERAS_MAX_STEPS_PER_EPOCH), or None."""
    return _max_steps_per_epoch


def capped_epochs(epochs: int) -> int:
    """`epochs`, lowered to max_epochs() with a warning, as Keras's fit does.

    Args:
        epochs: The epochs `fit` was asked for.
    """
    if _max_epochs and _max_epochs < epochs:
        warnings.warn(f"Limiting epochs to {_max_epochs} (nhanh.config.set_max_epochs).",
                      stacklevel=3)
        return _max_epochs
    return epochs


def capped_steps(steps: int | None) -> int | None:
    """`steps`, lowered to max_steps_per_epoch() with a warning.

    Args:
        steps: The steps per epoch asked for; None means the whole data.
    """
    if _max_steps_per_epoch and (not steps or _max_steps_per_epoch < steps):
        warnings.warn(f"Limiting steps_per_epoch to {_max_steps_per_epoch} "
                      "(nhanh.config.set_max_steps_per_epoch).", stacklevel=3)
        return _max_steps_per_epoch
    return steps


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
