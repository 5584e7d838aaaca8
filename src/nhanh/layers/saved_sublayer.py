"""A stand-in, in saved files, for a sub-layer Keras has where nhanh keeps the variables on the
parent layer (MultiHeadAttention's `query_dense`, ...).

Keras's weights file names a variable by the path of the layer that owns it, so a layer whose
internals are flatter than Keras's yields these stand-ins from `saving_children()`: each one
writes and reads the parent's variables it is given under Keras's sub-layer path. It is made
when a file is written or read and holds no variables of its own, so the parent's `weights`,
training and engine-level parameters never see it.
"""

from __future__ import annotations

from nhanh.layers.layer import Layer


class SavedSublayer(Layer):
    """Keras's sub-layer `name` in a file, holding `variables` of another layer (Nones are
    dropped: a bias the layer does not use)."""

    def __init__(self, name: str, variables: list):
        super().__init__(name=name)
        self._saved = [v for v in variables if v is not None]
        self.built = True

    def saving_children(self):
        return iter(())

    def saving_variables(self) -> list:
        return list(self._saved)
