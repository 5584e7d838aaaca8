"""Image kernels the JAX engine does best itself (jax.image), behind nhanh.ops.image."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _image_resize(images, size, interpolation="bilinear", antialias=False,
                  data_format="channels_last"):
    """A batch of float images (rank 4) resized to `size` (height, width) with jax.image:
    half-pixel centres; "nearest", "bilinear", "bicubic" (Keys, a=-0.5), "lanczos3/5"."""
    images = jnp.asarray(images)
    batch, *rest = images.shape
    if data_format == "channels_first":
        shape = (batch, rest[0], *size)
    else:
        shape = (batch, *size, rest[-1])
    return jax.image.resize(images, shape, method=interpolation, antialias=antialias)
