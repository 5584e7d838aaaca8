"""Dynamic loss scaling around another optimizer (Keras 3's LossScaleOptimizer), for float16.

`fit` takes the gradients of `scale_loss(loss)` = loss * scale; `apply` divides them by the
scale and hands them to the inner optimizer. A step whose gradients hold an inf or NaN is
skipped (weights and every inner slot, step count included, stay as they were) and the scale
halves; after `dynamic_growth_steps` finite steps in a row it doubles.

Everything happens inside the training step, without a host read or a host branch: the inner
optimizer runs in a nested StatelessScope that records what it would assign, and each value is
then kept or dropped with `where(finite, new, old)`. The scale and the count of finite steps
are Variables (`dynamic_scale`, `step_counter`), listed after this optimizer's own iteration
and learning rate and before the inner optimizer's state, as in Keras. (The nested scope also
keeps PyTorch's in-place update rules away from buffers that a skipped step must keep.)
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.variables import StatelessScope, Variable

# Base arguments Keras's configs once carried; only their defaults are accepted.
_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                  "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                  "ema_overwrite_frequency": None, "loss_scale_factor": None,
                  "gradient_accumulation_steps": None}


class LossScaleOptimizer(Optimizer):
    """Wraps `inner_optimizer` with a dynamic loss scale.

    Args:
        inner_optimizer: The `Optimizer` that updates the weights (its own `loss_scale_factor`
            is switched off, as in Keras, so gradients are not unscaled twice).
        initial_scale: Positive float, the first loss scale. High is better: a scale that is
            too high falls by half each overflowing step, one that is too low rises slowly.
        dynamic_growth_steps: Int >= 1: the scale doubles after this many finite steps in a
            row.
        name: Name of the optimizer; `None` gives "loss_scale_optimizer".
        **kwargs: Keras's `dynamic=True` and the base optimizer arguments at their defaults
            (old configs hold them); anything else raises, saying to set it on the inner
            optimizer.
    """

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = 2.0 ** 15,
                 dynamic_growth_steps: int = 2000, name: str | None = None, **kwargs: Any):
        owner = "LossScaleOptimizer"
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(f"{owner}: `inner_optimizer` must be an Optimizer (e.g. "
                            f"nhanh.optimizers.SGD()), got {type(inner_optimizer).__name__} "
                            f"{inner_optimizer!r}.")
        if isinstance(inner_optimizer, LossScaleOptimizer):
            raise TypeError(f"{owner}: `inner_optimizer` is already a LossScaleOptimizer; "
                            "wrap the plain optimizer once.")
        if not kwargs.pop("dynamic", True):
            raise ValueError(f"{owner}: `dynamic=False` is not supported (nor in Keras 3); "
                             "for a fixed scale, give the inner optimizer "
                             "`loss_scale_factor=...` instead.")
        for key, default in _BASE_DEFAULTS.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(f"{owner} does not take `{key}`; set it on the inner "
                                 f"optimizer instead (e.g. SGD({key}=...)).")
        if kwargs:
            raise TypeError(f"{owner}() got unexpected keyword argument(s): "
                            f"{', '.join(map(repr, kwargs))}. Accepted arguments: "
                            "inner_optimizer, initial_scale, dynamic_growth_steps, name.")
        self.initial_scale = check_number(owner, "initial_scale", initial_scale, 0.0,
                                          low_open=True)
        if isinstance(dynamic_growth_steps, bool) or \
                not isinstance(dynamic_growth_steps, numbers.Integral) or \
                dynamic_growth_steps < 1:
            raise ValueError(f"{owner}: `dynamic_growth_steps` must be an integer >= 1, got "
                             f"{dynamic_growth_steps!r}.")
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        super().__init__(0.0, name=name or "loss_scale_optimizer")
        self.inner_optimizer = inner_optimizer
        inner_optimizer.loss_scale_factor = None

    # --- state ---------------------------------------------------------------------------

    def build(self, variables: Sequence[Variable]) -> None:
        super().build(variables)
        self.inner_optimizer.build(variables)

    def build_extra(self, variables: list[Variable]) -> None:
        self.step_counter = self.add_extra_variable(0, "int32", "step_counter")
        self.dynamic_scale = self.add_extra_variable(self.initial_scale, "float32",
                                                     "dynamic_scale")

    @property
    def variables(self) -> list[Variable]:
        """Own state (iteration, learning_rate, step_counter, dynamic_scale), then the inner
        optimizer's."""
        return super().variables + self.inner_optimizer.variables

    @property
    def iterations(self) -> Variable:
        """The inner optimizer's step count (skipped steps are not counted)."""
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        """The inner optimizer's learning rate; setting it sets the inner one."""
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner_optimizer.learning_rate = value

    lr = learning_rate

    def slot(self, variable: Variable, name: str) -> Variable:
        return self.inner_optimizer.slot(variable, name)

    # --- the step ------------------------------------------------------------------------

    def scale_loss(self, loss):
        """loss * the current scale (the initial one before build)."""
        scale = self.dynamic_scale.value if self.built else self.initial_scale
        return ops.multiply(loss, scale)

    def apply(self, grads: Sequence, variables: Sequence[Variable] | None = None) -> None:
        """Unscale and apply the gradients if all are finite; otherwise skip the step. Then
        update the scale and the count of finite steps."""
        grads = list(grads)
        if variables is None:
            if not self.built:
                raise ValueError("LossScaleOptimizer.apply: pass the variables, or call build() "
                                 "first.")
            variables = self._model_variables
        variables = list(variables)
        self.build([v for v, g in zip(variables, grads) if g is not None])
        present = [ops.convert_to_tensor(g) for g in grads if g is not None]
        if not present:
            raise ValueError(f"LossScaleOptimizer.apply: no gradients were given (all are None)"
                             f" for variables {[v.name for v in variables]}.")
        finite = ops.all(ops.stack([ops.all(ops.isfinite(g)) for g in present]))
        scale = self.dynamic_scale.value
        unscaled = [None if g is None else ops.convert_to_tensor(g) / scale for g in grads]
        with StatelessScope() as inner:  # records the inner step instead of applying it
            self.inner_optimizer.apply(unscaled, variables)
        for v, new in inner.assigned.items():
            v.assign(ops.where(finite, new, v.value))
        counter = self.step_counter.value
        grow = ops.logical_and(finite, ops.equal(counter, self.dynamic_growth_steps - 1))
        factor = ops.where(finite, ops.where(grow, 2.0, 1.0), 0.5)
        self.dynamic_scale.assign(scale * ops.cast(factor, "float32"))
        self.step_counter.assign(ops.where(ops.logical_and(finite, ops.logical_not(grow)),
                                           counter + 1, 0))

    def finalize_variable_values(self, var_list: Sequence[Variable]) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    # --- configuration -------------------------------------------------------------------

    def get_config(self) -> dict:
        from nhanh.optimizers import serialize
        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Optimizer":
        from nhanh.optimizers import deserialize
        config = dict(config)
        inner = config.pop("inner_optimizer")
        if isinstance(inner, dict):
            inner = deserialize(inner, custom_objects)
        return cls(inner, **config)
