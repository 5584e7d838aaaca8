"""torch.profiler behind two calls, so callbacks can trace batches without importing torch.

The trace is a Chrome trace, `logdir/<host>_<pid>.<time>.pt.trace.json`, the file the PyTorch
profiler plugin of TensorBoard (torch-tb-profiler) reads.
"""

from __future__ import annotations

import torch

_active: list = []  # the profiler between start_profiler and stop_profiler (at most one)


def start_profiler(logdir: str) -> None:
    """Start recording CPU (and, where present, CUDA) activity for a trace in `logdir`."""
    if _active:
        raise RuntimeError("start_profiler: a trace is already running; call stop_profiler() "
                           "first.")
    activities = [torch.profiler.ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    profiler = torch.profiler.profile(
        activities=activities, on_trace_ready=torch.profiler.tensorboard_trace_handler(logdir))
    profiler.start()
    _active.append(profiler)


def stop_profiler() -> None:
    """Stop the trace started by start_profiler and write it."""
    if _active:
        _active.pop().stop()
