"""EinsumDense: a Dense layer whose product is any einsum of the input with a kernel, e.g.
"abc,cde->abde" projects each step's features to (heads, head_dim) in one op (the projections
of multi-head attention).

The kernel's and bias's shapes come from the equation, the input's shape and `output_shape`
by Keras 3's rules, so weights move between Keras and nhanh unchanged:
  - each kernel letter takes its size from the output (if the output has it) else the input;
  - the bias spans the output from the first letter of `bias_axes` to the end, sized on the
    letters named and 1 elsewhere (plus 1s for axes elided on the right);
  - glorot/he/lecun-style initializers count fans over the kernel's input letters (those the
    output lacks) and output letters, not over its last two axes.
Three forms are accepted: "ab,bc->ac", "...b,bc->...c" (leading axes elided) and
"ab...,bc->ac..." (trailing axes elided). LoRA and quantization are not implemented.
"""

from __future__ import annotations

import copy
import math
import re
from typing import NamedTuple, Sequence

from nhanh import activations, constraints, initializers, ops, regularizers
from nhanh.initializers.random_initializers import VarianceScaling
from nhanh.layers.layer import InputSpec, Layer

_FORMS = (  # (pattern on the equation with "..." written as "0", which side is elided)
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), "right"),
)


class EinsumShapes(NamedTuple):
    kernel: tuple
    bias: tuple | None
    output: tuple
    input_axes: tuple
    output_axes: tuple


def analyze_equation(equation: str, bias_axes: str | None, input_shape: Sequence,
                     output_shape: Sequence) -> EinsumShapes:
    """Kernel, bias and full output shapes (batch axis included) of an EinsumDense layer, and
    which kernel axes face the input and the output. Raises a ValueError naming the problem."""
    text = equation.replace("...", "0")
    for pattern, elided_side in _FORMS:
        match = pattern.fullmatch(text)
        if match:
            break
    else:
        raise ValueError(
            f"EinsumDense: `equation` must look like 'ab,bc->ac', '...b,bc->...c' or "
            f"'ab...,bc->ac...' (letters only, one input and one kernel), got {equation!r}.")
    in_spec, w_spec, out_spec = match.groups()
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(in_spec)
    if (elided < 0 or (elided > 0 and elided_side is None)
            or (elided == 0 and elided_side == "left")):  # "..." must hold the batch axis
        raise ValueError(f"EinsumDense: equation {equation!r} names {len(in_spec)} input axes, "
                         f"but the input has shape {input_shape}.")
    out = [input_shape[0], *output_shape]
    if elided_side == "left":
        out[1:1] = input_shape[1:elided]
        in_axis = {d: elided + i for i, d in enumerate(in_spec)}
        out_axis = {d: elided + i for i, d in enumerate(out_spec)}
    else:
        if elided_side == "right" and elided > 0:
            out += input_shape[len(input_shape) - elided:]
        in_axis = {d: i for i, d in enumerate(in_spec)}
        out_axis = {d: i for i, d in enumerate(out_spec)}
    if len(out) != len(out_spec) + (elided if elided_side else 0):
        raise ValueError(
            f"EinsumDense: `output_shape` {tuple(output_shape)} does not fit equation "
            f"{equation!r}: it needs one size per output letter after the batch axis "
            f"({len(out_spec) - (elided_side != 'left')} of them, None where unknown).")
    for d, axis in out_axis.items():
        if d in in_axis:
            size, given = input_shape[in_axis[d]], out[axis]
            if given is not None and size is not None and given != size:
                raise ValueError(
                    f"EinsumDense: letter {d!r} of equation {equation!r} is both an input and "
                    f"an output axis, but the input has size {size} there and `output_shape` "
                    f"says {given}.")
            out[axis] = size if given is None else given
        elif d not in w_spec:
            raise ValueError(f"EinsumDense: output letter {d!r} of equation {equation!r} is in "
                             "neither the input nor the kernel.")
    kernel, input_axes, output_axes = [], [], []
    for i, d in enumerate(w_spec):
        if d in out_axis:
            size = out[out_axis[d]]
            output_axes.append(i)
        elif d in in_axis:
            size = input_shape[in_axis[d]]
            input_axes.append(i)
        else:
            raise ValueError(f"EinsumDense: kernel letter {d!r} of equation {equation!r} is in "
                             "neither the input nor the output, so its size is unknown.")
        if size is None:
            raise ValueError(f"EinsumDense: the kernel's axis {d!r} needs a known size, but it "
                             f"is None (input shape {input_shape}, output_shape "
                             f"{tuple(output_shape)}).")
        kernel.append(int(size))
    bias = None
    if bias_axes is not None:
        missing = [c for c in bias_axes if c not in out_spec]
        if missing:
            raise ValueError(f"EinsumDense: `bias_axes` {bias_axes!r} names {missing}, which "
                             f"are not output letters of equation {equation!r}.")
        first = min(out_spec.index(c) for c in bias_axes)
        bias = [out[out_axis[c]] if c in bias_axes else 1 for c in out_spec[first:]]
        if elided_side != "left":
            bias += [1] * elided
        bias = tuple(bias)
    return EinsumShapes(tuple(kernel), bias, tuple(out), tuple(input_axes), tuple(output_axes))


