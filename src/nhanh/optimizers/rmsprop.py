"""RMSprop in Keras 3's form: epsilon inside the square root, optional momentum and centering."""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class RMSprop(Optimizer):
    """v = rho v + (1-rho) g^2; step = lr g / sqrt(v + epsilon) (centered: v - a^2 + epsilon,
    with a = rho a + (1-rho) g); w -= step, or with momentum: m = momentum m + step; w -= m.

    Other keyword arguments are the Optimizer base's.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        rho: Float in [0, 1), decay rate of the moving average of squared gradients.
        momentum: Float in [0, 1]; 0 means no momentum slot.
        epsilon: Non-negative float added inside the square root for numerical stability.
        centered: If True, divide by an estimate of the gradient's variance (subtracting the
            squared moving mean of the gradients) rather than its raw second moment.
        **kwargs: The base `Optimizer`'s keywords: `lr` (Keras 2's name for `learning_rate`),
            `decay`, `clipnorm`, `clipvalue`, `global_clipnorm`, `name`.
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, rho: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
                 **kwargs: Any):
        self.rho = check_number("RMSprop", "rho", rho, 0.0, 1.0, high_open=True)
        self.momentum = check_number("RMSprop", "momentum", momentum, 0.0, 1.0)
        self.epsilon = check_number("RMSprop", "epsilon", epsilon, 0.0)
        self.centered = bool(centered)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        groups = [("velocity",)]
        if self.momentum > 0:
            groups.append(("momentum",))
        if self.centered:
            groups.append(("average_gradient",))
        return groups

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(grad, variable.dtype)
        rho = self.rho
        velocity = self.slot(variable, "velocity")
        velocity.assign(rho * velocity.value + (1.0 - rho) * ops.square(g))
        if self.centered:
            average = self.slot(variable, "average_gradient")
            average.assign(rho * average.value + (1.0 - rho) * g)
            denominator = velocity.value - ops.square(average.value) + self.epsilon
        else:
            denominator = velocity.value + self.epsilon
        increment = lr * g / ops.sqrt(denominator)
        if self.momentum > 0:
            m = self.slot(variable, "momentum")
            m.assign(self.momentum * m.value + increment)
            variable.assign_sub(m.value)
        else:
            variable.assign_sub(increment)

    def in_place_rule(self) -> tuple[str, dict]:
        return "rmsprop", {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                           "centered": self.centered}

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
