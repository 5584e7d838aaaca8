"""The backend contract, written down once, and the loader of the chosen engine.

A backend is a package (`nhanh.backend.jax`, `nhanh.backend.torch`) whose top level provides
every name in CONTRACT below, with the same meaning and signatures. Everything above this
package (ops, layers, losses, optimizers, trainers) is written against these names only.

Arrays are the engine's own (jax.Array, torch.Tensor); dtypes are given as strings
('float32', 'int32', 'bool', ...).
"""

from __future__ import annotations

import importlib
import itertools
import types

from nhanh import config

CONTRACT: dict[str, str] = {
    # --- arrays and conversion (core) ---
    "NAME": "the backend's name, 'jax' or 'torch'",
    "convert_to_tensor": "(x, dtype=None) -> array; numbers, numpy arrays, lists, arrays",
    "convert_to_numpy": "(x) -> numpy.ndarray (a host copy)",
    "host_view": "(x) -> numpy.ndarray of x's values, sharing x's memory where it is on the"
    " host (for reading at once, as a file writer does; never kept)",
    "copy": "(x) -> a new array with x's values that shares no memory with x",
    "eager_scope": "() -> context manager inside which ops compute concrete values even while"
    " a function is being traced (Variables created during shape inference)",
    "is_tensor": "(x) -> bool: x is this engine's array",
    "standardize_dtype": "(dtype) -> dtype name as a string",
    "dtype_of": "(x) -> dtype name of an array, as a string",
    "cast": "(x, dtype) -> array",
    "shape": "(x) -> tuple of ints",
    "item": "(x) -> Python number; the one place a device value is read on the host",
    "stop_gradient": "(x) -> x, cut from differentiation",
    "value_and_grad": "(fn, has_aux=False) -> f(params: list, *args) -> (value, grads list);"
    " with has_aux, value is (loss, aux)",
    "fori_loop": "(lower, upper, body, init) -> body(i, carry) applied for i in [lower, upper);"
    " bounds may be traced values, so one compiled loop serves every trip count",
    "platform": "() -> 'cpu', 'gpu' or 'tpu': where arrays live by default",
    "device_memory_free": "() -> bytes free on the default device, or None where arrays live"
    " in host memory",
    "transfer_copies": "() -> bool: moving a host (NumPy) array to the default device copies"
    " it (False where the engine can use the host memory as it is: PyTorch on a CPU)",
    "batch_input": "(numpy array) -> the form in which a host batch is handed to a step: the"
    " array itself where compiled functions move their NumPy arguments faster than a separate"
    " transfer (JAX), else a device array",
    "take_rows": "(x, index) -> the rows `index` (an int vector of valid row numbers) of x:"
    " the gather of a batch from device-resident data, without the out-of-range handling"
    " ops.take carries (on JAX a fifth of a small training step's program)",
    "compile_step": "(fn, donate_state=False, mode='auto') -> fn compiled once per input"
    " signature; fn(state, *args); with donate_state the engine may reuse state's buffers;"
    " mode 'eager' (run fn as Python), 'auto' (the engine's default compilation) or 'jit'"
    " (compile=True: the strongest compiler the engine has)",
    "compile_loop": "(fn, donate_state=False, mode='auto') -> a function whose fori_loop runs"
    " compiled steps: one program on JAX, a Python loop over them on PyTorch",
    "compiled_loops": "bool: compile_loop makes the whole loop one program (JAX)",
    "eval_shape": "(fn, specs, probe=2) -> fn's outputs (same nesting) as shape tuples, fn called"
    " on arrays given as (shape, dtype) specs; None dims are probed with size `probe`",
    "update_rules": "dict: optimizer rule name ('sgd', 'adam', ...) -> an in-place multi-tensor"
    " update (see backend/torch/update_rules.py); empty where the compiler fuses the"
    " optimizers' own update_step (JAX)",
    "distribution": "module: placement (list_devices, to_backend_mesh, to_backend_layout,"
    " distribute_value, create, sharding_of, place_like, process_local, to_host,"
    " num_processes, process_id, initialize, MORE_DEVICES, PROCESS_PER_DEVICE) and a step's"
    " hooks for a batch split over processes (begin_step, step_is_split, synchronize,"
    " reduce_gradients, metrics_before, reduce_metric_updates, sum_over_replicas,"
    " gather_outputs: identities on JAX, where XLA inserts the collectives)",
    # --- numpy-style ops: same names and meaning as numpy ---
    "numpy": "module of numpy-style functions; see NUMPY_OPS",
    # --- neural-network ops ---
    "nn": "module of nn functions; see NN_OPS",
    # --- random numbers ---
    "random": "module: normal, uniform, truncated_normal, bernoulli, permutation,"
    " each (…, seed) where seed is a 2-element int32 state array",
    # Each group below is a submodule of the backend (numpy, nn, conv, rnn) providing the
    # listed functions; nhanh.ops re-exports them all under the same names.
}

