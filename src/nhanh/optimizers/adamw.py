"""AdamW: Adam with decoupled weight decay on by default (Keras 3's form).

The decay itself is the base's `weight_decay` (w -= lr * weight_decay * w before Adam's step),
so AdamW only changes the default and refuses None.
"""

from __future__ import annotations

from typing import Any

from nhanh.optimizers.adam import Adam
from nhanh.optimizers.schedules import LearningRateSchedule


class AdamW(Adam):
    """w -= lr * weight_decay * w, then Adam's step (see `Adam`).

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        weight_decay: Non-negative float, the decoupled decay rate (required; Keras's default).
        beta_1: Float in [0, 1), decay rate of the first-moment estimate.
        beta_2: Float in [0, 1), decay rate of the second-moment estimate.
        epsilon: Non-negative float added to sqrt(v) for numerical stability.
        amsgrad: If True, use the AMSGrad variant (running maximum of v).
        **kwargs: The base `Optimizer`'s keywords (clipping, EMA, gradient accumulation, ...).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 weight_decay: float = 0.004, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any):
        if weight_decay is None:
            raise ValueError("AdamW: `weight_decay` must be a float, got None; use Adam for "
                             "no weight decay.")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
