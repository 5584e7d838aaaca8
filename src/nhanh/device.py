"""`nhanh.device("gpu:0")`: a context that places the arrays created inside on one device."""

from __future__ import annotations

import re

from nhanh import backend as _backend


def device(device_name: str):
    """A context manager: arrays created inside live on `device_name`.

    Args:
        device_name: "cpu", "gpu" or "tpu", optionally with ":index" ("gpu:1");
            "cuda" is accepted for "gpu". Case-insensitive.

    Returns:
        The context manager (use it in a `with` statement).
    """
    match = re.fullmatch(r"(cpu|gpu|cuda|tpu)(?::(\d+))?", str(device_name).strip().lower())
    if match is None:
        raise ValueError(f"device: `device_name` must look like 'cpu', 'gpu:0' or 'tpu:1', "
                         f"got {device_name!r}.")
    kind = "gpu" if match.group(1) == "cuda" else match.group(1)
    return _backend.get().device_scope(kind, int(match.group(2) or 0))
