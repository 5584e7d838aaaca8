"""Schedule-Free AdamW (Defazio et al., 2024) in Keras 3's form.

The weights the model sees are y, an interpolation between z (the `momentum` slot, where the
Adam-scaled gradient steps land; it starts as a copy of the weights) and x, the running average
of z. x is not stored: it is recovered from y and the previous z each step, as Keras does, so
the state is the same two slots per weight as Keras's.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


class ScheduleFreeAdamW(Optimizer):
    """t = iterations + 1; lr_t = lr * min(t / warmup_steps, 1) (with warmup);
    v += (1-beta_2)(g^2 - v); z -= lr_t * g / (sqrt(v / (1-beta_2^t)) + epsilon);
    x_old = (y - (1-beta_1) z_old) / beta_1; x = (1 - 1/t) x_old + z / t;
    y = (1-beta_1) z + beta_1 x.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        beta_1: Float in (0, 1): how far y sits from z towards the average x.
        beta_2: Float in [0, 1), decay rate of the second-moment estimate.
        epsilon: Non-negative float added to the root of v.
        warmup_steps: Int >= 0: the learning rate grows linearly to its value over this many
            steps.
        **kwargs: The base `Optimizer`'s keywords (weight_decay, clipping, EMA, ...).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.0025, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, warmup_steps: int = 0,
                 **kwargs: Any):
        owner = "ScheduleFreeAdamW"
        # beta_1 = 0 would divide by zero when x is recovered from y.
        self.beta_1 = check_number(owner, "beta_1", beta_1, 0.0, 1.0, low_open=True,
                                   high_open=True)
        self.beta_2 = check_number(owner, "beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = check_number(owner, "epsilon", epsilon, 0.0)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, numbers.Integral) \
                or warmup_steps < 0:
            raise ValueError(f"{owner}: `warmup_steps` must be an integer >= 0, got "
                             f"{warmup_steps!r}.")
        self.warmup_steps = int(warmup_steps)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")]

    def build(self, variables: Sequence[Variable]) -> None:
        new = [v for v in variables if v not in self._slots]
        super().build(variables)
        for v in new:  # z starts at the weights: a new buffer (+ 0), never a shared one
            self._slots[v]["momentum"].assign(v.value + 0)

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        t = ops.cast(self._local_step() + 1, dtype)
        if self.warmup_steps > 0:
            lr = lr * ops.minimum(t / float(self.warmup_steps), 1.0)
        z, v = self.slot(variable, "momentum"), self.slot(variable, "velocity")
        z_old = z.value
        v.assign_add((ops.square(g) - v.value) * (1.0 - self.beta_2))
        denominator = ops.sqrt(v.value / (1.0 - ops.power(self.beta_2, t))) + self.epsilon
        z.assign_sub(lr * g / denominator)
        weight = 1.0 / t
        x_old = (variable.value - (1.0 - self.beta_1) * z_old) / self.beta_1
        x = (1.0 - weight) * x_old + weight * z.value
        variable.assign((1.0 - self.beta_1) * z.value + self.beta_1 * x)

    def in_place_rule(self) -> tuple[str, dict]:
        return "schedule_free_adamw", {"beta_1": self.beta_1, "beta_2": self.beta_2,
                                       "epsilon": self.epsilon,
                                       "warmup_steps": self.warmup_steps}

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "warmup_steps": self.warmup_steps}
