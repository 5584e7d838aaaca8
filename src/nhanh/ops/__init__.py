"""Backend-agnostic ops: numpy's names and semantics, plus the nn ops layers need.

Every op dispatches to the current backend at call time and accepts Variables wherever it
accepts arrays. Layers, losses, metrics and optimizers are written with these only.
"""

from __future__ import annotations

from nhanh import backend as _backend
from nhanh.backend import OP_GROUPS
from nhanh.variables import Variable


def _unwrap(a):
    if type(a) is Variable:
        return a.value
    if type(a) in (list, tuple):
        return type(a)(e.value if type(e) is Variable else e for e in a)
    return a


def _forward(group: str, name: str):
    def op(*args, **kwargs):
        backend = _backend._current or _backend.get()
        fn = getattr(getattr(backend, group), name)
        for a in args:  # the common case, arrays only, passes the arguments through untouched
            if type(a) is Variable or type(a) in (list, tuple):
                return fn(*[_unwrap(a) for a in args], **kwargs)
        return fn(*args, **kwargs)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"`{name}` with numpy's meaning, on the current backend."
    return op


for _group, _names in OP_GROUPS.items():
    for _name in _names:
        globals()[_name] = _forward(_group, _name)
del _group, _names, _name


def convert_to_tensor(x, dtype=None):
    """An array of the current backend (numbers, lists, numpy arrays, Variables)."""
    return _backend.get().convert_to_tensor(_unwrap(x), dtype)


def convert_to_numpy(x):
    """A host numpy copy of an array or Variable."""
    return _backend.get().convert_to_numpy(_unwrap(x))


def cast(x, dtype):
    return _backend.get().cast(_unwrap(x), dtype)


def shape(x) -> tuple:
    return tuple(_unwrap(x).shape)


def ndim(x) -> int:
    return len(_unwrap(x).shape)


def dtype(x) -> str:
    return _backend.get().dtype_of(_unwrap(x))


def is_tensor(x) -> bool:
    return _backend.get().is_tensor(x)


def stop_gradient(x):
    return _backend.get().stop_gradient(_unwrap(x))


def item(x):
    """A device value read on the host as a Python number (this synchronises)."""
    return _backend.get().item(_unwrap(x))


def fori_loop(lower, upper, body, init):
    """body(i, carry) for i in [lower, upper); compiled as one loop on JAX."""
    return _backend.get().fori_loop(lower, upper, body, init)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Each input channel convolved with its own `depth_multiplier` filters; kernel
    (*k, in_channels, multiplier). A grouped conv with one group per input channel."""
    kernel = _unwrap(kernel)
    shape = tuple(kernel.shape)
    kernel = reshape(kernel, (*shape[:-2], 1, shape[-2] * shape[-1]))  # noqa: F821
    return conv(inputs, kernel, strides, padding, data_format, dilation_rate)  # noqa: F821


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)  # noqa: F821


def safe_divide(x, y):
    """x / y, with 0 where y is 0 (for means over empty sets)."""
    zero = equal(y, 0)  # noqa: F821
    return where(zero, 0, divide(x, where(zero, 1, y)))  # noqa: F821


def __getattr__(name):
    raise AttributeError(f"nhanh.ops has no op {name!r}.")
