"""jax.export of a model's inference function: serialized StableHLO, callable without nhanh.

The weights are baked in as constants rather than passed as arguments: the file is then the
whole model, and a server calls it with the inputs alone
(`jax.export.deserialize(data).call(x)`), with no second file of weights to keep in step with
the program. The price is that the program grows with the weights (fine for the models one
serves from a single file; a model of several GiB is better exported to ONNX).

Free sizes (the batch axis, and any other `None` axis) are symbolic dimensions; the batch
dimension is one symbol shared by every input.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax import export as _export


def _shapes(specs) -> list:
    scope = _export.SymbolicScope()
    out = []
    for index, spec in enumerate(specs):
        dims = ["batch" if axis == 0 else (f"d{index}_{axis}" if size is None else str(size))
                for axis, size in enumerate(spec.shape)]
        shape = _export.symbolic_shape(", ".join(dims), scope=scope)
        out.append(jax.ShapeDtypeStruct(shape, jnp.dtype(spec.dtype)))
    return out


def export_jax(fn: Callable[..., Any], state: list, specs, platforms=None) -> bytes:
    """The serialized `jax.export` of `fn(state, *inputs)` with `state` baked in.

    Args:
        fn: The model's pure inference function.
        state: Its variables' values (NumPy arrays), in `fn`'s order.
        specs: The inputs' TensorSpecs (name, shape with None for free sizes, dtype).
        platforms: Platforms to lower for (e.g. ("cpu", "cuda")); None for the current one.

    Returns:
        The bytes `jax.export.deserialize` reads back.
    """
    constants = [jnp.asarray(v) for v in state]

    def serve(*inputs):
        return fn(constants, *inputs)

    kwargs = {} if platforms is None else {"platforms": tuple(platforms)}
    exported = _export.export(jax.jit(serve), **kwargs)(*_shapes(specs))
    return bytes(exported.serialize())
