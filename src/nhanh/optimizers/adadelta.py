"""Adadelta in Keras 3's form: epsilon inside both square roots, the step scaled by lr."""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class Adadelta(Optimizer):
    """a = rho a + (1-rho) g^2; d = -sqrt(s + epsilon) / sqrt(a + epsilon) * g;
    s = rho s + (1-rho) d^2; w += lr * d.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        rho: Float in [0, 1), decay rate of both running averages.
        epsilon: Non-negative float added inside the square roots.
        **kwargs: The base `Optimizer`'s keywords (weight_decay, clipping, EMA, ...).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, rho: float = 0.95,
                 epsilon: float = 1e-7, **kwargs: Any):
        self.rho = check_number("Adadelta", "rho", rho, 0.0, 1.0, high_open=True)
        self.epsilon = check_number("Adadelta", "epsilon", epsilon, 0.0)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("accumulated_grad", "accumulated_delta_var")]

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        rho = self.rho
        grad_avg = self.slot(variable, "accumulated_grad")
        delta_avg = self.slot(variable, "accumulated_delta_var")
        grad_avg.assign(rho * grad_avg.value + (1.0 - rho) * ops.square(g))
        delta = -ops.sqrt(delta_avg.value + self.epsilon) * g / ops.sqrt(
            grad_avg.value + self.epsilon)
        delta_avg.assign(rho * delta_avg.value + (1.0 - rho) * ops.square(delta))
        variable.assign_add(lr * delta)

    def in_place_rule(self) -> tuple[str, dict]:
        return "adadelta", {"rho": self.rho, "epsilon": self.epsilon}

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
