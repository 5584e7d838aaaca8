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
from nhanh.layers import Input, Layer
from nhanh.models import Model, Sequential
from nhanh.variables import Variable

__version__ = "0.1.0"

__all__ = ["Input", "Layer", "Model", "Sequential", "Variable", "activations", "callbacks",
           "config", "constraints", "initializers", "layers", "losses", "metrics", "models",
           "ops", "optimizers", "random", "regularizers", "utils"]
