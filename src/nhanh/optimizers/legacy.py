"""`optimizers.legacy`: Keras 2's (tf.keras) optimizer classes, which Keras 3 keeps only as
names that refuse to be created. nhanh does the same, but says where to go: nhanh's own
optimizers accept Keras 2's spellings (`lr=`, `decay=`), so the fix is to drop `.legacy`.
"""

from __future__ import annotations

from typing import Any


class _Legacy:
    """A Keras 2 optimizer name: creating one raises an ImportError with the replacement."""

    def __init__(self, *args: Any, **kwargs: Any):
        name = type(self).__name__
        raise ImportError(
            f"`optimizers.legacy.{name}` is Keras 2's (tf.keras) optimizer, which Keras 3 and "
            f"nhanh do not support. Use `nhanh.optimizers.{name}` instead: it takes the same "
            "arguments, Keras 2's `lr=` and `decay=` included."
        )


class Adagrad(_Legacy):
    """Keras 2's legacy Adagrad: raises; use nhanh.optimizers.Adagrad."""


class Adam(_Legacy):
    """Keras 2's legacy Adam: raises; use nhanh.optimizers.Adam."""


class Ftrl(_Legacy):
    """Keras 2's legacy Ftrl: raises; use nhanh.optimizers.Ftrl."""


class Optimizer(_Legacy):
    """Keras 2's legacy Optimizer base: raises; subclass nhanh.optimizers.Optimizer."""


class RMSprop(_Legacy):
    """Keras 2's legacy RMSprop: raises; use nhanh.optimizers.RMSprop."""


class SGD(_Legacy):
    """Keras 2's legacy SGD: raises; use nhanh.optimizers.SGD."""


__all__ = ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"]
