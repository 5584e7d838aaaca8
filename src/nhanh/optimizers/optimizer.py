"""The Optimizer base: state in Variables, one update rule per subclass.

Everything that changes while training (the step counter, the learning rate, each optimizer
slot) is a Variable, changed only through assign / assign_add / assign_sub and read through
`.value`. Inside a StatelessScope the whole `apply` is therefore a pure function of the mapped
values, which the JAX backend compiles; nothing here reads a device value on the host or
branches on one in Python.

Clipping and the Keras 2 `decay` compose around the update rule (see clipping.py) instead of
branching inside each optimizer: a subclass only names its slots and writes `update_step`.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
from typing import Any, Iterable, Sequence

import numpy as np

from nhanh import backend as _backend
from nhanh import config, ops
from nhanh.optimizers import clipping
from nhanh.optimizers import schedules as _schedules
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import StatelessScope, Variable, current_scope, unwrap

# Keras 3 arguments nhanh does not implement, with the value that means "off". A Keras config
# carries them all, so from_config accepts them at these values and refuses anything else.
_KERAS_NEUTRAL = {
    "weight_decay": None, "use_ema": False, "ema_momentum": 0.99,
    "ema_overwrite_frequency": None, "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def check_number(owner: str, name: str, value: Any, low: float | None = None,
                 high: float | None = None, *, low_open: bool = False,
                 high_open: bool = False) -> float:
    """value as a float, or a TypeError / ValueError naming the argument and the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: `{name}` must be a number, got {type(value).__name__} "
                        f"{value!r}.")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high or math.isnan(value):
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        where = f"in {lo}, {hi}" if low is not None and high is not None else (
            f"{'>' if low_open else '>='} {low:g}" if low is not None else
            f"{'<' if high_open else '<='} {high:g}")
        raise ValueError(f"{owner}: `{name}` must be {where}, got {value!r}.")
    return value


