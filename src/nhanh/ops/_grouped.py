"""Fill nhanh.ops.numpy / nn / linalg / image with the nhanh.ops functions Keras lists there."""

from __future__ import annotations

from nhanh import keras_names, ops


def export(module_name: str, namespace: dict) -> list[str]:
    """Put into `namespace` each name of the Keras counterpart of `module_name` that nhanh.ops
    has; returns those names (the module's `__all__`)."""
    wanted = keras_names.keras_modules().get(keras_names.keras_counterpart(module_name), {})
    names = sorted(n for n in wanted if n in vars(ops))
    namespace.update({n: vars(ops)[n] for n in names})
    return names