def _fans_over(initializer, input_axes: tuple, output_axes: tuple):
    """A copy of a VarianceScaling initializer whose fans are the products of the kernel's
    input and output axes (Keras's input_axes / output_axes); other initializers as they are."""
    if not isinstance(initializer, VarianceScaling):
        return initializer

    def variance(shape) -> float:
        fan_in = math.prod(shape[a] for a in input_axes)
        fan_out = math.prod(shape[a] for a in output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out,
               "fan_avg": (fan_in + fan_out) / 2}[initializer.mode]
        return initializer.scale / max(1.0, fan)

    fitted = copy.copy(initializer)
    fitted.variance = variance
    return fitted


class EinsumDense(Layer):
    """outputs = activation(einsum(equation, inputs, kernel) + bias).

    Args:
        equation: Einsum equation of the input and the kernel, e.g. `"ab,bc->ac"` (Dense),
            `"abc,cd->abd"` (Dense on each step), `"abc,cde->abde"` (per-head projections);
            `"..."` may stand for leading or trailing input axes.
        output_shape: Int or tuple, the output's shape without the batch axis (and without
            elided axes); `None` entries take the input's size on a shared letter.
        activation: Activation applied to the output (name or callable); `None` is linear.
        bias_axes: String of output letters the bias varies along (e.g. `"d"`); `None` for no
            bias.
        kernel_initializer: Initializer of the kernel.
        bias_initializer: Initializer of the bias.
        kernel_regularizer: Regularizer of the kernel, added to the loss; `None` for none.
        bias_regularizer: Regularizer of the bias.
        kernel_constraint: Constraint applied to the kernel after each update.
        bias_constraint: Constraint applied to the bias after each update.
        lora_rank: Keras's low-rank adaptation rank; only `None` is accepted (nhanh does not
            implement LoRA).
        lora_alpha: Keras's LoRA scale; only `None` is accepted.
        quantization_config: Keras's quantization settings; only `None` is accepted.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, `activity_regularizer`, ...).
    """

    def __init__(self, equation: str, output_shape, activation=None, bias_axes: str | None = None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(equation, str):
            raise TypeError(f"EinsumDense: `equation` must be a string such as 'ab,bc->ac', got "
                            f"{equation!r}.")
        for arg, value in (("lora_rank", lora_rank), ("lora_alpha", lora_alpha),
                           ("quantization_config", quantization_config)):
            if value is not None:
                raise NotImplementedError(f"EinsumDense: `{arg}` is not implemented in nhanh; "
                                          f"leave it None (got {arg}={value!r}).")
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise TypeError(f"EinsumDense: `bias_axes` must be a string of output letters or "
                            f"None, got {bias_axes!r}.")
        self.equation = equation
        self.partial_output_shape = ((output_shape,) if isinstance(output_shape, int)
                                     else tuple(output_shape))
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel = self.bias = None

    def build(self, input_shape) -> None:
        shapes = analyze_equation(self.equation, self.bias_axes, input_shape,
                                  self.partial_output_shape)
        self.input_spec = InputSpec(ndim=len(input_shape))
        init = _fans_over(self.kernel_initializer, shapes.input_axes, shapes.output_axes)
        self.kernel = self.add_weight(shapes.kernel, init, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        if shapes.bias is not None:
            self.bias = self.add_weight(shapes.bias, self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")

    def call(self, inputs):
        outputs = ops.einsum(self.equation, inputs, self.kernel.value)
        if self.bias is not None:
            outputs = outputs + self.bias.value
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return analyze_equation(self.equation, self.bias_axes, input_shape,
                                self.partial_output_shape).output

    def get_config(self) -> dict:
        def maybe(module, value):
            return None if value is None else module.serialize(value)

        return {**super().get_config(), "output_shape": self.partial_output_shape,
                "equation": self.equation, "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": maybe(regularizers, self.kernel_regularizer),
                "bias_regularizer": maybe(regularizers, self.bias_regularizer),
                "activity_regularizer": maybe(regularizers, self.activity_regularizer),
                "kernel_constraint": maybe(constraints, self.kernel_constraint),
                "bias_constraint": maybe(constraints, self.bias_constraint)}
