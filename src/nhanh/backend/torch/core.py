"""Arrays, conversion, differentiation and compilation on PyTorch."""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import torch

NAME = "torch"

_TO_TORCH = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32,
    "int64": torch.int64, "uint8": torch.uint8, "bool": torch.bool,
    "uint32": torch.uint32, "complex64": torch.complex64,
}
_FROM_TORCH = {v: k for k, v in _TO_TORCH.items()}


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


DEVICE = default_device()


@contextlib.contextmanager
def allocating_on_host():
    """Inside, the tensors this module makes (conversions, zeros) go to the host: a variable
    split over processes is made whole there, and only its shards reach the device."""
    global DEVICE
    saved, DEVICE = DEVICE, torch.device("cpu")
    try:
        yield
    finally:
        DEVICE = saved


def standardize_dtype(dtype) -> str | None:
    if dtype is None:
        return None
    if isinstance(dtype, torch.dtype):
        return _FROM_TORCH[dtype]
    if isinstance(dtype, str):
        return dtype
    return np.dtype(dtype).name


def to_torch_dtype(dtype) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    return _TO_TORCH[standardize_dtype(dtype)]


def convert_to_tensor(x, dtype=None):
    tdtype = to_torch_dtype(dtype)
    if isinstance(x, torch.Tensor):
        if tdtype is not None and x.dtype != tdtype:
            x = x.to(tdtype)
        return x if x.device == DEVICE else x.to(DEVICE)
    if isinstance(x, (list, tuple)) and any(isinstance(e, torch.Tensor) for e in x):
        return torch.stack([convert_to_tensor(e, dtype) for e in x])
    array = np.asarray(x)
    if tdtype is None:  # 64-bit data becomes 32-bit, as on JAX, so both engines agree
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        elif array.dtype == np.int64:
            array = array.astype(np.int32)
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.array(array, order="C", copy=True)  # keeps 0-d arrays 0-d
    if DEVICE.type == "cuda" and array.size:
        # Through page-locked memory, without waiting: the host goes on (reading the next
        # batch, say) while the copy and the steps queued before it run on the GPU.
        host = torch.from_numpy(array).pin_memory()
        return host.to(DEVICE, dtype=tdtype, non_blocking=True)
    return torch.as_tensor(array, dtype=tdtype, device=DEVICE)


def eager_scope():
    return torch.no_grad()


def enable_grad():
    """Autograd on (Keras's PyTorch form of train_step calls loss.backward())."""
    return torch.enable_grad()


def dtensor_type():
    """DTensor's class once torch.distributed.tensor is imported (a sharded layout imports
    it), else None: telling DTensors apart costs no import elsewhere."""
    module = sys.modules.get("torch.distributed.tensor")
    return None if module is None else module.DTensor


def whole(x):
    """A DTensor's whole value (gathered from every process: all of them must ask), else x."""
    kind = dtensor_type()
    return x.full_tensor() if kind is not None and isinstance(x, kind) else x


def convert_to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = whole(x.detach())
        if x.dtype == torch.bfloat16:
            x = x.float()
        # A copy even on the CPU: training updates weights in place, and get_weights() taken
        # earlier (EarlyStopping's best weights, say) must not change with them.
        return x.numpy().copy() if x.device.type == "cpu" else x.cpu().numpy()
    return np.asarray(x)


def host_view(x) -> np.ndarray:
    """A CPU tensor's own memory, without convert_to_numpy's copy (safe only to read at once,
    as the weights writer does)."""
    x = x.detach()
    if x.dtype == torch.bfloat16:
        x = x.float()
    return x.numpy() if x.device.type == "cpu" else x.cpu().numpy()


def copy(x):
    return x.detach().clone()


# --- Variable storage: trainable weights are torch.nn.Parameters -----------------------------
# As on Keras's PyTorch backend, a trainable floating-point Variable keeps its value in a
# Parameter (requires_grad=True) that lives as long as the Variable: assign() and fit() write
# into it in place, so `loss.backward()` fills its `.grad` and a torch.optim optimizer given
# `model.parameters()` updates the model. Everything else (optimizer slots, metric state,
# seeds, non-trainable weights) stays a plain tensor that a new value replaces, as before.
# Eager calls under torch's grad mode therefore record the graph to the trainable weights,
# as in Keras and PyTorch; predict(), evaluate() and fit() run under no_grad and do not.

def variable_storage(value, trainable: bool):
    """The storage of a new Variable holding `value` (a tensor already converted)."""
    if trainable and value.is_floating_point():
        # A copy: `value` may share memory with the caller's NumPy array.
        return torch.nn.Parameter(value.detach().clone(), requires_grad=True)
    return value


