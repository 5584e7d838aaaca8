"""JAX's profiler behind two calls, so callbacks can trace batches without importing jax.

The trace lands as TensorBoard's profile plugin expects it:
`logdir/plugins/profile/<run>/<host>.xplane.pb`.
"""

from __future__ import annotations

import jax


def start_profiler(logdir: str) -> None:
    """Start tracing every JAX computation (and host annotation) into `logdir`."""
    jax.profiler.start_trace(logdir)


def stop_profiler() -> None:
    """Stop the trace started by start_profiler and write it."""
    jax.profiler.stop_trace()
