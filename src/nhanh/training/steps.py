"""The pure training, evaluation and prediction steps of a compiled model.

`train(state, batch) -> (state, logs)`: the state is every Variable that training changes,
passed in as arrays; the model's own (object-oriented) code runs inside a StatelessScope that
maps those Variables to the arrays, so the step is a pure function the engine compiles once
per input signature (JAX, with the old state's buffers donated) or runs eagerly (PyTorch).
"""

from __future__ import annotations

import logging

from nhanh import backend as _backend
from nhanh.variables import StatelessScope, Variable

log = logging.getLogger("nhanh")


def _unique(variables: list[Variable]) -> list[Variable]:
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


class Steps:
    """Compiled step functions over a fixed list of state Variables."""

    def __init__(self, model):
        self.model = model
        self.trainable = list(model.trainable_variables)
        self.non_trainable = _unique(model.non_trainable_variables + model.state_variables)
        model.optimizer.build(self.trainable)
        self.optimizer = list(model.optimizer.variables)
        self.metrics = [v for m in model.metrics for v in m.variables]
        self.key = Steps.key_of(model)
        self.trace_counts = {"train": 0, "test": 0, "predict": 0}
        b = _backend.get()
        self.train = b.compile_step(self._counted("train", self._train), donate_state=True)
        self.test = b.compile_step(self._counted("test", self._test), donate_state=True)
        self.predict = b.compile_step(self._counted("predict", self._predict))

    @staticmethod
    def key_of(model) -> tuple:
        """Identity of the state lists; a change (a layer frozen, a new compile) needs new steps."""
        return (id(model.optimizer), tuple(id(v) for v in model.trainable_variables),
                tuple(id(v) for v in model.non_trainable_variables),
                tuple(id(m) for m in model.metrics))

    def _counted(self, kind: str, fn):
        def traced(*args):
            self.trace_counts[kind] += 1
            if _backend.get().NAME == "jax":
                log.debug("nhanh: compiling the %s step of %s (compilation #%d)", kind,
                          self.model.name, self.trace_counts[kind])
            return fn(*args)
        return traced

    # --- state in and out of the Variables --------------------------------------------------
    def groups(self):
        return (self.trainable, self.non_trainable, self.optimizer, self.metrics)

    def gather(self) -> tuple:
        return tuple([v._value for v in group] for group in self.groups())

    def scatter(self, state) -> None:
        for group, values in zip(self.groups(), state):
            for v, value in zip(group, values):
                v._value = value

    def gather_metrics(self) -> list:
        return [v._value for v in self.metrics]

    def scatter_metrics(self, values) -> None:
        for v, value in zip(self.metrics, values):
            v._value = value

    # --- the pure steps --------------------------------------------------------------------
    def _scope(self, state) -> StatelessScope:
        mapping = {}
        for group, values in zip(self.groups(), state):
            mapping.update(zip(group, values))
        return StatelessScope(mapping)

    def _train(self, state, data):
        model = self.model
        x, y, sample_weight = data
        trainable = self.trainable
        with self._scope(state) as outer:
            def loss_fn(params):
                with StatelessScope(zip(trainable, params)) as inner:
                    y_pred = model(x, training=True)
                    loss = model.compute_loss(x, y, y_pred, sample_weight)
                updates = {v: inner.assigned[v] for v in self.non_trainable
                           if v in inner.assigned}
                return loss, (y_pred, updates)

            grad_fn = _backend.get().value_and_grad(loss_fn, has_aux=True)
            (loss, (y_pred, updates)), grads = grad_fn(state[0])
            outer.assigned.update(updates)
            model.optimizer.apply(grads, trainable)
            logs = model.update_metrics(loss, y, y_pred, sample_weight, x)
            new_state = tuple([outer.get(v) for v in group] for group in self.groups())
        return new_state, logs

    def _test(self, metric_state, weights, data):
        model = self.model
        x, y, sample_weight = data
        mapping = dict(zip(self.trainable + self.non_trainable, weights))
        mapping.update(zip(self.metrics, metric_state))
        with StatelessScope(mapping) as scope:
            y_pred = model(x, training=False)
            loss = model.compute_loss(x, y, y_pred, sample_weight)
            logs = model.update_metrics(loss, y, y_pred, sample_weight, x)
            new_metrics = [scope.get(v) for v in self.metrics]
        return new_metrics, logs

    def _predict(self, weights, x):
        with StatelessScope(zip(self.trainable + self.non_trainable, weights)):
            return self.model(x, training=False)

    def weights(self) -> list:
        return [v._value for v in self.trainable + self.non_trainable]
