"""Arrays, conversion, differentiation and compilation on JAX."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np

try:
    from jax.extend.core import find_top_trace
except ImportError:  # JAX before 0.4.36: jax.core's, the same answer outside and inside jit
    from jax.core import find_top_trace

NAME = "jax"
_DEVICE_PUT_MAY_ALIAS = "may_alias" in inspect.signature(jax.device_put).parameters  # jax>=0.4.34
_JIT_OPTIONS = "compiler_options" in inspect.signature(jax.jit).parameters  # (not in 0.4.30)


def standardize_dtype(dtype) -> str:
    if dtype is None:
        return None
    if isinstance(dtype, str):
        return dtype
    return np.dtype(dtype).name


_EAGER = type(find_top_trace(()))  # the trace outside every jit, grad and vmap


def _tracing() -> bool:
    """Whether code runs inside a jit, grad or vmap (about 0.1 µs to ask)."""
    return type(find_top_trace(())) is not _EAGER


def host_made() -> bool:
    """Whether a new array is better made by NumPy and transferred: outside every trace, on a
    CPU. jax.numpy compiles a small XLA program per shape and dtype for zeros, ones, full or a
    Python number (tens of milliseconds each, at model build time); a host array is free."""
    return not _tracing() and jax.default_backend() == "cpu"


def canonical_dtype(dtype):
    """The dtype JAX stores `dtype` as (64-bit types as 32-bit unless x64 is on)."""
    return jax.dtypes.canonicalize_dtype(jnp.dtype(float if dtype is None else dtype))


def convert_to_tensor(x, dtype=None):
    if dtype is not None:
        dtype = standardize_dtype(dtype)
    if isinstance(x, jax.Array):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    if dtype is not None and isinstance(x, (bool, int, float)) and host_made():
        x = np.asarray(x, canonical_dtype(dtype))
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        # A plain transfer: jnp.asarray would compile a small conversion program per shape.
        target = jnp.dtype(dtype) if dtype is not None else \
            jax.dtypes.canonicalize_dtype(x.dtype)  # 64-bit to 32-bit unless x64 is on
        return jax.device_put(x if x.dtype == target else x.astype(target))
    return jnp.asarray(x, dtype=dtype)


def eager_scope():
    return jax.ensure_compile_time_eval()


def convert_to_numpy(x) -> np.ndarray:
    if isinstance(x, jax.Array) and not x.is_fully_addressable:  # spans several processes
        from nhanh.backend.jax.distribution import to_host

        return to_host(x)
    return np.asarray(x)


def host_view(x) -> np.ndarray:
    """A CPU array's own buffer (np.asarray does not copy it); other devices copy."""
    return convert_to_numpy(x)


def copy(x):
    if _DEVICE_PUT_MAY_ALIAS:  # a buffer copy, no program to compile
        return jax.device_put(x, None if x.is_fully_addressable else x.sharding,
                              may_alias=False)
    return jnp.array(x, copy=True)


def is_tensor(x) -> bool:
    return isinstance(x, jax.Array)


def dtype_of(x) -> str:
    return x.dtype.name if hasattr(x, "dtype") else np.asarray(x).dtype.name


def cast(x, dtype):
    return jnp.asarray(x).astype(standardize_dtype(dtype))


def shape(x) -> tuple:
    return tuple(x.shape)


def item(x):
    return np.asarray(x).item()


stop_gradient = jax.lax.stop_gradient


def value_and_grad(fn, has_aux=False):
    return jax.value_and_grad(fn, has_aux=has_aux)


def platform() -> str:
    return jax.default_backend()


def device_memory_free() -> int | None:
    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if not stats or "bytes_limit" not in stats:
        return None
    return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))


def batch_input(x):
    return x  # jax.jit moves NumPy arguments itself, in C++, faster than device_put


def take_rows(x, index):
    return jnp.take(x, index, axis=0, mode="clip")  # (the index is in range by construction)


def transfer_copies() -> bool:
    return True  # even on a CPU: XLA wants its own, aligned buffers


def fori_loop(lower, upper, body, init):
    return jax.lax.fori_loop(lower, upper, body, init)


# XLA:CPU's older code generator compiles a program in about half the time of its fusion
# emitters, and runs small programs as fast; past some tens of thousands of numbers its loops
# fall behind (an MLP on 87k numbers: a quarter slower per step; 340k: half). A program whose
# arguments hold fewer numbers than this is dominated by its compile: the article's job. Its
# machine code is also made in one piece, not split for parallel compilation (a sixth less).
SMALL_PROGRAM = 1 << 15
_QUICK_CODEGEN = {"xla_cpu_use_fusion_emitters": False, "xla_cpu_parallel_codegen_split_count": 1}


class _SizedJit:
    """jax.jit, choosing XLA's code generator on the first call from the arguments' size. A
    call from inside another compiled program (a step inside a fused loop) is traced into it:
    there XLA takes the outer program's options."""

    __slots__ = ("_fn", "_donate", "_top", "_nested")

    def __init__(self, fn, donate):
        self._fn, self._donate = fn, donate
        self._top = self._nested = None

    def __call__(self, *args):
        if _tracing():
            if self._nested is None:
                self._nested = jax.jit(self._fn, donate_argnums=self._donate)
            return self._nested(*args)
        if self._top is None:
            numbers = sum(getattr(leaf, "size", 1) for leaf in jax.tree_util.tree_leaves(args))
            self._top = jax.jit(self._fn, donate_argnums=self._donate,
                                compiler_options=_QUICK_CODEGEN if numbers < SMALL_PROGRAM
                                else None)
        return self._top(*args)


def compile_step(fn, donate_state=False, mode="auto"):
    if mode == "eager":
        return fn
    donate = (0,) if donate_state else ()
    if jax.default_backend() != "cpu" or not _JIT_OPTIONS:
        return jax.jit(fn, donate_argnums=donate)
    return _SizedJit(fn, donate)


compile_loop = compile_step
compiled_loops = True


def eval_shape(fn, specs, probe=2):
    structs = [jax.ShapeDtypeStruct(tuple(probe if d is None else d for d in shape),
                                    standardize_dtype(dtype)) for shape, dtype in specs]
    out = jax.eval_shape(fn, *structs)
    return jax.tree_util.tree_map(lambda o: tuple(o.shape), out)
