"""keras.ops.image's warps: map_coordinates, affine_transform, perspective_transform,
elastic_transform.

One mechanism: every warp computes, for each output pixel, the (fractional) input point it
comes from, and one sampler reads the images there (nearest or bilinear, with scipy.ndimage's
fill modes). A perspective transform is an affine transform with the two projective terms
set, so it is the same call. Written once with nhanh.ops (gathers), so both engines compute
the same numbers and autodiff differentiates through them.
"""

from __future__ import annotations

from nhanh import ops
from nhanh.backend.conv_shapes import data_format_of

__all__ = ["map_coordinates", "affine_transform", "perspective_transform", "elastic_transform"]

FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
ORDERS = {"nearest": 0, "bilinear": 1}


# --- the sampler ----------------------------------------------------------------------------
def _fix_index(index, size: int, fill_mode: str):
    """An integer index brought inside [0, size) the way `fill_mode` extends the input."""
    if fill_mode in ("constant", "nearest") or size == 1:
        return ops.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return ops.mod(index, size)
    if fill_mode == "mirror":  # ... 2 1 | 0 1 2 | 1 0 ... (edge not repeated)
        period = size - 1
        return ops.abs(ops.mod(index + period, 2 * period) - period)
    # reflect: ... 1 0 | 0 1 2 | 2 1 ... (edge repeated)
    return ops.floor_divide(_fix_index(2 * index + 1, 2 * size + 1, "mirror") - 1, 2)


def _nodes(coordinate, order: int):
    """[(integer index, weight)] that interpolate at `coordinate` along one axis."""
    if order == 0:  # halves away from zero, as jax.scipy.ndimage
        nearest = ops.sign(coordinate) * ops.floor(ops.abs(coordinate) + 0.5)
        return [(ops.cast(nearest, "int32"), None)]
    lower = ops.floor(coordinate)
    upper_weight = coordinate - lower
    lower = ops.cast(lower, "int32")
    return [(lower, 1.0 - upper_weight), (lower + 1, upper_weight)]


def _sample(flat, axis_coordinates, sizes, order, fill_mode, fill_value, offset=None):
    """Sum over interpolation corners of weight * flat[linear index] (flat: axis 0 indexed).

    `axis_coordinates` are float coordinates, one per axis of sizes; `offset` (an int index)
    is added to the linear index (the batch's place in a flattened batch)."""
    corners = [[]]
    stride = 1
    strides = []
    for size in reversed(sizes):
        strides.insert(0, stride)
        stride *= size
    for coordinate, size, step in zip(axis_coordinates, sizes, strides):
        options = []
        for index, weight in _nodes(coordinate, order):
            valid = ops.logical_and(index >= 0, index < size) if fill_mode == "constant" else None
            options.append((_fix_index(index, size, fill_mode) * step, valid, weight))
        corners = [c + [o] for c in corners for o in options]
    total = None
    for corner in corners:
        linear = corner[0][0]
        for part, _, _ in corner[1:]:
            linear = linear + part
        if offset is not None:
            linear = linear + offset
        value = ops.take(flat, linear, axis=0)
        extra = len(ops.shape(value)) - len(ops.shape(linear))  # channels after the points
        valid, weight = None, None
        for _, ok, w in corner:
            if ok is not None:
                valid = ok if valid is None else ops.logical_and(valid, ok)
            if w is not None:
                weight = w if weight is None else weight * w
        if valid is not None:
            value = ops.where(_trail(valid, extra), value, ops.cast(fill_value, ops.dtype(value)))
        if weight is not None:
            value = value * _trail(ops.cast(weight, ops.dtype(value)), extra)
        total = value if total is None else total + value
    return total


def _trail(x, extra: int):
    for _ in range(extra):
        x = ops.expand_dims(x, -1)
    return x


def _work_dtype(x) -> str:
    dtype = ops.dtype(x)
    return dtype if "float" in dtype else "float32"


def _back_to(result, dtype: str):
    """The float result in the input's dtype (integers rounded and clipped to their range)."""
    if "float" in dtype:
        return ops.cast(result, dtype)
    return ops.saturate_cast(ops.round(result), dtype)


