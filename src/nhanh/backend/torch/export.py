"""torch.export and ONNX export of a model's inference function.

The function is wrapped in a small `torch.nn.Module` that holds the weights as buffers (not
parameters: nothing is trained, and buffers keep autograd out of the traced graph) and takes
the inputs as positional tensors. `torch.export.export` traces it with the batch axis (and any
other `None` axis) as a symbolic `Dim`; the batch Dim is shared by every input.

ONNX goes through `torch.onnx.export(..., dynamo=True)`: the exporter PyTorch maintains (the
TorchScript one is deprecated), built on the same `torch.export` trace, so free axes come from
`dynamic_shapes` exactly as for the .pt2 file, and onnxscript translates the ATen graph.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import logging
import warnings
from typing import Any, Callable

import numpy as np
import torch


class _Serve(torch.nn.Module):
    """`fn(state, *inputs)` as a module whose state is buffers."""

    def __init__(self, fn: Callable[..., Any], state: list):
        super().__init__()
        self._fn = fn
        self._count = len(state)
        for i, value in enumerate(state):
            self.register_buffer(f"w{i}", torch.from_numpy(np.array(value)))

    def forward(self, *inputs):
        state = [getattr(self, f"w{i}") for i in range(self._count)]
        return self._fn(state, *inputs)


def _examples_and_dims(specs) -> tuple[tuple, tuple]:
    """Example inputs (batch 2: torch.export specialises a size-1 axis to a constant; other
    free axes distinct primes so no two free axes look equal) and their dynamic Dims."""
    batch = torch.export.Dim("batch")
    primes = iter([3, 5, 7, 11, 13, 17, 19, 23, 29, 31] * 16)
    examples, dims = [], []
    for index, spec in enumerate(specs):
        shape, axes = [], {}
        for axis, size in enumerate(spec.shape):
            if axis == 0:
                shape.append(2)
                axes[0] = batch
            elif size is None:
                shape.append(next(primes))
                axes[axis] = torch.export.Dim(f"d{index}_{axis}")
            else:
                shape.append(size)
        dtype = getattr(torch, spec.dtype)
        examples.append(torch.zeros(shape, dtype=dtype) if dtype.is_floating_point
                        else torch.ones(shape, dtype=dtype))
        dims.append(axes)
    return tuple(examples), tuple(dims)


@contextlib.contextmanager
def _quiet():
    """torch.onnx logs each optional torchvision kernel it cannot find, and torch.export warns
    about module attributes it treats as constants: noise for an exported nhanh model."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _trace(module, examples, dims, **kwargs):
    try:
        # forward(*inputs): torch.export sees the varargs as one argument, a tuple
        return torch.export.export(module, examples, dynamic_shapes=(dims,), strict=False,
                                   **kwargs)
    except Exception as error:
        raise _untraceable(error) from error


def _untraceable(error: Exception) -> RuntimeError:
    return RuntimeError(
        f"torch.export could not trace the model with a free batch size "
        f"({type(error).__name__}: {error}). A layer may fix the batch size (a Reshape to a "
        "shape that includes it, a Python branch on a size): keep the batch axis free in "
        "the model.")


def export_program(fn: Callable[..., Any], state: list, specs, path: str, **kwargs) -> None:
    """`torch.export` of `fn(state, *inputs)`, saved with `torch.export.save` at `path`.

    Args:
        fn: The model's pure inference function.
        state: Its variables' values (NumPy arrays).
        specs: The inputs' TensorSpecs.
        path: Where to write the .pt2 archive.
        **kwargs: Passed to `torch.export.export` (e.g. `preserve_module_call_signature`).
    """
    allowed = set(inspect.signature(torch.export.export).parameters) - \
        {"mod", "args", "kwargs", "dynamic_shapes", "strict"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"model.export(format='torch_export') got unknown keyword arguments "
                        f"{unknown}; it passes on torch.export.export's {sorted(allowed)}.")
    module = _Serve(fn, state).eval()
    examples, dims = _examples_and_dims(specs)
    with _quiet(), torch.no_grad():
        program = _trace(module, examples, dims, **kwargs)
        torch.export.save(program, path)


def export_onnx(fn: Callable[..., tuple], state: list, specs, output_names, path: str,
                opset_version: int | None = None, **kwargs) -> None:
    """An ONNX model of `fn(state, *inputs)` (flat outputs) at `path`, weights inside it.

    Args:
        fn: The model's pure inference function, returning a flat tuple.
        state: Its variables' values (NumPy arrays).
        specs: The inputs' TensorSpecs; their names become the ONNX input names.
        output_names: The ONNX output names, one per output.
        path: Where to write the .onnx file.
        opset_version: ONNX opset; None for the exporter's default.
        **kwargs: Passed to `torch.onnx.export`.
    """
    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"model.export(format='onnx') needs {' and '.join(missing)} "
                          "(torch.onnx's exporter uses them). Install them with: "
                          "pip install 'nhanh[export]'  (or: pip install onnx onnxscript)")
    module = _Serve(fn, state).eval()
    examples, dims = _examples_and_dims(specs)
    with _quiet(), torch.no_grad():
        try:  # the module itself, not a traced program, so the ONNX axes keep Dim names
            onnx_program = torch.onnx.export(
                module, examples, dynamo=True, dynamic_shapes=(dims,),
                input_names=[s.name for s in specs], output_names=list(output_names),
                opset_version=opset_version, verbose=False, **kwargs)
        except Exception as error:
            raise _untraceable(error) from error
        onnx_program.save(path, external_data=False)
