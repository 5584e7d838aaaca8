"""The Optimizer base: state in Variables, one update rule per subclass.

Everything that changes while training (the step counter, the learning rate, each optimizer
slot) is a Variable, changed only through assign / assign_add / assign_sub and read through
`.value`. Inside a StatelessScope the whole `apply` is therefore a pure function of the mapped
values, which the JAX backend compiles; nothing here reads a device value on the host or
branches on one in Python.

Clipping and the Keras 2 `decay` compose around the update rule (see clipping.py) instead of
branching inside each optimizer: a subclass only names its slots and writes `update_step`.

Keras 3's base features live here, once, in Keras's order: the loss-scale factor divides the
gradients; gradient accumulation sums them in a slot and, every N-th step, updates with their
mean (the update is computed every step and selected with `where`, so there is no host branch);
clipping; decoupled weight decay (w -= lr * weight_decay * w, before the rule); the rule; the
weights' moving average (EMA) and its optional periodic overwrite; constraints; the step count.
"""

from __future__ import annotations

import difflib
import inspect
import re
import math
import numbers
from typing import Any, Iterable, Sequence

import numpy as np

from nhanh import backend as _backend
from nhanh import config, ops
from nhanh.distribution import placement
from nhanh.optimizers import clipping
from nhanh.optimizers import schedules as _schedules
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import StatelessScope, Variable, bind, current_scope, unwrap

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


