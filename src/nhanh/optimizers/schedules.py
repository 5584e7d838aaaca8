"""Learning-rate schedules: functions of the optimizer's step, written with ops.

A schedule is called with the `iterations` value (an int32 array, possibly traced inside a
compiled step), so it must not read it on the host or branch on it in Python.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

from nhanh import ops, registry


def _number(owner: str, name: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: `{name}` must be a number, got {type(value).__name__} "
                        f"{value!r}.")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{owner}: `{name}` must be {'> 0' if positive else '>= 0'}, "
                         f"got {value!r}.")
    return value


class LearningRateSchedule:
    """Base class: subclasses define `__call__(step)` and `get_config()`."""

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule {type(self).__name__} must override __call__(self, step)."
        )

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Learning rate schedule {type(self).__name__} must override get_config() to be "
            "serializable."
        )

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)


def _decay_progress(step, decay_steps: float, staircase: bool):
    p = ops.cast(step, "float32") / float(decay_steps)
    return ops.floor(p) if staircase else p


class _TimeDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: arguments, checks and config."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str | None = None):
        owner = type(self).__name__
        self.initial_learning_rate = _number(owner, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number(owner, "decay_steps", decay_steps, positive=True)
        self.decay_rate = _number(owner, "decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name or owner

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_TimeDecay):
    """initial_learning_rate * decay_rate ** (step / decay_steps), floored with staircase.

    Args:
        initial_learning_rate: Non-negative float, the rate at step 0.
        decay_steps: Positive number of steps per unit of decay progress.
        decay_rate: Non-negative float, the decay rate in the formula above.
        staircase: If True, use whole numbers of `decay_steps` (the rate changes in steps).
        name: Name stored in the config; `None` uses the class name.
    """

    def __call__(self, step):
        p = _decay_progress(step, self.decay_steps, self.staircase)
        return self.initial_learning_rate * ops.power(float(self.decay_rate), p)


class InverseTimeDecay(_TimeDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps), floored with staircase.

    Args:
        initial_learning_rate: Non-negative float, the rate at step 0.
        decay_steps: Positive number of steps per unit of decay progress.
        decay_rate: Non-negative float, the decay rate in the formula above.
        staircase: If True, use whole numbers of `decay_steps` (the rate changes in steps).
        name: Name stored in the config; `None` uses the class name.
    """

    def __call__(self, step):
        p = _decay_progress(step, self.decay_steps, self.staircase)
        return self.initial_learning_rate / (1.0 + float(self.decay_rate) * p)



