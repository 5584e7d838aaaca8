"""Optimizers with Keras's names and update rules, written once against nhanh.ops.

`get('adam')`, an Optimizer instance, or a serialized config all give an optimizer, so
`model.compile(optimizer=...)` accepts what Keras accepts.
"""

from __future__ import annotations

from typing import Any

from nhanh import registry
from nhanh.optimizers import legacy, schedules
from nhanh.optimizers.adadelta import Adadelta
from nhanh.optimizers.adafactor import Adafactor
from nhanh.optimizers.adagrad import Adagrad
from nhanh.optimizers.adam import Adam
from nhanh.optimizers.adamax import Adamax
from nhanh.optimizers.adamw import AdamW
from nhanh.optimizers.ftrl import Ftrl
from nhanh.optimizers.lamb import Lamb
from nhanh.optimizers.lion import Lion
from nhanh.optimizers.loss_scale_optimizer import LossScaleOptimizer
from nhanh.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from nhanh.optimizers.muon import Muon
from nhanh.optimizers.nadam import Nadam
from nhanh.optimizers.optimizer import Optimizer
from nhanh.optimizers.rmsprop import RMSprop
from nhanh.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from nhanh.optimizers.sgd import SGD

ALL_OPTIMIZERS: dict[str, type[Optimizer]] = {
    c.__name__: c for c in (SGD, Adam, RMSprop, Adagrad, AdamW, Adamax, Nadam, Adadelta, Ftrl,
                            Lion, Lamb, Adafactor, Muon, ScheduleFreeAdamW, LossScaleOptimizer,
                            MultiOptimizer)
}
_WRAPPERS = (LossScaleOptimizer, MultiOptimizer)  # made from other optimizers, not by name


def serialize(optimizer: Optimizer) -> dict:
    """{'class_name', 'config'}, as Keras writes it.

    Args:
        optimizer: The optimizer to describe (its hyperparameters, not its state).

    Returns:
        A dict `{'class_name': ..., 'config': {...}}`.
    """
    return registry.serialize(optimizer)


def deserialize(config: dict, custom_objects: dict[str, type] | None = None) -> Optimizer:
    """An optimizer from serialize()'s output (Keras's extra keys are ignored).

    Args:
        config: A dict `{'class_name': ..., 'config': {...}}`.
        custom_objects: Dict mapping class names to user `Optimizer` subclasses.

    Returns:
        A new `Optimizer`.
    """
    return registry.deserialize("optimizer", config, {**ALL_OPTIMIZERS, **(custom_objects or {})})


def get(identifier: Any) -> Optimizer:
    """A fresh optimizer from a name ('adam', case-insensitive) or a config dict; an
    Optimizer instance is returned as it is.

    Args:
        identifier: A name such as `"adam"` (default hyperparameters), a config dict, or an
            `Optimizer` instance.

    Returns:
        An `Optimizer`.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.lower() in {"lossscaleoptimizer", "multioptimizer"}:
            raise ValueError(f"Optimizer {identifier!r} wraps other optimizers, so a name alone "
                             "cannot make one: create it, e.g. LossScaleOptimizer(Adam()), and "
                             "pass the instance.")
        table = {name.lower(): cls for name, cls in ALL_OPTIMIZERS.items()
                 if cls not in _WRAPPERS}
        return registry.lookup("optimizer", identifier, table)()
    names = [n.lower() for n, c in ALL_OPTIMIZERS.items() if c not in _WRAPPERS]
    raise ValueError(
        f"Could not interpret optimizer identifier {identifier!r} ({type(identifier).__name__}):"
        f" pass a name ({', '.join(map(repr, names))}), an Optimizer "
        "instance, or a config dict {'class_name': ..., 'config': {...}}."
    )


__all__ = ["Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lamb", "Lion",
           "LossScaleOptimizer", "MultiOptimizer", "Muon", "Nadam", "Optimizer", "OptimizerMap",
           "RMSprop", "SGD", "ScheduleFreeAdamW", "deserialize", "get", "legacy", "schedules",
           "serialize"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
