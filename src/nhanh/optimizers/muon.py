"""Muon in Keras 3's form: momentum orthogonalised by a Newton-Schulz iteration for matrices,
Adam for every other weight.

Which weights take Adam is decided once, at build, as Keras decides it: every weight that is not
exactly 2-D, an embedding (when `exclude_embeddings`), and any weight whose path matches one of
`exclude_layers` (`re.search`). Only those get a `velocity` slot, so `variables` lists the same
state, in the same order, as Keras's Muon. Weight decay is decoupled, at `adam_weight_decay` for
the Adam weights and `weight_decay` for the Muon ones.

On PyTorch, inside a training step that owns the state, Muon runs in place (see
`_update_in_place`): the base's form cannot, since it expects every weight to have every slot
and one decay rate, so Muon splits its weights into the two groups and hands each to its own
kernel (backend `update_rules`: "adam" and "muon").
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any, Sequence

from nhanh import backend as _backend
from nhanh import ops
from nhanh.optimizers.optimizer import Optimizer, check_number
from nhanh.optimizers.schedules import LearningRateSchedule
from nhanh.variables import Variable, current_scope


def variable_path(variable: Variable) -> str:
    """Keras's `variable.path` ('sequential/dense/kernel'), else the Variable's name."""
    return getattr(variable, "path", None) or variable.name


class Muon(Optimizer):
    """Muon weights: m = momentum * m + g; u = g + momentum * m (nesterov) or m;
    w -= lr * NS(u) * sqrt(max(rows, cols)) * rms_rate, where NS scales u to unit Frobenius norm
    and runs `ns_steps` quintic iterations x = a x + (b A + c A A) x, A = x x^T.
    Adam weights: Keras's Adam (no amsgrad) at lr * adam_lr_ratio.

    Args:
        learning_rate: Non-negative float, or a `LearningRateSchedule` called with the step count.
        adam_beta_1: Float in [0, 1), Adam's first-moment decay.
        adam_beta_2: Float in [0, 1), Adam's second-moment decay.
        adam_weight_decay: Non-negative float or None, the decoupled decay of the Adam weights.
        epsilon: Non-negative float added to Adam's sqrt(v).
        weight_decay: Non-negative float or None, the decoupled decay of the Muon weights.
        exclude_layers: Regular expressions; a weight whose path matches one takes Adam
            (typically the output layer's name).
        exclude_embeddings: If True, weights with "embedding" in their path take Adam.
        muon_a: Float, coefficient a of the Newton-Schulz iteration.
        muon_b: Float, coefficient b.
        muon_c: Float, coefficient c.
        adam_lr_ratio: Non-negative float, Adam's learning rate relative to `learning_rate`.
        momentum: Float in [0, 1), Muon's momentum.
        ns_steps: Int >= 0, the number of Newton-Schulz iterations.
        nesterov: If True, orthogonalise g + momentum * m instead of m.
        rms_rate: Positive float or None: scales a Muon step by sqrt(max(rows, cols)) * rms_rate
            (Moonlight's rule, so Adam's learning rate suits it); None leaves it unscaled.
        **kwargs: The base `Optimizer`'s keywords (clipping, EMA, gradient accumulation, ...).
    """

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 adam_beta_1: float = 0.9, adam_beta_2: float = 0.999,
                 adam_weight_decay: float | None = 0.004, epsilon: float = 1e-7,
                 weight_decay: float | None = 0.004,
                 exclude_layers: Sequence[str] | None = None, exclude_embeddings: bool = True,
                 muon_a: float = 3.4445, muon_b: float = -4.7750, muon_c: float = 2.0315,
                 adam_lr_ratio: float = 1, momentum: float = 0.95, ns_steps: int = 5,
                 nesterov: bool = True, rms_rate: float | None = 0.2, **kwargs: Any):
        owner = "Muon"
        self.adam_beta_1 = check_number(owner, "adam_beta_1", adam_beta_1, 0.0, 1.0,
                                        high_open=True)
        self.adam_beta_2 = check_number(owner, "adam_beta_2", adam_beta_2, 0.0, 1.0,
                                        high_open=True)
        self.adam_weight_decay = None if adam_weight_decay is None else check_number(
            owner, "adam_weight_decay", adam_weight_decay, 0.0)
        self.epsilon = check_number(owner, "epsilon", epsilon, 0.0)
        if isinstance(exclude_layers, str) or not all(
                isinstance(k, str) for k in (exclude_layers or [])):
            raise TypeError(f"{owner}: `exclude_layers` must be a list of strings (regular "
                            f"expressions matched against weight paths), got "
                            f"{exclude_layers!r}; for one layer write [{exclude_layers!r}].")
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = bool(exclude_embeddings)
        self.muon_a = check_number(owner, "muon_a", muon_a)
        self.muon_b = check_number(owner, "muon_b", muon_b)
        self.muon_c = check_number(owner, "muon_c", muon_c)
        self.adam_lr_ratio = check_number(owner, "adam_lr_ratio", adam_lr_ratio, 0.0)
        self.momentum = check_number(owner, "momentum", momentum, 0.0, 1.0, high_open=True)
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, numbers.Integral) or \
                ns_steps < 0:
            raise ValueError(f"{owner}: `ns_steps` must be an integer >= 0, got {ns_steps!r}.")
        self.ns_steps = int(ns_steps)
        self.nesterov = bool(nesterov)
        self.rms_rate = None if rms_rate is None else check_number(
            owner, "rms_rate", rms_rate, 0.0, low_open=True)
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)

    def uses_adam(self, variable: Variable) -> bool:
        """Whether `variable` takes the Adam step (Keras's rule; see the module docstring)."""
        if len(variable.shape) != 2:
            return True
        path = variable_path(variable)
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentum", "velocity")]

    def has_slot(self, name: str, variable: Variable) -> bool:
        return name != "velocity" or self.uses_adam(variable)

    def update_step(self, grad, variable: Variable, learning_rate) -> None:
        if "velocity" in self._slots[variable]:
            self._adam_step(grad, variable, learning_rate * self.adam_lr_ratio)
        else:
            self._muon_step(grad, variable, learning_rate)

    def _adam_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        t = ops.cast(self._local_step() + 1, dtype)
        alpha = lr * ops.sqrt(1.0 - ops.power(self.adam_beta_2, t)) / \
            (1.0 - ops.power(self.adam_beta_1, t))
        m, v = self.slot(variable, "momentum"), self.slot(variable, "velocity")
        m.assign_add((g - m.value) * (1.0 - self.adam_beta_1))
        v.assign_add((ops.square(g) - v.value) * (1.0 - self.adam_beta_2))
        variable.assign_sub(m.value * alpha / (ops.sqrt(v.value) + self.epsilon))

    def _muon_step(self, grad, variable: Variable, learning_rate) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(grad, dtype)
        m = self.slot(variable, "momentum")
        m.assign_add(g + m.value * (self.momentum - 1.0))
        direction = g + self.momentum * m.value if self.nesterov else m.value
        step = lr * self.orthogonalize(direction)
        if self.rms_rate is not None:
            step = step * (math.sqrt(max(variable.shape[0], variable.shape[1])) * self.rms_rate)
        variable.assign_sub(step)

    def orthogonalize(self, x):
        """Newton-Schulz's approximation of U V^T for x = U S V^T (over the last two axes),
        computed on the wide orientation so x x^T is the smaller Gram matrix."""
        shape = ops.shape(x)
        if len(shape) < 2:
            raise ValueError(f"Muon.orthogonalize needs at least 2 dimensions, got shape "
                             f"{shape}; weights of lower rank take the Adam step.")
        tall = shape[-2] > shape[-1]
        if tall:
            x = ops.swapaxes(x, -1, -2)
        norm = ops.sqrt(ops.sum(ops.square(x), axis=(-2, -1), keepdims=True))
        x = x / (norm + 1e-7)
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        for _ in range(self.ns_steps):
            gram = ops.matmul(x, ops.swapaxes(x, -1, -2))
            x = a * x + ops.matmul(b * gram + c * ops.matmul(gram, gram), x)
        return ops.swapaxes(x, -1, -2) if tall else x

    def _decay_rate(self, variable: Variable) -> float | None:
        """The decoupled weight-decay rate of `variable`: its group's, None when excluded."""
        rate = self.adam_weight_decay if "velocity" in self._slots[variable] else \
            self.weight_decay
        pattern = self._exclude_pattern
        if rate is None or id(variable) in self._exclude_ids or (
                pattern is not None and pattern.search(variable.name) is not None):
            return None
        return rate

    def _apply_weight_decay(self, variables: list[Variable], learning_rate) -> None:
        for v in variables:
            rate = self._decay_rate(v)
            if rate is not None:
                lr = ops.cast(learning_rate, v.dtype)
                v.assign(v.value - v.value * ops.cast(rate, v.dtype) * lr)

    def in_place_rule(self) -> tuple[str, dict]:
        return "muon", {"momentum": self.momentum, "nesterov": self.nesterov,
                        "a": self.muon_a, "b": self.muon_b, "c": self.muon_c,
                        "ns_steps": self.ns_steps}

    def _update_in_place(self, grads: list, variables: list[Variable], learning_rate) -> bool:
        """The base's conditions (a donated scope owning every buffer written, no subclass
        rule), then per group: decay at its rate, Adam's kernel for the Adam weights (at
        lr * adam_lr_ratio), Muon's for the matrices."""
        scope, rules = current_scope(), _backend.get().update_rules
        kernels = [rules.get(n) for n in ("muon", "adam", "weight_decay")]
        cls = type(self)
        owner = next(k for k in cls.__mro__ if "in_place_rule" in k.__dict__)
        if scope is None or not scope.donated or None in kernels or any(
                getattr(cls, n) is not getattr(owner, n) for n in
                ("update_step", "_adam_step", "_muon_step", "orthogonalize",
                 "_apply_weight_decay")):
            return False
        muon, adam, decay = kernels
        owned = self._owned_state(scope, variables)
        if owned is None:
            return False
        grads = [g if ops.dtype(g) == v.dtype else ops.cast(g, v.dtype)
                 for g, v in zip(grads, variables)]
        rates = [self._decay_rate(v) for v in variables]
        for rate in set(rates) - {None}:
            decay([p for (p, _), r in zip(owned, rates) if r == rate], [], {}, learning_rate,
                  self._iterations.value, rate=rate)
        step = self._local_step()
        for takes_adam in (True, False):
            group = [i for i, (_, slots) in enumerate(owned)
                     if ("velocity" in slots) == takes_adam]
            if not group:
                continue
            params, group_grads = [owned[i][0] for i in group], [grads[i] for i in group]
            slots = {n: [owned[i][1][n] for i in group] for n in owned[group[0]][1]}
            if takes_adam:
                adam(params, group_grads, slots, learning_rate * self.adam_lr_ratio, step,
                     beta_1=self.adam_beta_1, beta_2=self.adam_beta_2, epsilon=self.epsilon,
                     amsgrad=False)
            else:
                scales = [1.0 if self.rms_rate is None else self.rms_rate *
                          math.sqrt(max(variables[i].shape[0], variables[i].shape[1]))
                          for i in group]
                muon(params, group_grads, slots, learning_rate, step, scales=scales,
                     **self.in_place_rule()[1])
        return True

    def get_config(self) -> dict:
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": list(self.exclude_layers), "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c,
                "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}
