"""Which way a monitored log should go, shared by the callbacks that watch one."""

from __future__ import annotations


def monitor_direction(model, monitor: str, mode: str, owner: str) -> str:
    """'min' or 'max' for `monitor`, as Keras 3's MonitorCallback decides it: 'auto' means min
    for a loss, and otherwise the direction of the compiled metric of that name."""
    if mode in ("min", "max"):
        return mode
    name = monitor[len("val_"):] if monitor.startswith("val_") else monitor
    if name == "loss":
        return "min"
    for metric in getattr(model, "metrics", None) or []:
        direction = getattr(metric, "_direction", None)
        if metric.name == name and direction is not None:  # a count has none, as in Keras
            return "max" if direction == "up" else "min"
    raise ValueError(
        f"{owner}: cannot tell whether monitor={monitor!r} should go down or up, since the "
        "model has no metric of that name; pass mode='min' or mode='max'.")
