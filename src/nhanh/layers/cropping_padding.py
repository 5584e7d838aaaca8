"""Cropping and zero padding of the spatial axes: Cropping1D/2D/3D, ZeroPadding1D/2D/3D."""

from __future__ import annotations

from nhanh import config, ops
from nhanh.layers.layer import InputSpec, Layer


def int_tuple(value, n: int, arg: str, layer: str, allow_zero: bool = True) -> tuple[int, ...]:
    """`value` (an int or n ints) as a tuple of n ints, with an error naming the argument."""
    items = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    lowest = 0 if allow_zero else 1
    if (items is None or len(items) != n
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in items)
            or any(v < lowest for v in items)):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{layer}: `{arg}` must be a {kind} int or a tuple of {n} {kind} ints, "
                         f"got {arg}={value!r}.")
    return items


def data_format_of(data_format: str | None, layer: str) -> str:
    """The data format given, or the configured default; a typo fails at construction."""
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: `data_format` must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}.")
    return data_format


def pairs_2d(value, arg: str, layer: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """An int, (sym_height, sym_width) or ((top, bottom), (left, right)) as two pairs."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{layer}: `{arg}` must be an int, a tuple of 2 ints or a tuple of 2 "
                         f"tuples of 2 ints ((top, bottom), (left, right)), got {arg}={value!r}.")
    return (int_tuple(value[0], 2, f"{arg}[0]", layer), int_tuple(value[1], 2, f"{arg}[1]", layer))


def spatial_axes(data_format: str, n: int) -> tuple[int, ...]:
    return tuple(range(2, 2 + n)) if data_format == "channels_first" else tuple(range(1, 1 + n))


class _Cropping(Layer):
    """Removes `cropping[i]` = (before, after) entries from each spatial axis."""

    _rank = 1
    cropping: tuple[tuple[int, int], ...]
    data_format = "channels_last"

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self.input_spec.check(self, input_shape)
        out = list(input_shape)
        for axis, (before, after) in zip(spatial_axes(self.data_format, self._rank),
                                         self.cropping):
            size = input_shape[axis]
            if size is not None:
                if before + after >= size:
                    raise ValueError(
                        f"Layer {self.name!r} ({type(self).__name__}): cropping {self.cropping} "
                        f"removes everything from axis {axis} of input shape {input_shape}; "
                        "each cropping must leave at least one entry.")
                out[axis] = size - before - after
        return tuple(out)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def call(self, inputs):
        index = [slice(None)] * len(inputs.shape)
        for axis, (before, after) in zip(spatial_axes(self.data_format, self._rank),
                                         self.cropping):
            index[axis] = slice(before, inputs.shape[axis] - after)
        return inputs[tuple(index)]


class Cropping1D(_Cropping):
    """Crops (start, end) steps off axis 1 of (batch, steps, features) inputs.

    Args:
        cropping: Non-negative int (the same at both ends) or a pair `(start, end)`, the number of
            steps removed from each end.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = (int_tuple(cropping, 2, "cropping", "Cropping1D"),)
        self.input_spec = InputSpec(ndim=3)

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping[0]}


class Cropping2D(_Cropping):
    """Crops ((top, bottom), (left, right)) off the height and width axes of images.

    Args:
        cropping: Non-negative int (all four sides), a pair `(rows, cols)` (each cropped at both
            ends), or `((top, bottom), (left, right))`.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = pairs_2d(cropping, "cropping", "Cropping2D")
        self.data_format = data_format_of(data_format, "Cropping2D")
        self.input_spec = InputSpec(ndim=4)

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class _ZeroPadding(Layer):
    """Adds `padding[i]` = (before, after) zeros on each spatial axis."""

    _rank = 1
    padding: tuple[tuple[int, int], ...]
    data_format = "channels_last"

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self.input_spec.check(self, input_shape)
        out = list(input_shape)
        for axis, (before, after) in zip(spatial_axes(self.data_format, self._rank),
                                         self.padding):
            if out[axis] is not None:
                out[axis] += before + after
        return tuple(out)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def call(self, inputs):
        widths = [(0, 0)] * len(inputs.shape)
        for axis, pair in zip(spatial_axes(self.data_format, self._rank), self.padding):
            widths[axis] = pair
        return ops.pad(inputs, tuple(widths))

    def get_config(self) -> dict:
        padding = self.padding[0] if self._rank == 1 else self.padding
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Pads the steps axis of (batch, steps, features) inputs with zeros.

    Args:
        padding: Non-negative int (the same at both ends) or a pair `(start, end)`, the number of
            zero steps added at each end.
        data_format: `"channels_last"` (steps on axis 1) or `"channels_first"` (steps on axis 2);
            `None` uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, padding=1, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.padding = (int_tuple(padding, 2, "padding", "ZeroPadding1D"),)
        self.data_format = data_format_of(data_format, "ZeroPadding1D")
        self.input_spec = InputSpec(ndim=3)


class ZeroPadding2D(_ZeroPadding):
    """Pads the height and width axes of images with zeros.

    Args:
        padding: Non-negative int (all four sides), a pair `(rows, cols)` (each padded at both
            ends), or `((top, bottom), (left, right))`.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank = 2

    def __init__(self, padding=(1, 1), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.padding = pairs_2d(padding, "padding", "ZeroPadding2D")
        self.data_format = data_format_of(data_format, "ZeroPadding2D")
        self.input_spec = InputSpec(ndim=4)


def pairs_3d(value, arg: str, layer: str) -> tuple[tuple[int, int], ...]:
    """An int, three ints (each for both ends of its axis) or three (before, after) pairs, as
    three pairs for the (dim1, dim2, dim3) axes of a volume."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value, value)
    if not hasattr(value, "__len__") or len(value) != 3:
        raise ValueError(f"{layer}: `{arg}` must be an int, a tuple of 3 ints or a tuple of 3 "
                         f"(before, after) pairs, got {arg}={value!r}.")
    return tuple(int_tuple(v, 2, f"{arg}[{i}]", layer) for i, v in enumerate(value))


class Cropping3D(_Cropping):
    """Crops (before, after) entries off each of the three spatial axes of volumes.

    Args:
        cropping: Non-negative int (every side), three ints (each cropped at both ends of its
            axis), or `((d1_before, d1_after), (d2_before, d2_after), (d3_before, d3_after))`.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.cropping = pairs_3d(cropping, "cropping", "Cropping3D")
        self.data_format = data_format_of(data_format, "Cropping3D")
        self.input_spec = InputSpec(ndim=5)

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class ZeroPadding3D(_ZeroPadding):
    """Pads the three spatial axes of volumes with zeros.

    Args:
        padding: Non-negative int (every side), three ints (each padded at both ends of its
            axis), or `((d1_before, d1_after), (d2_before, d2_after), (d3_before, d3_after))`.
        data_format: `"channels_last"` (channels on the last axis) or `"channels_first"`; `None`
            uses `nhanh.config.image_data_format()`.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    _rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.padding = pairs_3d(padding, "padding", "ZeroPadding3D")
        self.data_format = data_format_of(data_format, "ZeroPadding3D")
        self.input_spec = InputSpec(ndim=5)
