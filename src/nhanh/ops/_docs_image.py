"""Documentation stubs of the backend image kernels (see ops/image_geometry.py for the ops)."""


def _image_resize(images, size, interpolation="bilinear", antialias=False,
                  data_format="channels_last"):
    """The engine's own resize of a batch of float images (nhanh.ops.image.resize wraps it).

    Args:
        images: Rank-4 float tensor.
        size: (height, width) of the result.
        interpolation: "nearest", "bilinear" or "bicubic" (and "lanczos3"/"lanczos5" on JAX).
        antialias: Widen the kernel when downsampling (bilinear and bicubic).
        data_format: "channels_last" or "channels_first".

    Returns:
        The resized batch.
    """
