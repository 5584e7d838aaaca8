"""What one training or evaluation step does, as methods a Model may override.

`train_step` / `test_step` / `predict_step` run inside the engine's pure, compiled step;
`value_and_grad` gives them gradients the same way on every backend, so a custom step is
written once.

An override may also take Keras's JAX form, `train_step(self, state, data)` (and
`test_step(self, state, data)`, `predict_step(self, state, data)`): a pure function of the
state's values, in Keras's order, returning `(logs, new_state)` (`(outputs,
non_trainable_variables)` for prediction). `takes_state` tells the forms apart by the
signature, and fit / evaluate / predict call either inside the same compiled step. On
PyTorch the state form runs too (a pure function is engine-neutral: differentiate it with
`torch.func`), but Keras's PyTorch form is `train_step(self, data)` with `self.zero_grad()`,
`loss.backward()` and `self.optimizer.apply(...)`, see backend/torch/module_integration.py.
"""

from __future__ import annotations

import inspect

from nhanh import backend as _backend
from nhanh import ops
from nhanh.utils.batches import unpack_x_y_sample_weight
from nhanh.variables import StatelessScope, bind, in_stateless_scope


def takes_state(model, method: str) -> bool:
    """Whether `model.<method>` is overridden in Keras's JAX form `(self, state, data)`: two
    positional parameters without defaults, where the base takes only `data`."""
    fn = getattr(type(model), method, None)
    if fn is None or fn is getattr(StepAPI, method, None):
        return False
    try:
        params = list(inspect.signature(fn).parameters.values())[1:]  # without self
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    return len(positional) >= 2


class StepAPI:
    """compute_loss / compute_metrics / value_and_grad / train_step / test_step."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Weighted sum of the per-output losses plus the layers' regularization losses.
        (`x` and `training` are Keras's arguments, for overrides; the base uses neither.)"""
        return self._compute_losses(y, y_pred, sample_weight)[0]

    @property
    def metrics_variables(self) -> list:
        """The Variables of every metric in `metrics`, in that order."""
        return [v for metric in self.metrics for v in metric.variables]

    def stateless_compute_loss(self, trainable_variables, non_trainable_variables,
                               metrics_variables, x=None, y=None, y_pred=None,
                               sample_weight=None, training=True):
        """`compute_loss` as a pure function of the given state (Keras's JAX idiom), so the
        regularization terms read the values being differentiated, not the Variables.

        Returns:
            `(loss, (trainable_variables, non_trainable_variables, metrics_variables))`,
            the last two the new values in the orders of the matching properties.
        """
        owner = f"{type(self).__name__}.stateless_compute_loss"
        non_trainable, metrics = self.non_trainable_variables, self.metrics_variables
        mapping = bind(self.trainable_variables, trainable_variables, owner,
                       "trainable_variables", "model.trainable_variables")
        mapping.update(bind(non_trainable, non_trainable_variables, owner,
                            "non_trainable_variables", "model.non_trainable_variables"))
        mapping.update(bind(metrics, metrics_variables, owner, "metrics_variables",
                            "model.metrics_variables"))
        with StatelessScope(mapping) as scope:
            # An override written before Keras 3.3 has no `training` argument.
            takes_training = "training" in inspect.signature(self.compute_loss).parameters
            loss = self.compute_loss(x, y, y_pred, sample_weight,
                                     **({"training": training} if takes_training else {}))
        return loss, (list(trainable_variables), [scope.get(v) for v in non_trainable],
                      [scope.get(v) for v in metrics])

    def _compute_losses(self, y, y_pred, sample_weight):
        config = self._compile_config
        ys, preds = config.match(y, "y"), config.match(y_pred, "the model's outputs")
        total, per_output = None, []
        for loss, weight, yt, yp in zip(config.losses, config.loss_weights, ys, preds):
            value = 0.0 if loss is None else loss(yt, yp, sample_weight=sample_weight)
            per_output.append(value)
            if loss is not None:
                weighted = value if weight == 1 else weight * value
                total = weighted if total is None else total + weighted
        for extra in self.losses:
            total = extra if total is None else total + extra
        return (ops.zeros((), "float32") if total is None else total), per_output

    def value_and_grad(self, fn, variables=None):
        """((loss, aux), grads) of fn() -> (loss, aux), with respect to `variables` (by default
        the trainable ones). For custom train_step(); works the same on every backend."""
        variables = list(self.trainable_variables if variables is None else variables)
        differentiated = set(map(id, variables))
        changed: list = []  # Variables fn assigned to, in a fixed order (engines sort dicts)

        def wrapped(params):
            with StatelessScope(zip(variables, params)) as inner:
                loss, aux = fn()
            changed[:] = [v for v in inner.assigned if id(v) not in differentiated]
            return loss, (aux, [inner.assigned[v] for v in changed])

        grad_fn = _backend.get().value_and_grad(wrapped, has_aux=True)
        (loss, (aux, updates)), grads = grad_fn([v.value for v in variables])
        for v, value in zip(changed, updates):  # state fn changed: moving statistics, seeds...
            v.assign(value)
        return (loss, aux), grads

    def train_step(self, data) -> dict:
        """One optimizer step on a batch; returns the logs. Override to customise training."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)

        def forward():
            y_pred = self(x, training=True)
            loss, per_output = self._compute_losses(y, y_pred, sample_weight)
            # Gradients of the scaled loss (loss_scale_factor); the logs get the loss itself.
            return self.optimizer.scale_loss(loss), (loss, y_pred, per_output)

        (_, (loss, y_pred, per_output)), grads = self.value_and_grad(forward)
        if grads:  # a model with nothing to train still tracks its loss (Keras: the same)
            self.optimizer.apply(grads, self.trainable_variables)
        self._track_losses(x, loss, per_output)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data) -> dict:
        """Update the metrics on a batch; returns the logs. Override to customise evaluation."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss, per_output = self._compute_losses(y, y_pred, sample_weight)
        self._track_losses(x, loss, per_output)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _before_zero_grad(self) -> None:
        """PyTorch: `zero_grad()` called inside nhanh's compiled, stateless step means the
        train_step is Keras's PyTorch form (zero_grad, loss.backward(), optimizer.apply); fit
        catches this and runs that step eagerly on the Variables themselves (Steps)."""
        form_step = getattr(_backend.get(), "TorchFormStep", None)
        if form_step is not None and in_stateless_scope():
            raise form_step(
                f"{type(self).__name__}.zero_grad() was called inside a stateless step (a "
                "train_step given copies of the state). Keras's PyTorch form of train_step "
                "(self.zero_grad(), loss.backward(), self.optimizer.apply(...)) runs through "
                "fit(); elsewhere, call zero_grad() outside stateless_call / StatelessScope.")

    def predict_step(self, data):
        """The outputs for a batch (given as `x` or `(x,)`). Override to customise predict."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def _track_losses(self, x, loss, per_output) -> None:
        config = self._compile_config
        first = x[0] if isinstance(x, (list, tuple)) else \
            next(iter(x.values())) if isinstance(x, dict) else x
        batch = ops.shape(first)[0]
        config.loss_tracker.update_state(loss, sample_weight=batch)
        for tracker, value in zip(config.output_loss_trackers, per_output):
            tracker.update_state(value, sample_weight=batch)

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics; returns every metric's result by name."""
        config = self._compile_config
        if config.metrics:
            ys, preds = config.match(y, "y"), config.match(y_pred, "the model's outputs")
            for i, metric, weighted in config.metrics:
                metric.update_state(ys[i], preds[i],
                                    sample_weight=sample_weight if weighted else None)
        return {m.name: m.result() for m in self.metrics}
