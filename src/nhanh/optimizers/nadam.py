"""Nadam: Adam with Nesterov momentum and Dozat's momentum schedule (Keras 3's form).

The schedule mu_t = beta_1 (1 - 0.5 * 0.96^t) needs the running product of every mu so far; it
is one scalar Variable ("u_product", after the slots, as Keras lists it), updated once per
optimizer update in `before_updates`.
"""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class Nadam(Optimizer):
    """mu_t = beta_1 (1 - 0.5 * 0.96^t); P_t = mu_1 ... mu_t; m, v as in Adam;
    m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t);
    w -= lr * m_hat / (sqrt(v / (1 - beta_2^t)) + epsilon), t = iterations + 1.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        beta_1: Float in [0, 1), decay rate of the first-moment estimate.
        beta_2: Float in [0, 1), decay rate of the second-moment estimate.
        epsilon: Non-negative float added to the root of v for numerical stability.
        **kwargs: The base `Optimizer`'s keywords (weight_decay, clipping, EMA, ...).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, **kwargs: Any):
        self.beta_1 = check_number("Nadam", "beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = check_number("Nadam", "beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = check_number("Nadam", "epsilon", epsilon, 0.0)
        self._u_product: Variable | None = None
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")]

    def build_extra(self, variables: list[Variable]) -> None:
        dtype = variables[0].dtype if variables else "float32"
        self._u_product = self.add_extra_variable(1.0, dtype, "u_product")

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * ops.power(0.96, t))

    def before_updates(self) -> None:
        t = ops.cast(self._local_step() + 1, self._u_product.dtype)
        self._u_product.assign(self._u_product.value * self._mu(t))

    def _factors(self, dtype):
        """(mu_t, mu_{t+1}, P_t, 1 - beta_2^t) for this update, in `dtype`."""
        t = ops.cast(self._local_step() + 1, dtype)
        return (self._mu(t), self._mu(t + 1.0), ops.cast(self._u_product.value, dtype),
                1.0 - ops.power(self.beta_2, t))

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        mu_t, mu_next, product, beta_2_correction = self._factors(dtype)
        m, v = self.slot(variable, "momentum"), self.slot(variable, "velocity")
        m.assign_add((g - m.value) * (1.0 - self.beta_1))
        v.assign_add((ops.square(g) - v.value) * (1.0 - self.beta_2))
        m_hat = mu_next * m.value / (1.0 - product * mu_next) + (1.0 - mu_t) * g / (1.0 - product)
        v_hat = v.value / beta_2_correction
        variable.assign_sub(m_hat * lr / (ops.sqrt(v_hat) + self.epsilon))

    def in_place_rule(self) -> tuple[str, dict]:
        return "nadam", {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                         "u_product": self._u_product.value}

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
