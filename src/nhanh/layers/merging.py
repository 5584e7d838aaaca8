"""Merging layers: combine a list of inputs into one (Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate, Dot), plus Keras's functional shortcuts (`add([a, b])`, ...)."""

from __future__ import annotations

from typing import Sequence

from nhanh import config, ops
from nhanh.layers.layer import Layer


def _is_shape_list(input_shape) -> bool:
    return (isinstance(input_shape, (list, tuple)) and len(input_shape) > 0
            and all(isinstance(s, (list, tuple)) for s in input_shape))


class Merge(Layer):
    """Base of the element-wise merges: shapes broadcast as in Keras (batch axes must agree;
    inputs of lower rank get size-1 axes inserted after the batch axis)."""

    supports_masking = True
    _min_inputs = 1
    _max_inputs: int | None = None

    def _check_inputs(self, input_shape) -> list[tuple]:
        name = type(self).__name__
        if not _is_shape_list(input_shape):
            raise ValueError(f"Layer {self.name!r} ({name}) must be called on a list of inputs, "
                             f"but received one input of shape {input_shape}.")
        count = len(input_shape)
        if count < self._min_inputs or (self._max_inputs is not None
                                        and count > self._max_inputs):
            expected = (f"exactly {self._min_inputs}" if self._min_inputs == self._max_inputs
                        else f"at least {self._min_inputs}")
            raise ValueError(f"Layer {self.name!r} ({name}) expects {expected} inputs, but "
                             f"received {count}, with shapes {list(input_shape)}.")
        shapes = [tuple(s) for s in input_shape]
        if any(len(s) == 0 for s in shapes):
            raise ValueError(f"Layer {self.name!r} ({name}) needs inputs with a batch axis, but "
                             f"received shapes {shapes}.")
        return shapes

    def _broadcast(self, shapes: list[tuple]) -> tuple:
        """The output shape; a mismatch names the layer and every input shape."""
        batch = {s[0] for s in shapes} - {None}
        if len(batch) > 1:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) cannot merge inputs "
                             f"with different batch sizes; received shapes {shapes}.")
        out: tuple = shapes[0][1:]
        for shape in shapes[1:]:
            a, b = (out, shape[1:]) if len(out) >= len(shape) - 1 else (shape[1:], out)
            lead, dims = list(a[:len(a) - len(b)]), []
            for i, j in zip(a[len(a) - len(b):], b):
                if i is None or j is None:
                    dims.append(None)
                elif i == 1 or j == 1 or i == j:
                    dims.append(j if i == 1 else i)
                else:
                    raise ValueError(
                        f"Layer {self.name!r} ({type(self).__name__}) needs inputs whose shapes "
                        f"are equal or broadcastable (sizes equal or 1 on each axis after the "
                        f"batch axis), but received shapes {shapes}.")
            out = tuple(lead + dims)
        return (batch.pop() if batch else None, *out)

    def build(self, input_shape) -> None:
        self._broadcast(self._check_inputs(input_shape))

    def compute_output_shape(self, input_shape):
        return self._broadcast(self._check_inputs(input_shape))

    def call(self, inputs, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) must be called on a "
                             f"list of inputs, but received one array of shape "
                             f"{tuple(inputs.shape)}.")
        inputs = list(inputs)
        rank = max(len(x.shape) for x in inputs)
        for i, x in enumerate(inputs):
            # Lower-rank inputs broadcast against the axes right after the batch axis (Keras).
            for _ in range(rank - len(x.shape)):
                x = ops.expand_dims(x, 1)
            inputs[i] = x
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        return self._merge(inputs, masks)

    def _merge(self, inputs: list, masks: list):
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        """The OR of the input masks (None unless every input is masked)."""
        if mask is None:
            return None
        masks = _check_masks(self, inputs, mask)
        if any(m is None for m in masks):
            return None
        out = masks[0]
        for m in masks[1:]:
            out = ops.logical_or(out, m)
        return out


def _check_masks(layer: Layer, inputs, mask) -> list:
    if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) \
            or len(mask) != len(inputs):
        count = len(inputs) if isinstance(inputs, (list, tuple)) else 1
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) needs one mask (or None)"
                         f" per input: {count} input(s), but received mask={mask!r}.")
    return list(mask)


def _full_mask(mask, x):
    """A (batch, steps) mask broadcast over the feature axes of x."""
    mask = ops.cast(mask, "bool")
    while len(mask.shape) < len(x.shape):
        mask = ops.expand_dims(mask, -1)
    return ops.broadcast_to(mask, tuple(x.shape))


class Add(Merge):
    """The sum of the inputs.

    Called on a list of tensors; shapes broadcast as described in `Merge`.

    Args:
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def _merge(self, inputs, masks):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return out


class Subtract(Merge):
    """inputs[0] - inputs[1].

    Called on a list of exactly two tensors; shapes broadcast as described in `Merge`.

    Args:
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _min_inputs = _max_inputs = 2

    def _merge(self, inputs, masks):
        return ops.subtract(inputs[0], inputs[1])