def _positive_int(owner: str, name: str, value: Any, low: int) -> int | None:
    """None, or an int >= low; otherwise an error naming the argument."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: `{name}` must be an integer >= {low} or None, got "
                        f"{type(value).__name__} {value!r}.")
    if value < low:
        raise ValueError(f"{owner}: `{name}` must be an integer >= {low} or None, got {value!r}.")
    return int(value)


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
    names: set[str] = set()
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
        weight_decay: Non-negative float or None: decoupled weight decay, applied before each
            update as `w -= learning_rate * weight_decay * w` (see `exclude_from_weight_decay`).
        use_ema: If True, keep an exponential moving average of the weights (a slot "average");
            `fit` writes it into the model at the end (`finalize_variable_values`).
        ema_momentum: Float in [0, 1]: average = ema_momentum * average + (1 - ema_momentum) * w
            (the first step copies w).
        ema_overwrite_frequency: Int >= 1 or None: every this many optimizer steps the weights
            are overwritten with their average.
        loss_scale_factor: Positive float or None: `fit` multiplies the loss by it before the
            gradients are taken (`scale_loss`) and `apply` divides the gradients by it.
        gradient_accumulation_steps: Int >= 2 or None: weights and slots change only every this
            many steps, with the mean of the gradients since the last change. Learning-rate
            schedules see every step; the rule's step count (`t` in Adam's bias correction) and
            the EMA see only the updates.
        name: Name of the optimizer; `None` uses the lowercased class name.
        **kwargs: Any other keyword raises a `TypeError` that names it.
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001, *,
                 lr: float | LearningRateSchedule | None = None, decay: float = 0.0,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, weight_decay: float | None = None,
                 use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None,
                 **kwargs: Any):
        owner = type(self).__name__
        self._reject_unknown(kwargs)
        self.weight_decay = None if weight_decay is None else check_number(
            owner, "weight_decay", weight_decay, 0.0)
        self.use_ema = bool(use_ema)
        self.ema_momentum = check_number(owner, "ema_momentum", ema_momentum, 0.0, 1.0)
        self.ema_overwrite_frequency = _positive_int(
            owner, "ema_overwrite_frequency", ema_overwrite_frequency, 1)
        self.loss_scale_factor = None if loss_scale_factor is None else check_number(
            owner, "loss_scale_factor", loss_scale_factor, 0.0, low_open=True)
        self.gradient_accumulation_steps = _positive_int(
            owner, "gradient_accumulation_steps", gradient_accumulation_steps or None, 2)
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern | None = None
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
        self._extra_variables: list[Variable] = []  # state not tied to one weight (Nadam's)
        self.built = False

    def _reject_unknown(self, kwargs: dict) -> None:
        owner = type(self).__name__
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

    def slot_shape(self, name: str, variable: Variable) -> tuple:
        """The shape of slot `name` of `variable` (Adafactor's factored slots differ)."""
        return variable.shape

    def has_slot(self, name: str, variable: Variable) -> bool:
        """Whether `variable` gets slot `name` at all (Muon gives Adam's velocity only to the
        weights Adam updates); a slot it lacks is absent from `variables`."""
        return True

    def build_extra(self, variables: list[Variable]) -> None:
        """Create state that belongs to no single weight (with `add_extra_variable`); called
        once, at the first build, after the slots."""

    def before_updates(self) -> None:
        """Runs once per optimizer update, before the per-weight rules (Nadam's product)."""

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

    def add_extra_variable(self, value: float, dtype: str, name: str) -> Variable:
        """A scalar state Variable listed after the slots in `variables` (Keras's order)."""
        variable = Variable(value, shape=(), dtype=dtype, trainable=False, name=name)
        self._extra_variables.append(variable)
        return variable

    def _all_slot_groups(self) -> list[tuple[str, ...]]:
        """The base's slots (EMA, gradient accumulator) first, as Keras builds them."""
        groups = [("average",)] if self.use_ema else []
        if self.gradient_accumulation_steps:
            groups.append(("gradient_accumulator",))
        return groups + self.slot_groups()

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
        names = [n for group in self._all_slot_groups() for n in group]
        first = not self.built
        for v in variables:
            if v in self._slots:
                continue
            self._slots[v] = {}
            for n in names:
                if n not in ("average", "gradient_accumulator") and not self.has_slot(n, v):
                    continue
                shape = v.shape if n in ("average", "gradient_accumulator") else \
                    tuple(self.slot_shape(n, v))
                initial = 0.0 if n in ("average", "gradient_accumulator") else \
                    self.slot_initial_value(n)
                self._slots[v][n] = Variable(  # laid out like v under a distribution
                    ops.full(shape, initial, dtype=v.dtype), dtype=v.dtype, trainable=False,
                    name=f"{v.name}_{n}", layout=v._layout if shape == v.shape else None)
            self._model_variables.append(v)
        if first:
            self.build_extra(variables)
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
        for group in self._all_slot_groups():
            for v in self._model_variables:
                out.extend(self._slots[v][n] for n in group if n in self._slots[v])
        return out + self._extra_variables

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
        grads = placement.reduce_gradients(grads)  # (PyTorch, data split over processes)
        if self.loss_scale_factor is not None:
            grads = [g / ops.cast(self.loss_scale_factor, ops.dtype(g)) for g in grads]
        learning_rate = self._current_learning_rate()
        if self.gradient_accumulation_steps:
            self._accumulate_or_update(grads, variables, learning_rate)
        else:
            self._update(grads, variables, learning_rate, in_place=True)
        if self.use_ema:
            self._update_moving_average()
        for v in variables:
            if v.constraint is not None:
                v.assign(v.constraint(v.value))
        self._iterations.assign_add(1)

    def _local_step(self):
        """The count of optimizer updates so far: `iterations`, or iterations // N with
        gradient accumulation (what Keras's rules see as `self.iterations`)."""
        step = self._iterations.value
        if self.gradient_accumulation_steps:
            step = ops.floor_divide(step, self.gradient_accumulation_steps)
        return step

    def _update(self, grads: list, variables: list[Variable], learning_rate, *,
                in_place: bool) -> None:
        """Clip, decay the weights, then the rule: one optimizer update."""
        grads = self._transform_gradients(grads)
        self.before_updates()
        if in_place and self._update_in_place(grads, variables, learning_rate):
            return
        self._apply_weight_decay(variables, learning_rate)
        for g, v in zip(grads, variables):
            self.update_step(g, v, learning_rate)

    def _accumulate_or_update(self, grads: list, variables: list[Variable],
                              learning_rate) -> None:
        """Every N-th step, update with the mean of the last N gradients; otherwise only add
        the gradients to the accumulators. Both outcomes are computed and `where` picks one,
        so a compiled step has no host branch (Keras's JAX form)."""
        n = self.gradient_accumulation_steps
        is_update = ops.equal(ops.mod(self._iterations.value + 1, n), 0)
        accumulators = [self._slots[v]["gradient_accumulator"] for v in variables]
        sums = [g + ops.cast(a.value, ops.dtype(g)) for g, a in zip(grads, accumulators)]
        kept = list(variables) + [self._slots[v][name] for v in variables
                                  for group in self.slot_groups() for name in group
                                  if name in self._slots[v]]
        kept += self._extra_variables
        # Copies outside a step: there assign() writes PyTorch's Parameters in place.
        before = [v.value if current_scope() is not None else ops.copy(v.value) for v in kept]
        self._update([s / n for s in sums], variables, learning_rate, in_place=False)
        for v, old in zip(kept, before):
            v.assign(ops.where(is_update, v.value, old))
        for a, s in zip(accumulators, sums):
            a.assign(ops.where(is_update, ops.zeros_like(a.value), ops.cast(s, a.dtype)))

    # --- weight decay and the moving average ---------------------------------------------

    def exclude_from_weight_decay(self, var_list: Sequence[Variable] | None = None,
                                  var_names: Sequence[str] | None = None) -> None:
        """Leave these Variables, and those whose name contains one of `var_names` (a regular
        expression search, as Keras), out of weight decay. Call it before the first update;
        a later call replaces the earlier one."""
        if self.built:
            raise ValueError(f"{type(self).__name__}.exclude_from_weight_decay() must be called "
                             "before the optimizer is built (before fit() or the first apply()); "
                             "create a new optimizer to change it.")
        self._exclude_ids = {id(v) for v in (var_list or [])}
        names = sorted(set(var_names or []))
        self._exclude_pattern = re.compile("|".join(names)) if names else None

    def _uses_weight_decay(self, variable: Variable) -> bool:
        if self.weight_decay is None or id(variable) in self._exclude_ids:
            return False
        pattern = self._exclude_pattern
        return pattern is None or pattern.search(variable.name) is None

    def _apply_weight_decay(self, variables: list[Variable], learning_rate) -> None:
        for v in variables:
            if self._uses_weight_decay(v):
                lr = ops.cast(learning_rate, v.dtype)
                v.assign(v.value - v.value * ops.cast(self.weight_decay, v.dtype) * lr)

    def _update_moving_average(self) -> None:
        """average = m * average + (1 - m) * w, with m = 0 on the first update (a copy); every
        `ema_overwrite_frequency` updates the weights take the average's value."""
        step = self._local_step()
        for v in self._model_variables:
            average = self._slots[v]["average"]
            momentum = ops.cast(ops.not_equal(step, 0), v.dtype) * self.ema_momentum
            average.assign(momentum * average.value + (1.0 - momentum) * v.value)
        if self.ema_overwrite_frequency:
            overwrite = ops.equal(ops.mod(step + 1, self.ema_overwrite_frequency), 0)
            for v in self._model_variables:
                v.assign(ops.where(overwrite, self._slots[v]["average"].value, v.value))

    def finalize_variable_values(self, var_list: Sequence[Variable]) -> None:
        """With use_ema, write the moving averages into `var_list` (the variables this
        optimizer was built on, in that order); `fit` calls it after the last epoch."""
        if not self.use_ema:
            return
        var_list = list(var_list)
        if all(v in self._slots for v in var_list):  # the variables themselves: by identity
            owners = var_list
        elif len(var_list) == len(self._model_variables):  # others (a copy): by position
            owners = self._model_variables
        else:
            raise ValueError(
                f"{type(self).__name__}.finalize_variable_values: got {len(var_list)} "
                f"variables, but the optimizer keeps averages for {len(self._model_variables)};"
                " pass the variables it was built on (model.trainable_variables).")
        for v, owner in zip(var_list, owners):
            v.assign(self._slots[owner]["average"].value)

    def scale_loss(self, loss):
        """The loss times `loss_scale_factor` (unchanged without one); `fit` takes gradients of
        this, and `apply` divides them by the same factor."""
        if self.loss_scale_factor is None:
            return loss
        return loss * self.loss_scale_factor

    def _owned_state(self, scope, variables: list[Variable]) -> list[tuple] | None:
        """[(weight buffer, {slot name: buffer})] per variable when the donated `scope` owns
        every buffer an in-place rule would write (none missing, none handed to another
        Variable, none shared), else None."""
        names = [n for group in self.slot_groups() for n in group]
        owned = [(scope.owned_value(v), {n: scope.owned_value(self._slots[v][n])
                                          for n in names if n in self._slots[v]})
                 for v in variables]
        buffers = [t for p, own in owned for t in (p, *own.values())]
        taken = {id(t) for t in scope.assigned.values()}  # already handed to another Variable
        if any(t is None or id(t) in taken for t in buffers) or \
                len({id(t) for t in buffers}) < len(buffers):
            return None
        return owned

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
        owned = self._owned_state(scope, variables)
        if owned is None:
            return False
        params = [p for p, _ in owned]
        slots = {n: [own[n] for _, own in owned]
                 for group in self.slot_groups() for n in group}
        grads = [g if ops.dtype(g) == v.dtype else ops.cast(g, v.dtype)
                 for g, v in zip(grads, variables)]
        decayed = [p for p, v in zip(params, variables) if self._uses_weight_decay(v)]
        if decayed:
            decay = _backend.get().update_rules.get("weight_decay")
            if decay is None:
                return False
            decay(decayed, [], {}, learning_rate, self._iterations.value,
                  rate=self.weight_decay)
        kernel(params, grads, slots, learning_rate, self._local_step(), **rule[1])
        return True

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> Variable:
        """Keras's spelling: apply() on (gradient, variable) pairs; returns `iterations`."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self._iterations

    def stateless_apply(self, optimizer_variables: Sequence, grads: Sequence,
                        trainable_variables: Sequence) -> tuple[list, list]:
        """Keras 3's pure form of `apply`: values in, new values out, no Variable touched.

        Args:
            optimizer_variables: Values for `self.variables`, in that order.
            grads: One gradient per trainable variable (None skips it).
            trainable_variables: Values for the variables this optimizer was built on
                (`build(model.trainable_variables)`), in build order.

        Returns:
            `(trainable_variables, optimizer_variables)`: the new values, as lists in the
            same orders, so a `jax.jit`-compiled step can carry them to the next call.
        """
        owner = f"{type(self).__name__}.stateless_apply"
        if not self.built:
            raise ValueError(f"{owner} needs the optimizer's variables: call "
                             "`optimizer.build(model.trainable_variables)` first.")
        model, state = list(self._model_variables), self.variables
        mapping = bind(model, trainable_variables, owner, "trainable_variables",
                       "the variables the optimizer was built on")
        mapping.update(bind(state, optimizer_variables, owner, "optimizer_variables",
                            "optimizer.variables"))
        with StatelessScope(mapping) as scope:
            self.apply(list(grads), model)
        return [scope.get(v) for v in model], [scope.get(v) for v in state]

    # --- configuration -------------------------------------------------------------------

    def get_config(self) -> dict:
        """Constructor arguments (plain Python values), for from_config and saving."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            learning_rate: Any = _schedules.serialize(self._learning_rate)
        else:
            learning_rate = float(ops.convert_to_numpy(self._learning_rate))
        cfg = {"name": self.name, "learning_rate": learning_rate,
               "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
               "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
               "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
               "ema_overwrite_frequency": self.ema_overwrite_frequency,
               "loss_scale_factor": self.loss_scale_factor,
               "gradient_accumulation_steps": self.gradient_accumulation_steps}
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