NUMPY_OPS = (
    "add subtract multiply divide true_divide floor_divide mod power negative abs absolute sign "
    "square sqrt rsqrt exp expm1 log log1p log2 log10 sin cos tan tanh arctan erf floor ceil round "
    "maximum minimum clip where matmul dot tensordot einsum outer "
    "sum mean max min prod std var argmax argmin cumsum logsumexp norm all any "
    "equal not_equal greater greater_equal less less_equal logical_and logical_or logical_not "
    "isnan isinf isfinite reshape transpose expand_dims squeeze concatenate stack split tile "
    "repeat take take_along_axis broadcast_to flip zeros ones full zeros_like ones_like "
    "full_like arange eye linspace diag triu tril pad sort argsort top_k count_nonzero "
    "nan_to_num swapaxes moveaxis slice slice_update "
    # the rest of keras.ops' numpy names (backend/torch/numpy_{arrays,math,stats}.py)
    "array copy size empty empty_like identity tri ravel append hstack vstack dstack "
    "array_split hsplit vsplit dsplit unstack roll rot90 fliplr flipud diff diagonal diagflat "
    "meshgrid logspace geomspace vander cross inner vdot kron correlate trapezoid isin nonzero "
    "select unravel_index vectorize view saturate_cast get_item "
    "arccos arccosh arcsin arcsinh arctanh cosh sinh exp2 sinc i0 erfc erfinv cbrt deg2rad "
    "rad2deg fabs trunc reciprocal signbit isneginf isposinf isreal conj conjugate real imag "
    "angle arctan2 hypot logaddexp logaddexp2 fmax fmin fmod heaviside nextafter ldexp "
    "divide_no_nan gcd lcm logical_xor isclose allclose bitwise_and bitwise_or bitwise_xor "
    "bitwise_not bitwise_invert bitwise_left_shift bitwise_right_shift left_shift right_shift "
    "bartlett blackman hamming hanning kaiser "
    "amax amin ptp median quantile percentile nanmedian nanquantile nanpercentile nansum "
    "nanprod nanmean nanvar nanstd nanmax nanmin nanargmax nanargmin nancumsum nancumprod "
    "cumprod average trace corrcoef histogram bincount digitize searchsorted argpartition"
).split()

NN_OPS = (
    "relu relu6 leaky_relu elu selu gelu sigmoid hard_sigmoid hard_silu silu softplus softsign "
    "mish softmax log_softmax one_hot ctc_loss "
    # (query, key, value, bias, mask, scale, is_causal, flash_attention, attn_logits_soft_cap)
    # -> the fused kernel's output, or None where it does not apply (nhanh.ops.attention
    # then runs the formula written out)
    "dot_product_attention"
).split()

# Convolution and pooling (channels_last inputs; see each backend's conv module).
CONV_OPS: tuple[str, ...] = (
    "conv",  # (x, kernel (*k, in/groups, out), strides=1, padding, data_format, dilation_rate)
    "conv_transpose",  # (x, kernel (*k, out, in), strides=1, padding, output_padding=None, ...)
    "max_pool",  # (x, pool_size, strides=None, padding='valid', data_format=None)
    "average_pool",  # (same args; 'same' divides by the number of real, unpadded elements)
)

# Recurrences and other loops that must compile to one program (lax.scan on JAX).
RNN_OPS: tuple[str, ...] = ("scan", "rnn", "lstm", "gru")

# Linear algebra and Fourier transforms (each backend's linalg and fft modules).
LINALG_OPS: tuple[str, ...] = (
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "lu_factor", "qr", "solve",
    "solve_triangular", "svd", "lstsq", "matrix_rank", "pinv", "jvp", "slogdet", "logdet",
)
FFT_OPS: tuple[str, ...] = (
    "fft", "fft2", "ifft2", "rfft", "irfft", "stft", "istft", "view_as_complex", "view_as_real",
    "polar",
)

# Control flow, segment and scatter ops that must stay inside compiled steps.
CONTROL_OPS: tuple[str, ...] = (
    "cond", "switch", "while_loop", "map", "vectorized_map", "associative_scan",
    "custom_gradient", "segment_sum", "segment_max", "segment_min", "segment_prod", "scatter",
    "scatter_update", "in_top_k", "extract_sequences", "unique", "rearrange",
)

# Image kernels each engine has its own of (backend/*/image.py); private names, since Keras
# keeps its image ops out of keras.ops' top level (nhanh.ops.image wraps them).
IMAGE_OPS: tuple[str, ...] = ("_image_resize",)

