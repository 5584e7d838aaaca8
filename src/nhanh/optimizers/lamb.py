"""LAMB: Adam's direction, rescaled per weight by ||w|| / ||direction|| (Keras 3's form)."""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class Lamb(Optimizer):
    """m, v as in Adam; r = (m / (1-beta_1^t)) / (sqrt(v / (1-beta_2^t)) + epsilon);
    w -= lr * (||w|| / ||r||) * r, the ratio taken as 1 when either norm is 0.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        beta_1: Float in [0, 1), decay rate of the first-moment estimate.
        beta_2: Float in [0, 1), decay rate of the second-moment estimate.
        epsilon: Non-negative float added to the root of v for numerical stability.
        **kwargs: The base `Optimizer`'s keywords (weight_decay, clipping, EMA, ...).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, **kwargs: Any):
        self.beta_1 = check_number("Lamb", "beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = check_number("Lamb", "beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = check_number("Lamb", "epsilon", epsilon, 0.0)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")]

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        t = ops.cast(self._local_step() + 1, dtype)
        m, v = self.slot(variable, "momentum"), self.slot(variable, "velocity")
        m.assign_add((g - m.value) * (1.0 - self.beta_1))
        v.assign_add((ops.square(g) - v.value) * (1.0 - self.beta_2))
        m_hat = m.value / (1.0 - ops.power(self.beta_1, t))
        v_root = ops.sqrt(v.value / (1.0 - ops.power(self.beta_2, t))) + self.epsilon
        direction = m_hat / v_root
        w_norm = ops.sqrt(ops.sum(ops.square(variable.value)))
        d_norm = ops.sqrt(ops.sum(ops.square(direction)))
        # Both `where`s keep the division out of the picked branch when a norm is zero.
        safe = ops.where(d_norm > 0, d_norm, 1.0)
        ratio = ops.where(w_norm > 0, ops.where(d_norm > 0, w_norm / safe, 1.0), 1.0)
        variable.assign_sub(ratio * lr * direction)

    def in_place_rule(self) -> tuple[str, dict]:
        return "lamb", {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
