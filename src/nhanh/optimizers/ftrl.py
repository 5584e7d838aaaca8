"""FTRL-Proximal ("follow the regularized leader"), in Keras 3's form, with L1, L2 and
L2-shrinkage regularization."""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class Ftrl(Optimizer):
    """n' = n + g^2; z += g + 2 l2_shrinkage w - (n'^-p - n^-p) / lr * w, p = learning_rate_power;
    w = (clip(z, -l1, l1) - z) / (n'^-p / lr + 2 (l2 + beta / (2 lr))); n = n'.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        learning_rate_power: Float <= 0, how fast the per-weight step shrinks as n grows.
        initial_accumulator_value: Non-negative float, the starting value of n.
        l1_regularization_strength: Non-negative float; weights with |z| <= it become zero.
        l2_regularization_strength: Non-negative float, L2 penalty (stabilization).
        l2_shrinkage_regularization_strength: Non-negative float, L2 penalty added to the
            gradient (magnitude shrinkage).
        beta: Float, added as beta / (2 lr) to the L2 strength (the paper's beta).
        **kwargs: The base `Optimizer`'s keywords (weight_decay, clipping, EMA, ...).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 learning_rate_power: float = -0.5, initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0, l2_regularization_strength: float = 0.0,
                 l2_shrinkage_regularization_strength: float = 0.0, beta: float = 0.0,
                 **kwargs: Any):
        self.learning_rate_power = check_number("Ftrl", "learning_rate_power",
                                                learning_rate_power, high=0.0)
        self.initial_accumulator_value = check_number(
            "Ftrl", "initial_accumulator_value", initial_accumulator_value, 0.0)
        self.l1_regularization_strength = check_number(
            "Ftrl", "l1_regularization_strength", l1_regularization_strength, 0.0)
        self.l2_regularization_strength = check_number(
            "Ftrl", "l2_regularization_strength", l2_regularization_strength, 0.0)
        self.l2_shrinkage_regularization_strength = check_number(
            "Ftrl", "l2_shrinkage_regularization_strength",
            l2_shrinkage_regularization_strength, 0.0)
        self.beta = check_number("Ftrl", "beta", beta)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("accumulator", "linear")]

    def slot_initial_value(self, name: str) -> float:
        return self.initial_accumulator_value if name == "accumulator" else 0.0

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        accumulator, linear = self.slot(variable, "accumulator"), self.slot(variable, "linear")
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        l1 = self.l1_regularization_strength
        w = variable.value
        n_old = accumulator.value
        n_new = n_old + ops.square(g)
        shrunk = g + 2.0 * self.l2_shrinkage_regularization_strength * w
        linear.assign_add(shrunk - (ops.power(n_new, power) - ops.power(n_old, power)) / lr * w)
        quadratic = ops.power(n_new, power) / lr + 2.0 * l2
        z = linear.value
        variable.assign((ops.clip(z, -l1, l1) - z) / quadratic)
        accumulator.assign(n_new)

    def in_place_rule(self) -> tuple[str, dict]:
        return "ftrl", {"learning_rate_power": self.learning_rate_power,
                        "l1": self.l1_regularization_strength,
                        "l2": self.l2_regularization_strength,
                        "l2_shrinkage": self.l2_shrinkage_regularization_strength,
                        "beta": self.beta}

    def get_config(self) -> dict:
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