def write_storage(storage, value):
    """The Variable's storage after a new `value` outside a step: written into a Parameter in
    place (its identity is what torch optimizers and `.grad` hold), else `value` itself,
    without any autograd history (a metric updated from a model's eager outputs). A sharded
    Variable (a DTensor) keeps its storage too; a step's new value is its local shard."""
    kind = dtensor_type()
    if kind is not None and isinstance(storage, kind):
        local = storage._local_tensor
        if isinstance(value, kind):
            value = value._local_tensor
        if value.data_ptr() != local.data_ptr():
            with torch.no_grad():
                local.copy_(value)
        return storage
    if isinstance(storage, torch.nn.Parameter):
        if value is not storage and value.data_ptr() != storage.data_ptr():
            with torch.no_grad():
                storage.copy_(value)
        return storage
    return value.detach() if value.requires_grad else value


def state_view(storage):
    """What a compiled step gets for a Variable's storage: a Parameter as a plain alias of the
    same memory (the step updates it in place), None for other storage. A sharded Variable's
    step gets its local shard (the step gathers the whole value itself)."""
    kind = dtensor_type()
    if kind is not None and isinstance(storage, kind):
        return storage._local_tensor.detach()
    if isinstance(storage, torch.nn.Parameter):
        return storage.detach()
    return None


def is_tensor(x) -> bool:
    return isinstance(x, torch.Tensor)


def dtype_of(x) -> str:
    if isinstance(x, torch.Tensor):
        return _FROM_TORCH[x.dtype]
    return np.asarray(x).dtype.name


def cast(x, dtype):
    x, tdtype = convert_to_tensor(x), to_torch_dtype(dtype)
    return x if x.dtype == tdtype else x.to(tdtype)


def shape(x) -> tuple:
    return tuple(x.shape)


def item(x):
    return x.item() if isinstance(x, torch.Tensor) else np.asarray(x).item()


def stop_gradient(x):
    return x.detach()


def value_and_grad(fn, has_aux=False):
    def wrapped(params, *args, **kwargs):
        params = [p.detach().requires_grad_(True) for p in params]
        from nhanh.backend.torch import distribution  # (it imports this module)

        distribution.reduce_during_backward(params)  # (a step split over processes only)
        with torch.enable_grad():
            out = fn(params, *args, **kwargs)
            loss = out[0] if has_aux else out
            grads = torch.autograd.grad(loss, params, allow_unused=True) if params else ()
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
        if has_aux:
            aux = _detach(out[1])
            return (loss.detach(), aux), grads
        return loss.detach(), grads

    return wrapped


def _detach(tree):
    if isinstance(tree, torch.Tensor):
        return tree.detach()
    if isinstance(tree, (list, tuple)):
        return type(tree)(_detach(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _detach(v) for k, v in tree.items()}
    return tree


def platform() -> str:
    return "gpu" if DEVICE.type == "cuda" else "cpu"


def device_memory_free() -> int | None:
    return torch.cuda.mem_get_info()[0] if DEVICE.type == "cuda" else None


def batch_input(x):
    return convert_to_tensor(x)


def take_rows(x, index):
    return torch.index_select(x, 0, index)


def transfer_copies() -> bool:
    return DEVICE.type != "cpu"  # torch.as_tensor shares a NumPy array's memory


def fori_loop(lower, upper, body, init):
    carry = init
    for i in range(int(lower), int(upper)):
        carry = body(i, carry)
    return carry


def compile_step(fn, donate_state=False, mode="auto"):
    """'auto': captured and replayed as a graph (capture.py); 'jit': that graph through
    torch.compile; 'eager': fn as it is. Gradients are taken inside, explicitly."""
    from nhanh.backend.torch.capture import CapturedStep

    target = fn if mode == "eager" else CapturedStep(fn, jit_compile=mode == "jit")

    def step(*args):
        with torch.no_grad():
            return target(*args)

    return step


def compile_loop(fn, donate_state=False, mode="auto"):
    """A Python loop: the steps it calls are compiled, the loop itself needs no compiling."""
    def loop(*args):
        with torch.no_grad():
            return fn(*args)

    return loop


compiled_loops = False


def eval_shape(fn, specs, probe=2):
    with torch.no_grad():
        out = fn(*[torch.zeros(tuple(probe if d is None else d for d in shape),
                               dtype=to_torch_dtype(dtype), device=DEVICE)
                   for shape, dtype in specs])
    return _shapes(out)


def _shapes(tree):
    if isinstance(tree, torch.Tensor):
        return tuple(tree.shape)
    if isinstance(tree, (list, tuple)):
        return type(tree)(_shapes(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _shapes(v) for k, v in tree.items()}
    return tree
