"""Input / InputLayer: the declared entry of a model, and the symbolic tensor it produces."""

from __future__ import annotations

from typing import Sequence

from nhanh import config
from nhanh.layers.layer import Layer
from nhanh.layers.symbolic import SymbolicTensor


class InputLayer(Layer):
    """Declares the shape (without the batch axis) and dtype of a model's input.

    Args:
        shape: Shape of one sample (no batch axis), a tuple whose entries may be `None` (any size);
            an int means a 1-D shape.
        batch_size: Fixed batch size, or `None` for any.
        dtype: Dtype of the input; `None` uses `nhanh.config.floatx()`.
        name: Name of the layer; `None` derives a unique one.
        input_shape: Keras 2 spelling of `shape`, used when `shape` is not given.
        batch_shape: Keras 3's full shape with the batch axis first, instead of `shape` and
            `batch_size` (giving it with `shape` raises).
        batch_input_shape: Keras 2's spelling of `batch_shape`.
        sparse: Keras's flag for sparse inputs; only False (dense) is supported, so that
            Keras's configs load.
        ragged: Keras's flag for ragged inputs; only False is supported.
        optional: Keras's flag for inputs that may be None; only False is supported.
        **kwargs: Other base-layer keywords (`trainable`, ...).
    """

    def __init__(self, shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 dtype: str | None = None, name: str | None = None, *, batch_shape=None,
                 input_shape=None, batch_input_shape=None, sparse: bool = False,
                 ragged: bool = False, optional: bool = False, **kwargs):
        for flag, value in (("sparse", sparse), ("ragged", ragged), ("optional", optional)):
            if value:
                raise ValueError(f"Input: {flag}=True is not supported by nhanh (dense "
                                 "tensors only, every input given).")
        if shape is None and input_shape is not None:
            shape = input_shape
        if batch_shape is not None:
            if shape is not None:
                raise ValueError("Input: give `shape` (one sample's) or `batch_shape` (with the "
                                 f"batch axis first), not both; got shape={shape!r} and "
                                 f"batch_shape={batch_shape!r}.")
            batch_input_shape = batch_shape
        if batch_input_shape is not None:
            batch_size, shape = batch_input_shape[0], batch_input_shape[1:]
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. InputLayer(shape=(28, 28, 1)).")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        super().__init__(name=name, dtype=dtype or config.floatx(),
                         batch_input_shape=(batch_size, *shape), **kwargs)
        self.built = True
        self._build_input_shape = self._batch_input_shape
        self._output = SymbolicTensor(self._batch_input_shape, self.dtype, name=self.name,
                                      source_layer=self)

    def call(self, inputs):
        return inputs

    @property
    def output(self) -> SymbolicTensor:
        return self._output

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_build_config(self) -> None:
        """None: an input is built by being made (Keras writes no build_config for it)."""
        return None

    def get_config(self) -> dict:
        return {"batch_shape": list(self._batch_input_shape), "dtype": self.dtype,
                "sparse": False, "ragged": False, "name": self.name, "optional": False}


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None,
          dtype: str | None = None, name: str | None = None, **kwargs) -> SymbolicTensor:
    """A symbolic model input of the given shape (batch axis excluded).

    Start a functional model with it: `x = Input((784,))`, then call layers on `x`.

    Args:
        shape: Shape of one sample (no batch axis), a tuple whose entries may be `None`; an int
            means a 1-D shape.
        batch_size: Fixed batch size, or `None` for any.
        dtype: Dtype of the input; `None` uses `nhanh.config.floatx()`.
        name: Name of the input (of its `InputLayer`); `None` derives a unique one.
        **kwargs: Passed to `InputLayer`: Keras 3's `batch_shape` (the full shape, batch axis
            first), Keras 2's `batch_input_shape`.

    Returns:
        A `SymbolicTensor` of shape `(batch_size, *shape)`.
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      **kwargs).output