class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while step <= boundaries[i], then
    values[-1]: Keras's convention (a boundary step still uses the earlier value).

    Args:
        boundaries: Strictly increasing steps where the rate changes.
        values: The rates, one more than `boundaries` (one per interval).
        name: Name stored in the config.
    """

    def __init__(self, boundaries: Sequence[float], values: Sequence[float],
                 name: str = "PiecewiseConstant"):
        owner = type(self).__name__
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"{owner}: `values` needs one more entry than `boundaries` (one value per "
                f"interval), got {len(boundaries)} boundaries and {len(values)} values."
            )
        for i, b in enumerate(boundaries):
            _number(owner, f"boundaries[{i}]", b)
        for i, v in enumerate(values):
            _number(owner, f"values[{i}]", v)
        if any(b1 >= b2 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"{owner}: `boundaries` must be strictly increasing, "
                             f"got {boundaries}.")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        step = ops.convert_to_tensor(step)
        integral = all(isinstance(b, numbers.Integral) for b in self.boundaries)
        if not (integral and ops.dtype(step).startswith(("int", "uint"))):
            step = ops.cast(step, "float32")
        result = ops.full((), float(self.values[0]), dtype="float32")
        for boundary, value in zip(self.boundaries, self.values[1:]):
            result = ops.where(ops.greater(step, boundary), float(value), result)
        return result

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ** power + end, with step capped at
    decay_steps; with cycle, decay_steps is instead multiplied by ceil(step / decay_steps).

    Args:
        initial_learning_rate: Non-negative float, the rate at step 0.
        decay_steps: Positive number of steps to reach `end_learning_rate`.
        end_learning_rate: Non-negative float, the final rate.
        power: Non-negative float, the polynomial's exponent (1 is linear).
        cycle: If True, decay again after each `decay_steps` (over a growing period).
        name: Name stored in the config.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay"):
        owner = type(self).__name__
        self.initial_learning_rate = _number(owner, "initial_learning_rate",
                                             initial_learning_rate)
        self.decay_steps = _number(owner, "decay_steps", decay_steps, positive=True)
        self.end_learning_rate = _number(owner, "end_learning_rate", end_learning_rate)
        self.power = _number(owner, "power", power)
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        decay_steps = float(self.decay_steps)
        if self.cycle:
            periods = ops.where(ops.equal(step, 0.0), 1.0, ops.ceil(step / decay_steps))
            fraction = step / (decay_steps * periods)
        else:
            fraction = ops.minimum(step, decay_steps) / decay_steps
        span = float(self.initial_learning_rate) - float(self.end_learning_rate)
        return span * ops.power(1.0 - fraction, float(self.power)) + \
            float(self.end_learning_rate)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


def _cosine(fraction, alpha: float):
    """(1 - alpha) * (1 + cos(pi * fraction)) / 2 + alpha."""
    return (1.0 - alpha) * 0.5 * (1.0 + ops.cos(math.pi * fraction)) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the rate to alpha times it over decay_steps; with warmup_target, first
    a linear warmup from initial_learning_rate to warmup_target over warmup_steps, then the
    cosine decay from warmup_target.

    Args:
        initial_learning_rate: Non-negative float, the rate at step 0.
        decay_steps: Positive number of steps of the cosine decay.
        alpha: Float in [0, 1], the final rate as a fraction of the decayed-from rate.
        name: Name stored in the config.
        warmup_target: Non-negative float or None (no warmup): the rate warmup ends at.
        warmup_steps: Non-negative number of warmup steps.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: float = 0):
        owner = type(self).__name__
        self.initial_learning_rate = _number(owner, "initial_learning_rate",
                                             initial_learning_rate)
        self.decay_steps = _number(owner, "decay_steps", decay_steps, positive=True)
        self.alpha = _number(owner, "alpha", alpha)
        self.name = name
        self.warmup_target = None if warmup_target is None else _number(
            owner, "warmup_target", warmup_target)
        self.warmup_steps = _number(owner, "warmup_steps", warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        decay_steps, initial = float(self.decay_steps), float(self.initial_learning_rate)
        if self.warmup_target is None:
            return initial * _cosine(ops.minimum(step, decay_steps) / decay_steps, self.alpha)
        target, warmup = float(self.warmup_target), float(self.warmup_steps)
        step = ops.minimum(step, decay_steps + warmup)
        # Both branches are computed and `where` picks one: no host branch on the step.
        warming = (target - initial) * (step / max(warmup, 1e-30)) + initial
        decaying = target * _cosine((step - warmup) / decay_steps, self.alpha)
        return ops.where(step < warmup, warming, decaying)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the i-th period lasts first_decay_steps * t_mul**i
    steps and starts from initial_learning_rate * m_mul**i.

    Args:
        initial_learning_rate: Non-negative float, the rate at step 0.
        first_decay_steps: Positive number of steps of the first period.
        t_mul: Positive float, each period's length relative to the previous one.
        m_mul: Non-negative float, each period's starting rate relative to the previous one.
        alpha: Float in [0, 1], the final rate of a period as a fraction of its start.
        name: Name stored in the config.
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: float,
                 t_mul: float = 2.0, m_mul: float = 1.0, alpha: float = 0.0,
                 name: str = "SGDRDecay"):
        owner = type(self).__name__
        self.initial_learning_rate = _number(owner, "initial_learning_rate",
                                             initial_learning_rate)
        self.first_decay_steps = _number(owner, "first_decay_steps", first_decay_steps,
                                         positive=True)
        self.t_mul = _number(owner, "t_mul", t_mul, positive=True)
        self.m_mul = _number(owner, "m_mul", m_mul)
        self.alpha = _number(owner, "alpha", alpha)
        self.name = name

    def __call__(self, step):
        fraction = ops.cast(step, "float32") / float(self.first_decay_steps)
        t_mul = float(self.t_mul)
        if t_mul == 1.0:  # a constant of the schedule, so a Python branch is fine
            restart = ops.floor(fraction)
            fraction = fraction - restart
        else:
            restart = ops.floor(ops.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            done = (1.0 - ops.power(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - done) / ops.power(t_mul, restart)
        scale = ops.power(float(self.m_mul), restart)
        decayed = (1.0 - self.alpha) * 0.5 * scale * (1.0 + ops.cos(math.pi * fraction)) + \
            self.alpha
        return float(self.initial_learning_rate) * decayed

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


ALL_SCHEDULES: dict[str, type] = {
    c.__name__: c for c in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
                            PolynomialDecay, CosineDecay, CosineDecayRestarts)
}


def serialize(schedule: LearningRateSchedule) -> dict:
    """{'class_name', 'config'}, as Keras writes it.

    Args:
        schedule: The schedule to describe.

    Returns:
        A dict `{'class_name': ..., 'config': {...}}`.
    """
    return registry.serialize(schedule)


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """A schedule from serialize()'s output (Keras's extra keys are ignored).

    Args:
        config: A dict `{'class_name': ..., 'config': {...}}`.
        custom_objects: Dict mapping class names to user `LearningRateSchedule` subclasses.

    Returns:
        A new `LearningRateSchedule`.
    """
    return registry.deserialize("learning rate schedule", config,
                                {**ALL_SCHEDULES, **(custom_objects or {})})


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
