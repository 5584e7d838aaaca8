"""Adam (and AMSGrad), in Keras 3's form: epsilon is added to sqrt(v) outside the bias
correction, which is folded into the step size."""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class Adam(Optimizer):
    """m += (1-beta_1)(g-m); v += (1-beta_2)(g^2-v);
    w -= lr * sqrt(1-beta_2^t)/(1-beta_1^t) * m / (sqrt(v) + epsilon), t = iterations + 1.

    With amsgrad, v in the last line is the running maximum of v. Other keyword arguments are
    the Optimizer base's.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        beta_1: Float in [0, 1), decay rate of the first-moment (mean) estimate.
        beta_2: Float in [0, 1), decay rate of the second-moment (uncentered variance) estimate.
        epsilon: Non-negative float added to sqrt(v) for numerical stability.
        amsgrad: If True, use the AMSGrad variant (running maximum of v).
        **kwargs: The base `Optimizer`'s keywords: `lr` (Keras 2's name for `learning_rate`),
            `decay`, `clipnorm`, `clipvalue`, `global_clipnorm`, `name`.
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 **kwargs: Any):
        self.beta_1 = check_number("Adam", "beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = check_number("Adam", "beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = check_number("Adam", "epsilon", epsilon, 0.0)
        self.amsgrad = bool(amsgrad)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")] + ([("velocity_hat",)] if self.amsgrad else [])

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        t = ops.cast(self._local_step() + 1, dtype)
        beta_1_power = ops.power(self.beta_1, t)
        beta_2_power = ops.power(self.beta_2, t)
        alpha = lr * ops.sqrt(1.0 - beta_2_power) / (1.0 - beta_1_power)
        m, v = self.slot(variable, "momentum"), self.slot(variable, "velocity")
        m.assign_add((g - m.value) * (1.0 - self.beta_1))
        v.assign_add((ops.square(g) - v.value) * (1.0 - self.beta_2))
        v_used = v.value
        if self.amsgrad:
            v_hat = self.slot(variable, "velocity_hat")
            v_hat.assign(ops.maximum(v_hat.value, v_used))
            v_used = v_hat.value
        variable.assign_sub(m.value * alpha / (ops.sqrt(v_used) + self.epsilon))

    def in_place_rule(self) -> tuple[str, dict]:
        return "adam", {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                        "amsgrad": self.amsgrad}

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}
