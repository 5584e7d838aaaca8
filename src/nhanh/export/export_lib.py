"""`model.export(...)`: a trained model as a file that runs without nhanh.

Formats, and the engine whose exporter writes each (a model on the other engine is rebuilt
there with the same weights: see engine_copy.py):

- "onnx": ONNX with a free batch axis, for onnxruntime and every ONNX server; PyTorch's
  `torch.onnx` (dynamo) exporter. For JAX there is no maintained exporter in JAX itself, and
  jax2onnx, the maintained converter, needs flax, equinox, optax and orbax: the PyTorch path
  on a rebuilt copy gives the same numbers with the engines nhanh already has.
- "jax_export": `jax.export`'s serialized StableHLO, weights baked in; read it back with
  `jax.export.deserialize(open(path, "rb").read()).call(x)`.
- "torch_export" (Keras's "torch"): `torch.export`'s ExportedProgram in a .pt2 file;
  `torch.export.load(path).module()(x)`.

Keras's other formats (tf_saved_model, litert, openvino) go through TensorFlow or OpenVINO,
which nhanh does not use; asking for them is an error that names the formats above.
Every file is written under a temporary name and renamed into place (saving/archive.py).
"""

from __future__ import annotations

import os
from typing import Any

from nhanh.export import engine_copy
from nhanh.saving.archive import atomic_write
from nhanh.export.signature import signature_of, with_outputs

FORMATS = ("onnx", "jax_export", "torch_export")
_ALIASES = {"torch": "torch_export"}  # Keras 3's name for torch.export
_ENGINE = {"onnx": "torch", "jax_export": "jax", "torch_export": "torch"}
_KERAS_ONLY = {  # Keras 3's formats that need an engine nhanh does not use
    "tf_saved_model": "a TensorFlow SavedModel is written by TensorFlow",
    "litert": "LiteRT (TFLite) files are written by TensorFlow's converter",
    "openvino": "OpenVINO files are written by the openvino package (OpenVINO also reads "
                "ONNX)",
}


def _check_format(format: Any) -> str:
    name = _ALIASES.get(format, format) if isinstance(format, str) else format
    if name in FORMATS:
        return name
    why = _KERAS_ONLY.get(name) if isinstance(name, str) else None
    why = f" In Keras, {why}; nhanh runs on JAX and PyTorch and uses neither TensorFlow " \
          "nor OpenVINO." if why else ""
    raise ValueError(
        f"model.export(): unknown format={format!r}.{why} nhanh exports to "
        f"{', '.join(repr(f) for f in FORMATS)} (and 'torch', Keras's name for "
        "'torch_export'). For a server without Python, use format='onnx' (onnxruntime, "
        "Triton, OpenVINO and TensorRT all read ONNX).")


def _backend_module(engine: str):
    import importlib

    return importlib.import_module(f"nhanh.backend.{engine}.export")


def _write(model, filepath: str, format: str, signature, kwargs: dict) -> None:
    engine = _ENGINE[format]
    with engine_copy.engine(engine):
        served = engine_copy.on_engine(model, engine, format)
        state, fn = engine_copy.inference(served, signature)
        writer = _backend_module(engine)
        with atomic_write(filepath) as partial:
            if format == "jax_export":
                data = writer.export_jax(fn, state, signature.inputs, **kwargs)
                with open(partial, "wb") as f:
                    f.write(data)
            elif format == "torch_export":
                writer.export_program(fn, state, signature.inputs, partial, **kwargs)
            else:
                outputs = _outputs_of(served, fn, state, signature)
                named = with_outputs(signature, served, outputs)
                writer.export_onnx(engine_copy.flat(fn), state, signature.inputs,
                                   named.output_names, partial, **kwargs)


def _outputs_of(model, fn, state, signature) -> Any:
    """The model's output structure, from one call on a small batch of zeros."""
    from nhanh import ops

    inputs = [ops.zeros(tuple(2 if i == 0 else (3 if d is None else d)
                              for i, d in enumerate(s.shape)), s.dtype)
              for s in signature.inputs]
    return fn([ops.convert_to_tensor(v) for v in state], *inputs)


def _check_no_host_layers(model) -> None:
    """Layers that compute on the host with NumPy (string lookups, ...) cannot be traced."""
    from nhanh.training import host_prefix

    plan = host_prefix.plan(model)
    if plan is not None and not plan.empty:
        names = [layer.name for layer in plan.host_layers]
        raise ValueError(
            f"model.export(): the model {model.name!r} starts with layers that compute on "
            f"the host with NumPy ({names}), which no exported program can hold. Export the "
            "model that takes their outputs (the layers after them), and run these layers "
            "in the serving code.")


def export_model(model, filepath, format: str = "onnx", verbose: bool | None = None,
                 input_signature=None, **kwargs) -> str:
    """Write `model`'s inference (its `call` with training=False) to `filepath` in `format`.

    Args:
        model: A built nhanh model (on either engine).
        filepath: Where to write the file (str or path-like); its folder is created.
        format: "onnx", "jax_export", "torch_export" (or Keras's "torch" for it).
        verbose: Print where the file went (None: yes, as Keras).
        input_signature: None for the model's own inputs; else Keras's forms: a list of
            tensors or InputSpec-likes with `.shape` and `.dtype`, or (shape, dtype) pairs,
            nested as the model's inputs are (a functional model's structure may come
            wrapped in a one-element list). The batch axis is always free.
        **kwargs: Format options: `opset_version` (onnx), `platforms` (jax_export, e.g.
            ("cpu", "cuda")), torch.export.export's own (torch_export).

    Returns:
        The path written, as a string.
    """
    format = _check_format(format)
    filepath = os.fspath(filepath)
    if format == "torch_export" and not filepath.endswith(".pt2"):
        raise ValueError(f"model.export(format='torch_export'): filepath must end with "
                         f"'.pt2', as torch.export.load expects; got {filepath!r}.")
    if os.path.isdir(filepath):
        raise ValueError(f"model.export(): filepath {filepath!r} is a folder; nhanh writes "
                         "one file: give a file name, e.g. 'model.onnx'.")
    unknown = set(kwargs) - {"opset_version"} if format == "onnx" else \
        set(kwargs) - {"platforms"} if format == "jax_export" else set()
    if unknown:
        raise TypeError(f"model.export(format={format!r}) got unknown keyword arguments "
                        f"{sorted(unknown)}.")
    _check_no_host_layers(model)
    signature = signature_of(model, input_signature)
    _write(model, filepath, format, signature, kwargs)
    if verbose is None or verbose:
        print(f"Saved artifact at '{filepath}'.")
    return filepath