class Average(Merge):
    """The mean of the inputs.

    Called on a list of tensors; shapes broadcast as described in `Merge`.

    Args:
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def _merge(self, inputs, masks):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return out / len(inputs)


class Multiply(Merge):
    """The product of the inputs; masked entries count as 1, and where every input is masked
    the output is 0 (Keras's rule).

    Args:
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def _merge(self, inputs, masks):
        full = [None if m is None else _full_mask(m, x) for x, m in zip(inputs, masks)]
        all_masked = all(m is not None for m in full)
        out, union = None, None
        for x, m in zip(inputs, full):
            if m is not None:
                x = ops.where(m, x, ops.ones_like(x))
                if all_masked:
                    union = m if union is None else ops.logical_or(union, m)
            out = x if out is None else ops.multiply(out, x)
        if all_masked:
            out = ops.where(union, out, ops.zeros_like(out))
        return out


class _MaskedExtremum(Merge):
    """Maximum/Minimum: a masked entry is replaced by the other operand, so it cannot win."""

    def _op(self, a, b):
        raise NotImplementedError

    def _merge(self, inputs, masks):
        out, out_mask = inputs[0], None if masks[0] is None else _full_mask(masks[0], inputs[0])
        for x, m in zip(inputs[1:], masks[1:]):
            m = None if m is None else _full_mask(m, x)
            if m is not None:
                x = ops.where(m, x, out)
            if out_mask is not None:
                out = ops.where(out_mask, out, x)
            out_mask = None if m is None or out_mask is None else ops.logical_or(out_mask, m)
            out = self._op(out, x)
        return out


class Maximum(_MaskedExtremum):
    """The element-wise maximum of the inputs.

    Called on a list of tensors; a masked entry never wins against an unmasked one.

    Args:
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def _op(self, a, b):
        return ops.maximum(a, b)


class Minimum(_MaskedExtremum):
    """The element-wise minimum of the inputs.

    Called on a list of tensors; a masked entry never wins against an unmasked one.

    Args:
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def _op(self, a, b):
        return ops.minimum(a, b)


class Concatenate(Merge):
    """Joins the inputs along `axis`; every other axis must agree.

    Args:
        axis: Int, the axis to concatenate along (negative counts from the end).
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(f"Concatenate: `axis` must be an integer, got {axis!r}.")
        self.axis = axis

    def _concat_shape(self, input_shape) -> tuple:
        shapes = self._check_inputs(input_shape)
        rank = len(shapes[0])
        mismatch = any(len(s) != rank for s in shapes) or not -rank <= self.axis < rank
        axis = self.axis % rank if not mismatch else 0
        out = list(shapes[0])
        for i in range(rank):
            if mismatch:
                break
            sizes = [s[i] for s in shapes]
            if i == axis:
                out[i] = None if None in sizes else sum(sizes)
            else:
                known = {d for d in sizes if d is not None}
                mismatch = len(known) > 1
                out[i] = known.pop() if len(known) == 1 else None
        if mismatch:
            raise ValueError(
                f"Layer {self.name!r} (Concatenate) needs inputs of one rank with equal sizes on "
                f"every axis except the concatenation axis ({self.axis}), but received shapes "
                f"{shapes}.")
        return tuple(out)

    def build(self, input_shape) -> None:
        self._concat_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return self._concat_shape(input_shape)

    def call(self, inputs, mask=None):
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """Masks concatenated along `axis` (unmasked inputs count as all-True), reduced by any()
        over the last axis, as Keras does."""
        if mask is None:
            return None
        masks = _check_masks(self, inputs, mask)
        if all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                full.append(ops.ones_like(x, dtype="bool"))
            elif len(m.shape) < len(x.shape):
                full.append(_full_mask(m, x))
            else:
                full.append(ops.cast(m, "bool"))
        return ops.any(ops.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """Per-sample dot product of two inputs over `axes` (an int, or one axis per input); the
    output has the first input's remaining axes, then the second's (batch axis once).

    Args:
        axes: Int, the axis of both inputs to sum over, or a pair `(axis_of_first,
            axis_of_second)`; never the batch axis 0.
        normalize: If True, L2-normalize both inputs along the dot axes first, so the result is the
            cosine similarity.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _min_inputs = _max_inputs = 2

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2 or not all(isinstance(a, int) and not isinstance(a, bool)
                                         for a in axes):
                raise ValueError(f"Dot: `axes` must be an int or a pair of ints, got "
                                 f"axes={axes!r}.")
            axes = tuple(axes)
        elif not isinstance(axes, int) or isinstance(axes, bool):
            raise TypeError(f"Dot: `axes` must be an int or a pair of ints, got axes={axes!r}.")
        self.axes = axes
        self.normalize = bool(normalize)

    def _axes_for(self, shapes: Sequence[tuple]) -> tuple[int, int]:
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        axes = []
        for axis, shape in zip(pair, shapes):
            if len(shape) < 2 or not -len(shape) <= axis < len(shape) or axis % len(shape) == 0:
                raise ValueError(
                    f"Layer {self.name!r} (Dot) with axes={self.axes} needs inputs of rank >= 2 "
                    f"and axes other than the batch axis 0, but received shapes "
                    f"{[tuple(s) for s in shapes]}.")
            axes.append(axis % len(shape))
        return axes[0], axes[1]

    def _dot_shape(self, input_shape) -> tuple:
        s1, s2 = self._check_inputs(input_shape)
        a1, a2 = self._axes_for((s1, s2))
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(
                f"Layer {self.name!r} (Dot) needs equal sizes on the dot axes, but axis {a1} of "
                f"shape {s1} has {s1[a1]} and axis {a2} of shape {s2} has {s2[a2]}.")
        if s1[0] is not None and s2[0] is not None and s1[0] != s2[0]:
            raise ValueError(f"Layer {self.name!r} (Dot) cannot merge inputs with different "
                             f"batch sizes; received shapes {[s1, s2]}.")
        out = [d for i, d in enumerate(s1) if i != a1] + [d for i, d in enumerate(s2)
                                                          if i not in (0, a2)]
        return tuple(out) if len(out) > 1 else (*out, 1)

    def build(self, input_shape) -> None:
        self._dot_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return self._dot_shape(input_shape)

    def call(self, inputs, mask=None):
        x, y = inputs
        a1, a2 = self._axes_for((tuple(x.shape), tuple(y.shape)))
        if self.normalize:
            x, y = _l2_normalize(x, a1), _l2_normalize(y, a2)
        letters = "abcdefghijklmnopqrstuvwxyz"
        xs = letters[:len(x.shape)]
        ys = "a" + letters[len(x.shape):len(x.shape) + len(y.shape) - 1]
        ys = ys[:a2] + xs[a1] + ys[a2 + 1:]
        out = xs.replace(xs[a1], "") + ys[1:].replace(xs[a1], "")
        result = ops.einsum(f"{xs},{ys}->{out}", x, y)
        return ops.expand_dims(result, -1) if len(out) == 1 else result

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x, axis: int):
    """x / max(||x||, epsilon) along axis, written with rsqrt as Keras does."""
    eps = config.epsilon()
    square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(square_sum, eps * eps))


