"""Learning-rate schedules: functions of the optimizer's step, written with ops.

A schedule is called with the `iterations` value (an int32 array, possibly traced inside a
compiled step), so it must not read it on the host or branch on it in Python.
"""

from __future__ import annotations

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


ALL_SCHEDULES: dict[str, type] = {
    c.__name__: c for c in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay)
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
