"""Adamax: Adam with the infinity norm in place of the second moment (Keras 3's form)."""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class Adamax(Optimizer):
    """m += (1-beta_1)(g-m); u = max(beta_2 u, |g|);
    w -= lr * m / ((1-beta_1^t) (u + epsilon)), t = iterations + 1.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        beta_1: Float in [0, 1), decay rate of the first-moment estimate.
        beta_2: Float in [0, 1), decay rate of the weighted infinity norm.
        epsilon: Non-negative float added to the norm for numerical stability.
        **kwargs: The base `Optimizer`'s keywords (weight_decay, clipping, EMA, ...).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, **kwargs: Any):
        self.beta_1 = check_number("Adamax", "beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = check_number("Adamax", "beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = check_number("Adamax", "epsilon", epsilon, 0.0)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "norm")]

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        t = ops.cast(self._local_step() + 1, dtype)
        m, u = self.slot(variable, "momentum"), self.slot(variable, "norm")
        m.assign_add((g - m.value) * (1.0 - self.beta_1))
        u.assign(ops.maximum(u.value * self.beta_2, ops.abs(g)))
        denominator = (1.0 - ops.power(self.beta_1, t)) * (u.value + self.epsilon)
        variable.assign_sub(lr * m.value / denominator)

    def in_place_rule(self) -> tuple[str, dict]:
        return "adamax", {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
