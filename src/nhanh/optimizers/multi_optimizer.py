"""Different optimizers for different weights (Keras 3's MultiOptimizer and OptimizerMap).

An OptimizerMap names optimizers by weight path, exactly or as a regular expression matched in
full (`"encoder/.*"`), with a default for the rest; MultiOptimizer takes such a map, or any
callable `variable -> Optimizer`, decides once per weight at build, and in each step hands every
inner optimizer its own weights and gradients. Each inner optimizer keeps its own state, step
count and learning rate; the MultiOptimizer's `variables` are its own iteration and learning
rate followed by each inner optimizer's, in Keras's order.

A weight's path is Keras's `variable.path` ('sequential/dense/kernel': the model's name first
inside a Sequential or a subclassed model, as in Keras; `".*dense.*"` matches either way).
The exact-or-pattern lookup is path_patterns.PathPatternMap's, shared with LayoutMap.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from nhanh.optimizers.loss_scale_optimizer import LossScaleOptimizer
from nhanh.optimizers.muon import variable_path
from nhanh.optimizers.optimizer import Optimizer
from nhanh.path_patterns import PathPatternMap
from nhanh.variables import Variable


def _check_inner(optimizer: Any, where: str) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{where} must be an Optimizer (e.g. nhanh.optimizers.Adam()), got "
                        f"{type(optimizer).__name__} {optimizer!r}.")
    if isinstance(optimizer, (LossScaleOptimizer, MultiOptimizer)):
        raise ValueError(f"{where} cannot be a {type(optimizer).__name__}: wrap the whole "
                         f"MultiOptimizer instead, or list its parts in the map.")
    return optimizer


class OptimizerMap(PathPatternMap):
    """Weight path (or full-match regular expression) -> Optimizer, with a default.

    Args:
        default_optimizer: The Optimizer of every weight no key matches.
        optimizer_map: Dict of path or pattern -> Optimizer (more can be added with `map[key] =
            optimizer`).
    """

    _what = "OptimizerMap"

    def __init__(self, default_optimizer: Optimizer,
                 optimizer_map: dict[str, Optimizer] | None = None):
        super().__init__()
        self._default_optimizer = _check_inner(default_optimizer,
                                               "OptimizerMap: `default_optimizer`")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"OptimizerMap: `optimizer_map` must be a dict of path -> "
                            f"Optimizer, got {type(optimizer_map).__name__}.")
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        """The optimizer of path `key`: an exact key first, else the one pattern that matches
        the whole path, else the default. Two matching patterns raise a ValueError."""
        return self.lookup(key, self._default_optimizer)

    def _check_value(self, key: str, optimizer) -> Optimizer:
        return _check_inner(optimizer, f"OptimizerMap[{key!r}]")

    def __call__(self, variable: Variable) -> Optimizer:
        return self[variable_path(variable)]

    def get_config(self) -> dict:
        from nhanh.optimizers import serialize
        return {"default_optimizer": serialize(self._default_optimizer),
                "optimizer_map": {k: serialize(o) for k, o in self._entries.items()}}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "OptimizerMap":
        from nhanh.optimizers import deserialize

        def load(value):
            return deserialize(value, custom_objects) if isinstance(value, dict) else value
        mapping = config.get("optimizer_map") or {}
        return cls(load(config["default_optimizer"]),
                   {k: load(v) for k, v in mapping.items()})


class MultiOptimizer(Optimizer):
    """Delegates each weight to the optimizer `optimizer_map` gives it.

    Its `learning_rate` cannot be read or set (each inner optimizer has its own); reach those
    through `optimizers`.

    Args:
        optimizer_map: An `OptimizerMap`, or a callable `variable -> Optimizer`.
        loss_scale_factor: Positive float or None; it replaces the inner optimizers' own.
        name: Name of the optimizer; `None` gives "multi_optimizer".
    """

    def __init__(self, optimizer_map: OptimizerMap | Callable[[Variable], Optimizer],
                 loss_scale_factor: float | None = None, name: str | None = None):
        if not callable(optimizer_map):
            raise TypeError("MultiOptimizer: `optimizer_map` must be an OptimizerMap or a "
                            "callable variable -> Optimizer, got "
                            f"{type(optimizer_map).__name__} {optimizer_map!r}.")
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(0.0, loss_scale_factor=loss_scale_factor,
                         name=name or "multi_optimizer")
        self._optimizer_map = optimizer_map
        self._owner_of: dict[int, int] = {}  # id(variable) -> index in _inner_optimizers
        if isinstance(optimizer_map, OptimizerMap):
            for optimizer in [*optimizer_map.values(), optimizer_map.default_optimizer]:
                self._adopt(optimizer)

    def _adopt(self, optimizer: Optimizer) -> int:
        for i, known in enumerate(self._inner_optimizers):
            if known is optimizer:
                return i
        optimizer.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(optimizer)
        return len(self._inner_optimizers) - 1

    @property
    def optimizers(self) -> list[Optimizer]:
        """The inner optimizers, in the order their state is listed."""
        return list(self._inner_optimizers)

    @property
    def loss_scale_factor(self) -> float | None:
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: float | None) -> None:
        self._loss_scale_factor = value
        for optimizer in self.__dict__.get("_inner_optimizers", []):
            optimizer.loss_scale_factor = value

    @property
    def learning_rate(self):
        raise AttributeError("A MultiOptimizer has no single learning rate; read or set it on "
                             "its inner optimizers (`optimizer.optimizers[i].learning_rate`).")

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        raise AttributeError("A MultiOptimizer has no single learning rate; set it on its "
                             "inner optimizers (`optimizer.optimizers[i].learning_rate = ...`).")

    lr = learning_rate

    def build(self, variables: Sequence[Variable]) -> None:
        """Pick each new weight's optimizer, then build every inner optimizer on its own."""
        variables = list(variables)
        for v in variables:
            if id(v) in self._owner_of:
                continue
            optimizer = _check_inner(self._optimizer_map(v),
                                     f"MultiOptimizer: the optimizer of weight {v.name!r}")
            self._owner_of[id(v)] = self._adopt(optimizer)
        for i, optimizer in enumerate(self._inner_optimizers):
            own = [v for v in variables if self._owner_of[id(v)] == i]
            if own:
                optimizer.build(own)
        super().build(variables)

    @property
    def variables(self) -> list[Variable]:
        """Own iteration and learning rate, then each inner optimizer's state."""
        out = super().variables
        for optimizer in self._inner_optimizers:
            out.extend(optimizer.variables)
        return out

    def slot(self, variable: Variable, name: str) -> Variable:
        return self._inner_optimizers[self._owner_of[id(variable)]].slot(variable, name)

    def apply(self, grads: Sequence, variables: Sequence[Variable] | None = None) -> None:
        """Each inner optimizer applies the gradients of its own weights; then the step
        count grows by one."""
        grads = list(grads)
        if variables is None:
            if not self.built:
                raise ValueError("MultiOptimizer.apply: pass the variables, or call build() "
                                 "first.")
            variables = self._model_variables
        variables = list(variables)
        if len(grads) != len(variables):
            raise ValueError(f"MultiOptimizer.apply: got {len(grads)} gradients for "
                             f"{len(variables)} variables; they must pair up one to one.")
        self.build(variables)
        groups: list[tuple[list, list]] = [([], []) for _ in self._inner_optimizers]
        for g, v in zip(grads, variables):
            if g is not None:
                own_grads, own_vars = groups[self._owner_of[id(v)]]
                own_grads.append(g)
                own_vars.append(v)
        for optimizer, (own_grads, own_vars) in zip(self._inner_optimizers, groups):
            if own_vars:
                optimizer.apply(own_grads, own_vars)
        self._iterations.assign_add(1)

    def finalize_variable_values(self, var_list: Sequence[Variable]) -> None:
        for i, optimizer in enumerate(self._inner_optimizers):
            own = [v for v in var_list if self._owner_of.get(id(v)) == i]
            if own:
                optimizer.finalize_variable_values(own)

    def get_config(self) -> dict:
        if isinstance(self._optimizer_map, OptimizerMap):
            mapping: Any = {"class_name": "OptimizerMap",
                            "config": self._optimizer_map.get_config()}
        else:
            raise ValueError("MultiOptimizer.get_config: a callable `optimizer_map` cannot be "
                             "written to a config; use an OptimizerMap to save this optimizer.")
        return {"optimizer_map": mapping, "loss_scale_factor": self.loss_scale_factor,
                "name": self.name}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "MultiOptimizer":
        config = dict(config)
        mapping = config.pop("optimizer_map")
        if isinstance(mapping, dict):
            mapping = OptimizerMap.from_config(mapping.get("config", mapping), custom_objects)
        return cls(mapping, **config)