OP_GROUPS: dict[str, tuple[str, ...]] = {"numpy": NUMPY_OPS, "nn": NN_OPS, "conv": CONV_OPS,
                                         "rnn": RNN_OPS, "linalg": LINALG_OPS, "fft": FFT_OPS,
                                         "control": CONTROL_OPS, "image": IMAGE_OPS}

_current: types.ModuleType | None = None
_loaded: dict[str, types.ModuleType] = {}


def load(name: str) -> types.ModuleType:
    """Import backend `name`, check it against the contract, and make it current."""
    global _current
    name = config.check_backend_name(name)
    module = _loaded.get(name)
    if module is None:
        engine = "jax" if name == "jax" else "torch"
        try:
            package = importlib.import_module(engine)
        except ImportError as e:
            raise ImportError(
                f"The {name!r} backend needs the {engine!r} package, which is not installed "
                f"({e}). Install it with: {config.install_hint(name)}"
            ) from None
        _check_version(engine, getattr(package, "__version__", ""))
        module = importlib.import_module(f"nhanh.backend.{name}")
        _check_contract(module)
        _loaded[name] = module
    _current = module
    return module


#: The oldest engine releases nhanh is tested on (.ci/oldest). Older PyTorch silently trains
#: nothing in captured steps (torch.fx drops in-place updates as dead code before 2.5).
MINIMUM_VERSIONS = {"jax": (0, 4, 30), "torch": (2, 5)}


def _check_version(engine: str, version: str) -> None:
    parts = []
    for piece in version.split("+")[0].split(".")[:3]:
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        if not digits:
            break
        parts.append(int(digits))
    floor = MINIMUM_VERSIONS[engine]
    if parts and tuple(parts) < floor:
        wanted = ".".join(map(str, floor))
        raise ImportError(f"nhanh needs {engine}>={wanted}, but {engine} {version} is "
                          f"installed. Upgrade it: pip install '{engine}>={wanted}'")


def _check_contract(module: types.ModuleType) -> None:
    missing = [n for n in CONTRACT if not hasattr(module, n)]
    for group, names in OP_GROUPS.items():
        submodule = getattr(module, group, None)
        missing += [f"{group}.{n}" for n in names if not hasattr(submodule, n)]
    if missing:
        raise NotImplementedError(f"Backend {module.__name__} lacks: {', '.join(missing)}")


def get() -> types.ModuleType:
    """The current backend module (loaded on first use from NHANH_BACKEND, default jax)."""
    return _current if _current is not None else load(config.default_backend_name())


def loaded(name: str) -> types.ModuleType | None:
    return _loaded.get(name)


# --- keras.backend's public names ---------------------------------------------------------------
# Keras users call these as `keras.backend.floatx()` and so on. They are settings and dtype
# helpers, not engine functions: each delegates to the module that owns the concept (config,
# dtypes, naming, utils.session), imported inside the function because those modules sit above
# this engine-loading layer.

floatx = config.floatx
set_floatx = config.set_floatx
epsilon = config.epsilon
set_epsilon = config.set_epsilon
image_data_format = config.image_data_format
set_image_data_format = config.set_image_data_format
backend = config.backend


def clear_session(free_memory: bool = True) -> None:
    """Reset default layer names and the global random generator (see nhanh.utils)."""
    from nhanh.utils.session import clear_session as _clear

    _clear(free_memory=free_memory)


def get_uid(prefix: str = "") -> int:
    """1, 2, 3, ... on successive calls with the same `prefix`; shares the counter that default
    layer names ('dense', 'dense_1', ...) come from, as in Keras."""
    from nhanh import naming

    naming.unique_name(prefix)
    return naming._counts[prefix]


def is_keras_tensor(x) -> bool:
    """Whether `x` is a symbolic tensor (from `Input` or a layer called on one)."""
    from nhanh.layers.symbolic import SymbolicTensor

    return isinstance(x, SymbolicTensor)


def standardize_dtype(dtype) -> str:
    """A dtype in any spelling (NumPy, JAX, PyTorch, Python type) as Keras's name for it."""
    from nhanh.utils.dtype_utils import standardize_dtype as _standardize

    return _standardize(dtype)


def result_type(*dtypes) -> str:
    """The dtype of an operation on `dtypes`, by Keras 3's promotion rules (nhanh.dtypes)."""
    from nhanh import dtypes as _dtypes

    return _dtypes.result_type(*dtypes)


def is_float_dtype(dtype) -> bool:
    """Whether `dtype` is a floating-point dtype (bfloat16 included)."""
    from nhanh import dtypes as _dtypes

    return _dtypes.is_float_dtype(dtype)


def is_int_dtype(dtype) -> bool:
    """Whether `dtype` is a signed or unsigned integer dtype."""
    from nhanh import dtypes as _dtypes

    return _dtypes.is_int_dtype(dtype)