def _check_choice(value, choices, arg: str, fn: str):
    if value not in choices:
        raise ValueError(f"{fn}: `{arg}` must be one of {list(choices)}, got {arg}={value!r}.")


# --- the ops --------------------------------------------------------------------------------
def map_coordinates(inputs, coordinates, order: int, fill_mode: str = "constant",
                    fill_value: float = 0.0):
    """`inputs` read at fractional `coordinates` (scipy.ndimage.map_coordinates's meaning).

    Args:
        inputs: Tensor of any rank n.
        coordinates: A tensor of shape (n, *out_shape), or a list of n tensors of shape
            out_shape: for each output point, its coordinate along each axis of `inputs`.
        order: 0 (nearest; halves rounded away from zero) or 1 (linear).
        fill_mode: How points outside `inputs` are read: "constant" (`fill_value`),
            "nearest" (the edge value), "wrap", "mirror" (edge not repeated) or "reflect"
            (edge repeated).
        fill_value: The value outside `inputs` with `fill_mode="constant"`.

    Returns:
        A tensor of shape out_shape, in `inputs`' dtype.
    """
    inputs = ops.convert_to_tensor(inputs)
    dtype = ops.dtype(inputs)
    if isinstance(coordinates, (list, tuple)):
        coordinates = [ops.convert_to_tensor(c) for c in coordinates]
        leading = len(coordinates)
    else:
        coordinates = ops.convert_to_tensor(coordinates)
        leading = ops.shape(coordinates)[0] if len(ops.shape(coordinates)) else 0
        if len(ops.shape(coordinates)) < 2:
            raise ValueError("map_coordinates: `coordinates` must have rank >= 2 (one row per "
                             f"axis of inputs), got shape {tuple(ops.shape(coordinates))}.")
        coordinates = [coordinates[i] for i in range(leading)]
    sizes = tuple(ops.shape(inputs))
    if leading != len(sizes):
        raise ValueError(f"map_coordinates: `coordinates` needs one row per axis of `inputs` "
                         f"({len(sizes)} for shape {sizes}), got {leading}.")
    _check_choice(fill_mode, FILL_MODES, "fill_mode", "map_coordinates")
    _check_choice(order, (0, 1), "order", "map_coordinates")
    work = _work_dtype(inputs)
    coordinates = [ops.cast(c, work) for c in coordinates]
    flat = ops.reshape(ops.cast(inputs, work), (-1,))
    return _back_to(_sample(flat, coordinates, sizes, order, fill_mode, fill_value), dtype)


def _warp(images, ys, xs, interpolation, fill_mode, fill_value, data_format):
    """Images (rank 3 or 4) read at input points (ys, xs), each (batch, height, width)."""
    batched = len(ops.shape(images)) == 4
    if not batched:
        images = ops.expand_dims(images, 0)
    if data_format == "channels_first":
        images = ops.transpose(images, (0, 2, 3, 1))
    batch, height, width, channels = ops.shape(images)
    dtype = ops.dtype(images)
    flat = ops.reshape(ops.cast(images, _work_dtype(images)), (batch * height * width, channels))
    offset = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (batch, 1, 1))
    out = _sample(flat, [ys, xs], (height, width), ORDERS[interpolation], fill_mode,
                  fill_value, offset)
    out = _back_to(out, dtype)
    if data_format == "channels_first":
        out = ops.transpose(out, (0, 3, 1, 2))
    return out if batched else ops.squeeze(out, 0)


def _check_images(images, fn: str):
    images = ops.convert_to_tensor(images)
    if len(ops.shape(images)) not in (3, 4):
        raise ValueError(f"{fn}: `images` must have rank 3 (one image) or 4 (a batch), got "
                         f"shape {tuple(ops.shape(images))}.")
    return images


def _spatial(images, data_format):
    shape = ops.shape(images)
    return (shape[-2], shape[-1]) if data_format == "channels_first" else (shape[-3], shape[-2])


