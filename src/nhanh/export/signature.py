"""What an exported model takes and gives: input names, shapes, dtypes, output names.

An exported artifact is called without nhanh, so its inputs are plain positional arrays in the
order of the model's inputs (`model.inputs`; a dict of inputs in sorted-key order, as
`nhanh.tree.flatten` orders it), named as Keras names them (the `Input` names). Its outputs
keep the model's structure (one array, a list, or a dict) where the format allows nesting
(jax_export, torch_export) and are flat and named where it does not (ONNX).

The batch axis is always free. Other axes given as `None` stay free too (a sequence length).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nhanh.tree import flatten, pack_sequence_as


@dataclass(frozen=True)
class TensorSpec:
    """One exported input: its name, shape (`None` for a free size; the batch axis always is)
    and dtype name."""

    name: str
    shape: tuple
    dtype: str


@dataclass(frozen=True)
class Signature:
    """The exported function's inputs (flat, in call order), how to pack them into what the
    model's call takes, and the names of its flat outputs (known once it has been traced)."""

    inputs: tuple[TensorSpec, ...]
    structure: Any  # the model's call argument with the TensorSpecs as leaves
    output_names: tuple[str, ...] = ()

    def pack(self, flat_inputs) -> Any:
        """The model's call argument from the positional inputs."""
        return pack_sequence_as(self.structure, list(flat_inputs))


def _is_pair(x) -> bool:
    return isinstance(x, (tuple, list)) and len(x) == 2 and \
        isinstance(x[0], (tuple, list)) and isinstance(x[1], str)


def _spec(x, where: str) -> TensorSpec:
    """A TensorSpec from what Keras's `input_signature` takes: an InputSpec-like or a tensor
    (anything with `.shape` and `.dtype`), or a `(shape, dtype)` pair."""
    from nhanh.backend import standardize_dtype

    if isinstance(x, TensorSpec):
        return x
    if _is_pair(x):
        (shape, dtype), name = x, None
    elif getattr(x, "shape", None) is not None and getattr(x, "dtype", None) is not None:
        shape, dtype, name = x.shape, x.dtype, getattr(x, "name", None)
    else:
        raise TypeError(
            f"model.export(): {where} must be a tensor or InputSpec with a shape and a dtype "
            "(nhanh.Input(...), Keras's InputSpec(shape=..., dtype=...), an array) or a "
            f"(shape, dtype) pair such as ((None, 4), 'float32'); got {x!r}. nhanh's own "
            "InputSpec describes ranks, not shapes: pass (shape, dtype) instead.")
    try:
        shape = tuple(None if s is None else int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"model.export(): the shape of {where} must hold ints and None, got "
                         f"{tuple(shape)!r}.") from None
    if not shape:
        raise ValueError(f"model.export(): {where} has shape () with no batch axis; give each "
                         "input one, e.g. (None, 4) for batches of 4 features.")
    return TensorSpec(str(name or ""), (None,) + shape[1:], standardize_dtype(dtype))


def _to_specs(structure, where: str) -> Any:
    """`structure` with each leaf (tensor, InputSpec-like, (shape, dtype)) as a TensorSpec."""
    if isinstance(structure, dict):
        return {k: _to_specs(v, f"{where}[{k!r}]") for k, v in structure.items()}
    if isinstance(structure, (list, tuple)) and not _is_pair(structure):
        return type(structure)(_to_specs(v, f"{where}[{i}]") for i, v in enumerate(structure))
    return _spec(structure, where)


def _named(structure) -> tuple[tuple[TensorSpec, ...], Any]:
    """Flat specs with unique names (`input_i` where a spec has none) and the structure of
    them."""
    flat, names = flatten(structure), []
    for i, spec in enumerate(flat):
        name = spec.name or f"input_{i}"
        names.append(name if name not in names else f"{name}_{i}")
    flat = [TensorSpec(n, s.shape, s.dtype) for n, s in zip(names, flat)]
    return tuple(flat), pack_sequence_as(structure, flat)


def _from_model(model) -> Any:
    """The model's call argument as symbolic tensors or (shape, dtype) pairs; None if unknown."""
    structure = getattr(model, "_inputs_struct", None)  # functional
    if structure is not None:
        return structure
    try:
        inputs = model.inputs  # Sequential: [its input], called bare
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        return inputs[0] if len(inputs) == 1 else list(inputs)
    shape = getattr(model, "_build_input_shape", None)  # subclassed: how it was built
    if shape is None:
        return None
    dtype = getattr(model, "input_dtype", None) or "float32"

    def to_pairs(s):
        if isinstance(s, dict):
            return {k: to_pairs(v) for k, v in s.items()}
        if isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s):
            return (tuple(s), dtype)
        return [to_pairs(v) for v in s]

    return to_pairs(shape)


def _unwrap(input_signature) -> Any:
    """Keras wraps the call argument in a one-element list ([structure], [spec]); a longer
    list is a list of inputs."""
    if isinstance(input_signature, (list, tuple)) and len(input_signature) == 1 and \
            not _is_pair(input_signature):
        return input_signature[0]
    return input_signature


def signature_of(model, input_signature=None) -> Signature:
    """The export signature of `model`, from its inputs or from `input_signature`."""
    if input_signature is None:
        structure = _from_model(model)
        if structure is None:
            raise ValueError(
                f"model.export(): the model {model.name!r} has not been built, so its inputs "
                "are unknown. Call it once on a batch (or fit/predict), build it with "
                "model.build(input_shape), or pass input_signature=[((None, 4), 'float32')].")
        where = "the model's input"
    else:
        structure, where = _unwrap(input_signature), "input_signature"
    specs, packed = _named(_to_specs(structure, where))
    return Signature(specs, packed)


def with_outputs(signature: Signature, model, outputs) -> Signature:
    """`signature` with names for the flat outputs: the model's `output_names` where they fit,
    else `output` / `output_0`, `output_1`, ..."""
    count = len(flatten(outputs))
    names = None
    if isinstance(outputs, dict):
        names = sorted(outputs)
    else:
        try:
            names = list(model.output_names)
        except (AttributeError, ValueError, TypeError):
            pass
    if not names or len(names) != count or len(set(names)) != count:
        names = ["output"] if count == 1 else [f"output_{i}" for i in range(count)]
    return Signature(signature.inputs, signature.structure, tuple(str(n) for n in names))
