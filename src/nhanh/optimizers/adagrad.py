"""Adagrad in Keras 3's form: the accumulator starts at initial_accumulator_value and epsilon
sits inside the square root."""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class Adagrad(Optimizer):
    """a += g^2; w -= lr * g / sqrt(a + epsilon). Other keyword arguments are the base's.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        initial_accumulator_value: Non-negative float, the starting value of the accumulator a.
        epsilon: Non-negative float added inside the square root for numerical stability.
        **kwargs: The base `Optimizer`'s keywords: `lr` (Keras 2's name for `learning_rate`),
            `decay`, `clipnorm`, `clipvalue`, `global_clipnorm`, `name`.
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 initial_accumulator_value: float = 0.1, epsilon: float = 1e-7, **kwargs: Any):
        self.initial_accumulator_value = check_number(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value, 0.0)
        self.epsilon = check_number("Adagrad", "epsilon", epsilon, 0.0)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("accumulator",)]

    def slot_initial_value(self, name: str) -> float:
        return self.initial_accumulator_value

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(grad, variable.dtype)
        accumulator = self.slot(variable, "accumulator")
        accumulator.assign_add(ops.square(g))
        variable.assign_sub(lr * g / ops.sqrt(accumulator.value + self.epsilon))

    def in_place_rule(self) -> tuple[str, dict]:
        return "adagrad", {"epsilon": self.epsilon}

    def get_config(self) -> dict:
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