# --- functional shortcuts (keras.layers.add, ...) -------------------------------------------
def add(inputs, **kwargs):
    """Sums a list of tensors: `Add(**kwargs)(inputs)`.

    Args:
        inputs: List of tensors, of broadcastable shapes.
        **kwargs: Base-layer keywords for the `Add` layer (`name`, ...).

    Returns:
        The merged tensor (symbolic when the inputs are).
    """
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Subtracts the second of two tensors from the first: `Subtract(**kwargs)(inputs)`.

    Args:
        inputs: List of two tensors.
        **kwargs: Base-layer keywords for the `Subtract` layer (`name`, ...).

    Returns:
        The merged tensor (symbolic when the inputs are).
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Multiplies a list of tensors element-wise: `Multiply(**kwargs)(inputs)`.

    Args:
        inputs: List of tensors, of broadcastable shapes.
        **kwargs: Base-layer keywords for the `Multiply` layer (`name`, ...).

    Returns:
        The merged tensor (symbolic when the inputs are).
    """
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Averages a list of tensors: `Average(**kwargs)(inputs)`.

    Args:
        inputs: List of tensors, of broadcastable shapes.
        **kwargs: Base-layer keywords for the `Average` layer (`name`, ...).

    Returns:
        The merged tensor (symbolic when the inputs are).
    """
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Element-wise maximum of a list of tensors: `Maximum(**kwargs)(inputs)`.

    Args:
        inputs: List of tensors, of broadcastable shapes.
        **kwargs: Base-layer keywords for the `Maximum` layer (`name`, ...).

    Returns:
        The merged tensor (symbolic when the inputs are).
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Element-wise minimum of a list of tensors: `Minimum(**kwargs)(inputs)`.

    Args:
        inputs: List of tensors, of broadcastable shapes.
        **kwargs: Base-layer keywords for the `Minimum` layer (`name`, ...).

    Returns:
        The merged tensor (symbolic when the inputs are).
    """
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis: int = -1, **kwargs):
    """Joins a list of tensors along `axis`: `Concatenate(axis, **kwargs)(inputs)`.

    Args:
        inputs: List of tensors with equal sizes on every axis but `axis`.
        axis: Int, the axis to concatenate along.
        **kwargs: Base-layer keywords for the `Concatenate` layer (`name`, ...).

    Returns:
        The concatenated tensor (symbolic when the inputs are).
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize: bool = False, **kwargs):
    """Per-sample dot product of two tensors: `Dot(axes, normalize, **kwargs)(inputs)`.

    Args:
        inputs: List of two tensors.
        axes: Int, or a pair of ints (one axis per input), the axes to sum over.
        normalize: If True, L2-normalize along the dot axes first (cosine similarity).
        **kwargs: Base-layer keywords for the `Dot` layer (`name`, ...).

    Returns:
        The product tensor (symbolic when the inputs are).
    """
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