def _init_default(cls: type, name: str) -> Any:
    """The default of argument `name` in the nearest __init__ that declares it."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            param = inspect.signature(init).parameters.get(name)
            if param is not None:
                return param.default
    return None


def _accepted_arguments(cls: type) -> list[str]:
    names = set(_KERAS_NEUTRAL)
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None and klass is not object:
            names |= {p.name for p in inspect.signature(init).parameters.values()
                      if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"}
    return sorted(names)


class Optimizer:
    """Base class of nhanh's optimizers (Keras 3's interface, with Keras 2's lr= and decay=).

    Subclasses define `slot_groups()`, optionally `slot_initial_value(name)`, and
    `update_step(grad, variable, learning_rate)`; the base does the rest: argument checks,
    state Variables, clipping, learning-rate schedules and decay, constraints, the step count.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        lr: Keras 2's name for `learning_rate`; give one or the other.
        decay: Non-negative float, Keras 2's inverse-time decay: the rate used at step t is
            `learning_rate / (1 + decay * t)`.
        clipnorm: Positive float: each gradient is rescaled so its L2 norm is at most this.
        clipvalue: Positive float: each gradient entry is clipped to [-clipvalue, clipvalue].
        global_clipnorm: Positive float: all gradients are rescaled together so their joint L2 norm
            is at most this; not combinable with `clipnorm`.
        name: Name of the optimizer; `None` uses the lowercased class name.
        **kwargs: Keras 3 arguments nhanh does not implement (`weight_decay`, `use_ema`,
            `ema_momentum`, `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`) are accepted only at their "off" values, so Keras
            configs load; any other keyword raises a `TypeError`.
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, *,
                 lr: float | LearningRateSchedule | None = None, decay: float = 0.0,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs: Any):
        owner = type(self).__name__
        self._reject_unknown(kwargs)
        if lr is not None:
            # Keras 2 spelling. learning_rate still at its default means only lr= was given.
            default = _init_default(type(self), "learning_rate")
            if learning_rate != default and learning_rate != lr:
                raise ValueError(
                    f"{owner}: got learning_rate={learning_rate!r} and lr={lr!r}; `lr` is the "
                    "Keras 2 name of `learning_rate`, pass only one of them."
                )
            learning_rate = lr
        self.decay = check_number(owner, "decay", decay, 0.0)
        self.clipnorm = None if clipnorm is None else check_number(
            owner, "clipnorm", clipnorm, 0.0, low_open=True)
        self.clipvalue = None if clipvalue is None else check_number(
            owner, "clipvalue", clipvalue, 0.0, low_open=True)
        self.global_clipnorm = None if global_clipnorm is None else check_number(
            owner, "global_clipnorm", global_clipnorm, 0.0, low_open=True)
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError(
                f"{owner}: pass at most one of `clipnorm` (each gradient on its own) and "
                f"`global_clipnorm` (all gradients together), got clipnorm={clipnorm!r} and "
                f"global_clipnorm={global_clipnorm!r}."
            )
        if not isinstance(learning_rate, LearningRateSchedule):
            learning_rate = check_number(owner, "learning_rate", learning_rate, 0.0)
            if math.isinf(learning_rate):
                raise ValueError(f"{owner}: `learning_rate` must be finite, got {learning_rate}.")
        self.name = name or owner.lower()

        transforms = []
        if self.clipvalue is not None:
            transforms.append(clipping.clip_by_value(self.clipvalue))
        if self.clipnorm is not None:
            transforms.append(clipping.clip_by_norm(self.clipnorm))
        if self.global_clipnorm is not None:
            transforms.append(clipping.clip_by_global_norm(self.global_clipnorm))
        self._transform_gradients = clipping.chain(*transforms)

        self._iterations = Variable(0, shape=(), dtype="int32", trainable=False,
                                    name="iteration")
        # A float learning rate lives in a Variable, so setting it changes a compiled step too.
        self._lr_variable: Variable | None = None
        if isinstance(learning_rate, LearningRateSchedule):
            self._learning_rate: Variable | LearningRateSchedule = learning_rate
        else:
            self._lr_variable = Variable(learning_rate, shape=(), dtype=config.floatx(),
                                         trainable=False, name="learning_rate")
            self._learning_rate = self._lr_variable
        self._slots: dict[Variable, dict[str, Variable]] = {}
        self._model_variables: list[Variable] = []
        self.built = False

    def _reject_unknown(self, kwargs: dict) -> None:
        owner = type(self).__name__
        for key, neutral in _KERAS_NEUTRAL.items():
            if key in kwargs:
                value = kwargs.pop(key)
                if value != neutral:
                    raise ValueError(
                        f"{owner}: Keras's `{key}` is not implemented in nhanh; it is only "
                        f"accepted as {key}={neutral!r} (got {value!r})."
                    )
        if kwargs:
            accepted = _accepted_arguments(type(self))
            hints = []
            for key in kwargs:
                close = difflib.get_close_matches(key, accepted, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise TypeError(
                f"{owner}() got unexpected keyword argument(s): {', '.join(hints)}. "
                f"Accepted arguments: {', '.join(accepted)}."
            )

    # --- what a subclass defines ---------------------------------------------------------

    def slot_groups(self) -> list[tuple[str, ...]]:
        """Names of the per-variable slots. `variables` lists them group by group, variable by
        variable within a group, slot by slot within that: Keras 3's order."""
        return []

    def slot_initial_value(self, name: str) -> float:
        """The constant a slot starts at."""
        return 0.0

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        """Update `variable` (and its slots) from one gradient, through assign* only."""
        raise NotImplementedError(f"{type(self).__name__} must define update_step().")

    def in_place_rule(self) -> tuple[str, dict] | None:
        """(name, hyperparameters) of an engine's in-place, multi-tensor form of update_step
        (backend `update_rules`), or None. Used only while update_step is the one defined
        next to this method, so a subclass that changes the rule gets its own update_step."""
        return None

    # --- state ---------------------------------------------------------------------------

    @property
    def iterations(self) -> Variable:
        """How many times apply() has run (int32 scalar Variable)."""
        return self._iterations

    def build(self, variables: Sequence[Variable]) -> None:
        """Create the slots of every variable not seen yet (so calling it again is harmless).

        A compiled training step should build before it is traced, so that the slots are part
        of the state it is given.
        """
        variables = list(variables)
        for i, v in enumerate(variables):
            if not isinstance(v, Variable):
                raise TypeError(f"{type(self).__name__}.build: expected Variables, got "
                                f"{type(v).__name__} at position {i}.")
        names = [n for group in self.slot_groups() for n in group]
        for v in variables:
            if v in self._slots:
                continue
            self._slots[v] = {
                n: Variable(ops.full(v.shape, self.slot_initial_value(n), dtype=v.dtype),
                            dtype=v.dtype, trainable=False, name=f"{v.name}_{n}")
                for n in names
            }
            self._model_variables.append(v)
        self.built = True

    def slot(self, variable: Variable, name: str) -> Variable:
        """The slot `name` (e.g. 'momentum') that belongs to `variable`."""
        return self._slots[variable][name]

    @property
    def variables(self) -> list[Variable]:
        """[iterations, learning_rate (when it is a float)] + every slot, in a stable order."""
        out = [self._iterations]
        if self._lr_variable is not None:
            out.append(self._lr_variable)
        for group in self.slot_groups():
            for v in self._model_variables:
                out.extend(self._slots[v][n] for n in group)
        return out

    # --- learning rate -------------------------------------------------------------------

    @property
    def learning_rate(self):
        """The Variable holding a float learning rate, or a schedule's value at this step."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate(self._iterations.value)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        owner = type(self).__name__
        if isinstance(value, LearningRateSchedule):
            # The float Variable, if any, stays in `variables`: the state layout never changes.
            self._learning_rate = value
            return
        if self._lr_variable is None:
            raise TypeError(
                f"{owner} was created with a LearningRateSchedule, so its learning rate cannot "
                "be set to a number; create it with a float learning_rate to make it settable."
            )
        if isinstance(value, (np.ndarray, np.generic)) and np.size(value) == 1:
            value = float(np.asarray(value).reshape(()))
        if isinstance(value, numbers.Real):
            value = check_number(owner, "learning_rate", value, 0.0)
        elif isinstance(value, Variable) or ops.is_tensor(value):
            if ops.shape(value) != ():  # a device scalar is assigned without a host read
                raise ValueError(f"{owner}: a learning rate must be a scalar, got shape "
                                 f"{ops.shape(value)}.")
        else:
            raise TypeError(f"{owner}: learning_rate must be a number or a "
                            f"LearningRateSchedule, got {type(value).__name__} {value!r}.")
        self._lr_variable.assign(unwrap(value))
        self._learning_rate = self._lr_variable

    lr = learning_rate  # Keras 2 name

    def _current_learning_rate(self):
        step = self._iterations.value
        if isinstance(self._learning_rate, LearningRateSchedule):
            lr = ops.convert_to_tensor(self._learning_rate(step))
        else:
            lr = self._learning_rate.value
        if self.decay:  # Keras 2's inverse-time decay, composed onto any learning rate
            lr = lr / (1.0 + self.decay * ops.cast(step, ops.dtype(lr)))
        return lr

    # --- applying gradients --------------------------------------------------------------

    def apply(self, grads: Sequence, variables: Sequence[Variable] | None = None) -> None:
        """One optimizer step: clip, update every variable, constrain, count the step.

        Gradients that are None are skipped. Every argument is checked before any state
        changes, so a bad call leaves weights and slots as they were.
        """
        owner = type(self).__name__
        grads = list(grads)
        if variables is None:
            if not self.built:
                raise ValueError(f"{owner}.apply: pass the variables, or call build() first.")
            variables = self._model_variables
        variables = list(variables)
        if len(grads) != len(variables):
            raise ValueError(f"{owner}.apply: got {len(grads)} gradients for "
                             f"{len(variables)} variables; they must pair up one to one.")
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            raise ValueError(f"{owner}.apply: no gradients were given (all are None) for "
                             f"variables {[v.name for v in variables]}.")
        grads = []
        for g, v in pairs:
            if not isinstance(v, Variable):
                raise TypeError(f"{owner}.apply: expected Variables, got {type(v).__name__}.")
            g = ops.convert_to_tensor(g)
            if ops.shape(g) != v.shape:
                raise ValueError(f"{owner}.apply: the gradient for variable {v.name!r} has "
                                 f"shape {ops.shape(g)}, expected {v.shape}.")
            grads.append(g)
        variables = [v for _, v in pairs]
        self.build(variables)
        grads = self._transform_gradients(grads)
        learning_rate = self._current_learning_rate()
        if not self._update_in_place(grads, variables, learning_rate):
            for g, v in zip(grads, variables):
                self.update_step(g, v, learning_rate)
        for v in variables:
            if v.constraint is not None:
                v.assign(v.constraint(v.value))
        self._iterations.assign_add(1)

    def _update_in_place(self, grads: list, variables: list[Variable], learning_rate) -> bool:
        """Run the engine's in-place rule when there is one and the training step owns every
        buffer it would write (a donated scope; no buffer shared); False leaves it to
        update_step."""
        rule, scope = self.in_place_rule(), current_scope()
        if rule is None or scope is None or not scope.donated:
            return False
        kernel = _backend.get().update_rules.get(rule[0])
        cls = type(self)
        owner = next(k for k in cls.__mro__ if "in_place_rule" in k.__dict__)
        if kernel is None or cls.update_step is not owner.update_step:
            return False
        params = [scope.owned_value(v) for v in variables]
        slots = {n: [scope.owned_value(self._slots[v][n]) for v in variables]
                 for group in self.slot_groups() for n in group}
        buffers = params + [t for values in slots.values() for t in values]
        taken = {id(t) for t in scope.assigned.values()}  # already handed to another Variable
        if any(t is None or id(t) in taken for t in buffers) or \
                len({id(t) for t in buffers}) < len(buffers):
            return False
        grads = [g if ops.dtype(g) == v.dtype else ops.cast(g, v.dtype)
                 for g, v in zip(grads, variables)]
        kernel(params, grads, slots, learning_rate, self._iterations.value, **rule[1])
        return True

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> Variable:
        """Keras's spelling: apply() on (gradient, variable) pairs; returns `iterations`."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self._iterations

    def stateless_apply(self, optimizer_variables: Sequence, grads: Sequence,
                        trainable_variables: Sequence) -> tuple[list, list]:
        """Keras 3's pure form: values in, new values out, no Variable touched.

        `trainable_variables` are values for the variables this optimizer was built on, in
        build order; `optimizer_variables` are values for `self.variables`.
        """
        if not self.built:
            raise ValueError(f"{type(self).__name__}.stateless_apply needs build() first.")
        model, state = self._model_variables, self.variables
        if len(trainable_variables) != len(model) or len(optimizer_variables) != len(state):
            raise ValueError(
                f"{type(self).__name__}.stateless_apply: expected {len(model)} trainable values "
                f"and {len(state)} optimizer values, got {len(trainable_variables)} and "
                f"{len(optimizer_variables)}."
            )
        mapping = dict(zip(model, trainable_variables))
        mapping.update(zip(state, optimizer_variables))
        with StatelessScope(mapping) as scope:
            self.apply(grads, model)
            return [scope.get(v) for v in model], [scope.get(v) for v in state]

    # --- configuration -------------------------------------------------------------------

    def get_config(self) -> dict:
        """Constructor arguments (plain Python values), for from_config and saving."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            learning_rate: Any = _schedules.serialize(self._learning_rate)
        else:
            learning_rate = float(ops.convert_to_numpy(self._learning_rate))
        cfg = {"name": self.name, "learning_rate": learning_rate, "clipnorm": self.clipnorm,
               "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}
        if self.decay:  # Keras 3 warns about `decay`, so it is written only when used
            cfg["decay"] = self.decay
        return cfg

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"],
                                                             custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"