def affine_transform(images, transform, interpolation: str = "bilinear",
                     fill_mode: str = "constant", fill_value: float = 0,
                     data_format: str | None = None):
    """Images warped by projective transforms given as 8 numbers [a0, a1, a2, b0, b1, b2,
    c0, c1]: output pixel (x, y) reads input point ((a0 x + a1 y + a2) / k,
    (b0 x + b1 y + b2) / k), with k = c0 x + c1 y + 1 (Keras's and TensorFlow's meaning).

    Args:
        images: One image (rank 3) or a batch (rank 4).
        transform: Shape (8,) for all images, or (batch, 8), one per image.
        interpolation: "nearest" or "bilinear".
        fill_mode: How points outside the image are read: "constant", "nearest", "wrap",
            "mirror" or "reflect" (see map_coordinates).
        fill_value: The value outside the image with `fill_mode="constant"`.
        data_format: "channels_last" or "channels_first"; default the configured one.

    Returns:
        The warped images, in `images`' shape and dtype.
    """
    fn = "affine_transform"
    images = _check_images(images, fn)
    _check_choice(interpolation, ORDERS, "interpolation", fn)
    _check_choice(fill_mode, FILL_MODES, "fill_mode", fn)
    data_format = data_format_of(data_format)
    transform = ops.convert_to_tensor(transform)
    if len(ops.shape(transform)) not in (1, 2) or ops.shape(transform)[-1] != 8:
        raise ValueError(f"{fn}: `transform` must have shape (8,) or (batch, 8), got shape "
                         f"{tuple(ops.shape(transform))}.")
    if len(ops.shape(transform)) == 1:
        transform = ops.expand_dims(transform, 0)
    height, width = _spatial(images, data_format)
    work = _work_dtype(images)
    transform = ops.cast(transform, work)
    y = ops.reshape(ops.arange(height, dtype=work), (1, height, 1))
    x = ops.reshape(ops.arange(width, dtype=work), (1, 1, width))
    t = [ops.reshape(transform[:, i], (-1, 1, 1)) for i in range(8)]
    k = t[6] * x + t[7] * y + 1.0
    xs = (t[0] * x + t[1] * y + t[2]) / k
    ys = (t[3] * x + t[4] * y + t[5]) / k
    batch = ops.shape(images)[0] if len(ops.shape(images)) == 4 else 1
    xs = ops.broadcast_to(xs, (batch, height, width))
    ys = ops.broadcast_to(ys, (batch, height, width))
    return _warp(images, ys, xs, interpolation, fill_mode, fill_value, data_format)


def compute_homography_matrix(start_points, end_points):
    """The 8 transform numbers (see affine_transform) that take each of 4 `end_points` (x, y)
    to its `start_point`: shape (batch, 8) from points of shape (batch, 4, 2)."""
    start_x, start_y = start_points[..., 0], start_points[..., 1]
    end_x, end_y = end_points[..., 0], end_points[..., 1]
    zero, one = ops.zeros_like(end_x), ops.ones_like(end_x)
    rows_x = ops.stack([end_x, end_y, one, zero, zero, zero, -start_x * end_x,
                        -start_x * end_y], axis=-1)
    rows_y = ops.stack([zero, zero, zero, end_x, end_y, one, -start_y * end_x,
                        -start_y * end_y], axis=-1)
    system = ops.concatenate([rows_x, rows_y], axis=1)  # (batch, 8, 8)
    target = ops.expand_dims(ops.concatenate([start_x, start_y], axis=-1), -1)
    return ops.squeeze(ops.solve(system, target), -1)


def perspective_transform(images, start_points, end_points, interpolation: str = "bilinear",
                          fill_value: float = 0, data_format: str | None = None):
    """Images warped so that the 4 `start_points` move to the 4 `end_points`.

    Args:
        images: One image (rank 3) or a batch (rank 4).
        start_points: Shape (4, 2) or (batch, 4, 2): corners (x, y) in the input.
        end_points: The same shape: where those corners land in the output.
        interpolation: "nearest" or "bilinear".
        fill_value: The value of output pixels that come from outside the input.
        data_format: "channels_last" or "channels_first"; default the configured one.

    Returns:
        The warped images, in `images`' shape and dtype.
    """
    fn = "perspective_transform"
    images = _check_images(images, fn)
    points = []
    for arg, value in (("start_points", start_points), ("end_points", end_points)):
        value = ops.cast(ops.convert_to_tensor(value), "float32")
        shape = tuple(ops.shape(value))
        if len(shape) not in (2, 3) or shape[-2:] != (4, 2):
            raise ValueError(f"{fn}: `{arg}` must have shape (4, 2) or (batch, 4, 2), got "
                             f"shape {shape}.")
        points.append(value if len(shape) == 3 else ops.expand_dims(value, 0))
    if ops.shape(points[0]) != ops.shape(points[1]):
        raise ValueError(f"{fn}: `start_points` and `end_points` must have the same shape, got "
                         f"{tuple(ops.shape(start_points))} and {tuple(ops.shape(end_points))}.")
    transform = compute_homography_matrix(*points)
    return affine_transform(images, transform, interpolation=interpolation,
                            fill_mode="constant", fill_value=fill_value, data_format=data_format)


