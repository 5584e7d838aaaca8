"""Image kernels the PyTorch engine does best itself (F.interpolate), behind nhanh.ops.image."""

from __future__ import annotations

import torch
import torch.nn.functional as F

_MODES = {"bilinear": "bilinear", "bicubic": "bicubic", "nearest": "nearest-exact"}


def _image_resize(images, size, interpolation="bilinear", antialias=False,
                  data_format="channels_last"):
    """A batch of float images (rank 4) resized to `size` (height, width) with F.interpolate:
    half-pixel centres; "nearest", "bilinear", "bicubic" (PyTorch's a=-0.75)."""
    if interpolation not in _MODES:
        raise ValueError(f"The torch backend resizes with {sorted(_MODES)} here, got "
                         f"interpolation={interpolation!r}.")
    images = torch.as_tensor(images)
    if data_format == "channels_last":
        images = images.permute(0, 3, 1, 2)
    smooth = interpolation in ("bilinear", "bicubic")
    out = F.interpolate(images, size=tuple(int(s) for s in size), mode=_MODES[interpolation],
                        align_corners=False if smooth else None,
                        antialias=bool(antialias) and smooth)
    if data_format == "channels_last":
        out = out.permute(0, 2, 3, 1)
    return out.contiguous()
