"""Lion (evolved sign momentum), in Keras 3's form."""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class Lion(Optimizer):
    """w -= lr * sign(beta_1 m + (1-beta_1) g); then m = beta_2 m + (1-beta_2) g.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        beta_1: Float in (0, 1], how much of the momentum the step direction keeps.
        beta_2: Float in [0, 1], decay rate of the momentum.
        **kwargs: The base `Optimizer`'s keywords (weight_decay, clipping, EMA, ...).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.99, **kwargs: Any):
        # beta_1 = 0 would make Lion plain sign descent, so Keras refuses it.
        self.beta_1 = check_number("Lion", "beta_1", beta_1, 0.0, 1.0, low_open=True)
        self.beta_2 = check_number("Lion", "beta_2", beta_2, 0.0, 1.0)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum",)]

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        m = self.slot(variable, "momentum")
        variable.assign_sub(lr * ops.sign(m.value * self.beta_1 + g * (1.0 - self.beta_1)))
        m.assign(m.value * self.beta_2 + g * (1.0 - self.beta_2))

    def in_place_rule(self) -> tuple[str, dict]:
        return "lion", {"beta_1": self.beta_1, "beta_2": self.beta_2}

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