def _gaussian_blur_2d(x, sigma, size: int):
    """(batch, height, width) blurred by a Gaussian of `sigma` (a number or a traced scalar)
    over `size` taps, zero padding, as a separable pair of convolutions."""
    taps = ops.arange(size, dtype=ops.dtype(x)) - (size - 1) / 2
    kernel = ops.exp(-0.5 * (taps / ops.cast(sigma, ops.dtype(x))) ** 2)
    kernel = kernel / ops.sum(kernel)
    x = ops.expand_dims(x, -1)
    x = ops.conv(x, ops.reshape(kernel, (size, 1, 1, 1)), padding="same")
    x = ops.conv(x, ops.reshape(kernel, (1, size, 1, 1)), padding="same")
    return ops.squeeze(x, -1)


def elastic_warp(images, noise, alpha, sigma, kernel_size: int, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None):
    """Images displaced by `noise` (2, batch, height, width: x then y), blurred by a Gaussian
    of `sigma` over `kernel_size` taps and scaled by `alpha` (both may be traced scalars);
    elastic_transform and RandomElasticTransform share it."""
    data_format = data_format_of(data_format)
    height, width = _spatial(images, data_format)
    work = _work_dtype(images)
    batch = ops.shape(noise)[1]
    field = _gaussian_blur_2d(ops.reshape(ops.cast(noise, work), (2 * batch, height, width)),
                              sigma, kernel_size)
    field = ops.reshape(field, (2, batch, height, width)) * ops.cast(alpha, work)
    y = ops.reshape(ops.arange(height, dtype=work), (1, height, 1))
    x = ops.reshape(ops.arange(width, dtype=work), (1, 1, width))
    return _warp(images, y + field[1], x + field[0], interpolation, fill_mode, fill_value,
                 data_format)


def elastic_transform(images, alpha: float = 20.0, sigma: float = 5.0,
                      interpolation: str = "bilinear", fill_mode: str = "reflect",
                      fill_value: float = 0.0, seed=None, data_format: str | None = None):
    """Images distorted by a smooth random displacement field: Gaussian noise (std `sigma`)
    blurred by a Gaussian of width `sigma` (int(6 sigma) | 1 taps), scaled by `alpha`.

    Unlike Keras's JAX backend, the horizontal and vertical fields are drawn independently
    (Keras draws both from one seed, so every pixel moves along the diagonal).

    Args:
        images: One image (rank 3) or a batch (rank 4).
        alpha: Strength of the displacement, in pixels per unit of blurred noise.
        sigma: Standard deviation of the noise and width of the blur.
        interpolation: "nearest" or "bilinear".
        fill_mode: How points outside the image are read (see affine_transform).
        fill_value: The value outside the image with `fill_mode="constant"`.
        seed: An int, a SeedGenerator or None (the global generator).
        data_format: "channels_last" or "channels_first"; default the configured one.

    Returns:
        The distorted images, in `images`' shape and dtype.
    """
    from nhanh import random

    fn = "elastic_transform"
    images = _check_images(images, fn)
    _check_choice(interpolation, ORDERS, "interpolation", fn)
    _check_choice(fill_mode, FILL_MODES, "fill_mode", fn)
    data_format = data_format_of(data_format)
    height, width = _spatial(images, data_format)
    batch = ops.shape(images)[0] if len(ops.shape(images)) == 4 else 1
    noise = random.normal((2, batch, height, width), stddev=sigma, dtype=_work_dtype(images),
                          seed=seed)
    return elastic_warp(images, noise, alpha, float(sigma), int(6 * sigma) | 1, interpolation,
                        fill_mode, fill_value, data_format)
