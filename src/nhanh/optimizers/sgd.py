"""Stochastic gradient descent, with optional classical or Nesterov momentum (Keras 3's form)."""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class SGD(Optimizer):
    """w += m, where m = momentum * m - lr * g (with nesterov: w += momentum * m - lr * g).

    With momentum 0 there is no slot and the step is w -= lr * g. Other keyword arguments are
    the Optimizer base's (lr=, decay=, clipnorm=, clipvalue=, global_clipnorm=, name=).

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        momentum: Float in [0, 1], how much of the previous step each step keeps.
        nesterov: If True, use Nesterov momentum (look ahead along the momentum).
        **kwargs: The base `Optimizer`'s keywords: `lr` (Keras 2's name for `learning_rate`),
            `decay`, `clipnorm`, `clipvalue`, `global_clipnorm`, `name`.
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, **kwargs: Any):
        self.momentum = check_number("SGD", "momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum",)] if self.momentum != 0 else []

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(grad, variable.dtype)
        if self.momentum == 0:
            variable.assign_sub(g * lr)
            return
        m = self.slot(variable, "momentum")
        m.assign(m.value * self.momentum - g * lr)
        if self.nesterov:
            variable.assign_add(m.value * self.momentum - g * lr)
        else:
            variable.assign_add(m.value)

    def in_place_rule(self) -> tuple[str, dict]:
        return "sgd", {"momentum": self.momentum, "nesterov": self.nesterov}

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
