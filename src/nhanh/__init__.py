"""nhanh: Keras's API on JAX and PyTorch, fast."""

from nhanh import (
    activations,
    callbacks,
    config,
    constraints,
    distribution,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    utils,
)
from nhanh import dtype_policies, mixed_precision, tree, visualization
from nhanh.device import device
from nhanh.dtype_policies import DTypePolicy, FloatDTypePolicy
from nhanh.function import Function, Operation
from nhanh.initializers import Initializer
from nhanh.keras_alias import as_keras
from nhanh.layers import Input, InputSpec, Layer
from nhanh.layers.symbolic import SymbolicTensor as KerasTensor
from nhanh.losses import Loss
from nhanh.metrics import Metric
from nhanh.models import Model, Sequential
from nhanh.optimizers import Optimizer
from nhanh.regularizers import Regularizer
from nhanh.gradient_checkpointing import RematScope, remat
from nhanh.scopes import StatelessScope, SymbolicScope, name_scope
from nhanh.variables import Variable

__version__ = "0.1.0"


def version() -> str:
    """nhanh's version string (Keras's `keras.version()` gives Keras's)."""
    return __version__


__all__ = ["DTypePolicy", "FloatDTypePolicy", "Function", "Initializer", "Input", "InputSpec", "KerasTensor", "Layer", "Loss",
           "Metric", "Model", "Operation", "Optimizer", "Regularizer", "RematScope",
           "Sequential", "StatelessScope", "SymbolicScope", "Variable", "activations",
           "as_keras", "callbacks", "config", "constraints", "device", "distribution", "dtype_policies", "initializers", "layers",
           "losses", "metrics", "mixed_precision", "models", "name_scope", "ops", "optimizers", "random",
           "regularizers", "remat", "saving", "tree", "utils", "version", "visualization"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
