"""Adafactor in Keras 3's form: the second moment of a matrix is stored factored, as a row
mean r and a column mean c (memory O(rows + cols) instead of O(rows * cols)).

Slots have different shapes per weight: r is shape[:-1], c is shape[:-2] + shape[-1:], and both
are scalars (unused) for weights of rank < 2, as in Keras's variable list.
"""

from __future__ import annotations

from typing import Any

from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable


def _rms(x):
    return ops.sqrt(ops.mean(ops.square(x)))


class Adafactor(Optimizer):
    """t = iterations + 1; rho = min(lr, 1/sqrt(t)); alpha = max(epsilon_2, rms(w)) * rho;
    beta_2 = 1 - t^beta_2_decay; G = g^2 + epsilon_1; for a matrix r, c are moving means of G
    over its last and second-to-last axes and v = (r / mean(r)) outer c, else v is G's moving
    mean; u = g / sqrt(v); w -= alpha * u / max(1, rms(u) / clip_threshold).

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        beta_2_decay: Float, the decay exponent of the second-moment rate.
        epsilon_1: Non-negative float added to g^2.
        epsilon_2: Non-negative float, the smallest weight scale the step is relative to.
        clip_threshold: Positive float, the largest RMS of a step before it is scaled down.
        relative_step: Kept for Keras's config: with either value the step uses
            min(learning_rate, 1/sqrt(t)), as Keras 3 computes it.
        **kwargs: The base `Optimizer`'s keywords (weight_decay, clipping, EMA, ...).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 beta_2_decay: float = -0.8, epsilon_1: float = 1e-30, epsilon_2: float = 1e-3,
                 clip_threshold: float = 1.0, relative_step: bool = True, **kwargs: Any):
        self.beta_2_decay = check_number("Adafactor", "beta_2_decay", beta_2_decay)
        self.epsilon_1 = check_number("Adafactor", "epsilon_1", epsilon_1, 0.0)
        self.epsilon_2 = check_number("Adafactor", "epsilon_2", epsilon_2, 0.0)
        self.clip_threshold = check_number("Adafactor", "clip_threshold", clip_threshold, 0.0,
                                           low_open=True)
        self.relative_step = bool(relative_step)
        super().__init__(learning_rate, **kwargs)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("r", "c", "velocity")]

    def slot_shape(self, name: str, variable: Variable) -> tuple:
        shape = tuple(variable.shape)
        if name == "velocity":
            return shape
        if len(shape) < 2:
            return ()
        return shape[:-1] if name == "r" else shape[:-2] + shape[-1:]

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        t = ops.cast(self._local_step() + 1, dtype)
        rho = ops.minimum(lr, 1.0 / ops.sqrt(t))
        alpha = ops.maximum(self.epsilon_2, _rms(variable.value)) * rho
        g2 = ops.square(g) + self.epsilon_1
        beta_2 = 1.0 - ops.power(t, self.beta_2_decay)
        r, c, v = (self.slot(variable, n) for n in ("r", "c", "velocity"))
        if len(variable.shape) >= 2:
            r.assign(beta_2 * r.value + (1.0 - beta_2) * ops.mean(g2, axis=-1))
            c.assign(beta_2 * c.value + (1.0 - beta_2) * ops.mean(g2, axis=-2))
            row = r.value / ops.mean(r.value, axis=-1, keepdims=True)
            v.assign(ops.expand_dims(row, -1) * ops.expand_dims(c.value, -2))
        else:
            v.assign(beta_2 * v.value + (1.0 - beta_2) * g2)
        u = g / ops.sqrt(v.value)
        u = u / ops.maximum(1.0, _rms(u) / self.clip_threshold)
        variable.assign_sub(alpha * u)

    def in_place_rule(self) -> tuple[str, dict]:
        return "adafactor", {"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                             "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold}

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}
