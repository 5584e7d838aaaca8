"""nhanh: Keras's API on JAX and PyTorch, fast."""

from nhanh import (
    activations,
    callbacks,
    config,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    utils,
)
from nhanh.keras_alias import as_keras
from nhanh.layers import Input, Layer
from nhanh.models import Model, Sequential
from nhanh.variables import Variable

__version__ = "0.1.0"

__all__ = ["Input", "Layer", "Model", "Sequential", "Variable", "activations", "as_keras",
           "callbacks", "config", "constraints", "initializers", "layers", "losses", "metrics",
           "models", "ops", "optimizers", "random", "regularizers", "utils"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
