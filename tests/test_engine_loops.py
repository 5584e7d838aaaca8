"""Each engine's own custom-loop workflow, written as Keras's guides write it.

JAX ("Customizing what happens in fit() with JAX", "Writing a training loop from scratch in
JAX"): `train_step(self, state, data)` / `test_step` / `predict_step` in the state-passing form,
run by fit / evaluate / predict, and a jax.jit loop over stateless_call / stateless_apply.
PyTorch ("... with PyTorch" guides): models are torch.nn.Modules whose parameters are the
Variables' storage, so `loss.backward()`, `model.zero_grad()`, torch.optim over
`model.parameters()`, an nhanh optimizer's `apply` on the `.grad`s, and the guide's
`train_step(self, data)` that does all of it inside fit work.

Every loop is checked against nhanh's built-in fit on the same data and initial weights
(SGD, shuffle=False), and the PyTorch loops also against a plain torch.nn model trained by
torch.optim from the same weights.
"""

from __future__ import annotations

import numpy as np
import pytest

import nhanh
from nhanh import ops

_rng = np.random.default_rng(7)
X = _rng.normal(size=(32, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
BATCH, EPOCHS, LR = 8, 2, 0.1


def _layers(batch_norm: bool = False):
    layers = [nhanh.layers.Dense(4, activation="tanh")]
    if batch_norm:
        layers.append(nhanh.layers.BatchNormalization(momentum=0.8))
    return layers + [nhanh.layers.Dense(1)]


def _initial(batch_norm: bool = False) -> list:
    model = nhanh.Sequential([nhanh.Input((3,)), *_layers(batch_norm)])
    rng = np.random.default_rng(0)
    return [(rng.normal(scale=0.5, size=w.shape) if w.ndim > 1 else
             np.abs(rng.normal(size=w.shape)) * 0.3 + 0.5).astype("float32")
            for w in model.get_weights()]


def _reference(weights, batch_norm=False, epochs=EPOCHS, metrics=("mae",)):
    """nhanh's built-in fit: (history, weights, model)."""
    model = nhanh.Sequential([nhanh.Input((3,)), *_layers(batch_norm)])
    model.set_weights(weights)
    model.compile(optimizer=nhanh.optimizers.SGD(LR), loss="mse", metrics=list(metrics))
    history = model.fit(X, Y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0)
    return history.history, model.get_weights(), model


def _close(a, b, atol=1e-6):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=1e-5)


def _batches():
    for start in range(0, len(X), BATCH):
        yield X[start:start + BATCH], Y[start:start + BATCH]


# --- JAX's form: train_step(self, state, data) ---------------------------------------------

def _value_and_grad(backend):
    """jax.value_and_grad(f, has_aux=True), or torch.func's equivalent on PyTorch."""
    if backend == "jax":
        import jax

        return lambda f: jax.value_and_grad(f, has_aux=True)
    import torch.func

    def value_and_grad(f):
        def run(*args, **kwargs):
            grads, value = torch.func.grad_and_value(f, has_aux=True)(*args, **kwargs)
            return value, grads
        return run
    return value_and_grad


def _state_form_model(backend, batch_norm):
    value_and_grad = _value_and_grad(backend)

    class CustomModel(nhanh.Model):  # the guide's class, as it writes it
        def __init__(self):
            super().__init__()
            self.blocks = _layers(batch_norm)

        def call(self, x, training=False):
            for layer in self.blocks:
                x = layer(x, training=training)
            return x

        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y,
                                     training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            loss = self.compute_loss(x, y, y_pred)
            return loss, (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            (trainable_variables, non_trainable_variables, optimizer_variables,
             metrics_variables) = state
            x, y = data
            grad_fn = value_and_grad(self.compute_loss_and_updates)
            (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
                trainable_variables, non_trainable_variables, x, y, training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable_variables)
            new_metrics_vars, logs = [], {}
            for metric in self.metrics:
                this_metric_vars = metrics_variables[
                    len(new_metrics_vars):len(new_metrics_vars) + len(metric.variables)]
                if metric.name == "loss":
                    this_metric_vars = metric.stateless_update_state(this_metric_vars, loss)
                else:
                    this_metric_vars = metric.stateless_update_state(this_metric_vars, y,
                                                                     y_pred)
                logs[metric.name] = metric.stateless_result(this_metric_vars)
                new_metrics_vars += this_metric_vars
            state = (trainable_variables, non_trainable_variables, optimizer_variables,
                     new_metrics_vars)
            return logs, state

        def test_step(self, state, data):
            x, y = data
            trainable_variables, non_trainable_variables, metrics_variables = state
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=False)
            loss = self.compute_loss(x, y, y_pred)
            new_metrics_vars, logs = [], {}
            for metric in self.metrics:
                this_metric_vars = metrics_variables[
                    len(new_metrics_vars):len(new_metrics_vars) + len(metric.variables)]
                if metric.name == "loss":
                    this_metric_vars = metric.stateless_update_state(this_metric_vars, loss)
                else:
                    this_metric_vars = metric.stateless_update_state(this_metric_vars, y,
                                                                     y_pred)
                logs[metric.name] = metric.stateless_result(this_metric_vars)
                new_metrics_vars += this_metric_vars
            return logs, (trainable_variables, non_trainable_variables, new_metrics_vars)

        def predict_step(self, state, data):
            trainable_variables, non_trainable_variables = state
            x = data[0]
            outputs, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=False)
            return 2.0 * outputs, non_trainable_variables  # marked: this step ran

    return CustomModel()


@pytest.mark.parametrize("batch_norm", [False, True], ids=["mlp", "batchnorm"])
def test_state_form_steps_match_builtin(backend, batch_norm):
    """fit / evaluate / predict call the guide's state-passing steps inside the compiled
    step, with the state in Keras's order; the result is nhanh's built-in fit's."""
    weights = _initial(batch_norm)
    ref_history, ref_weights, _ = _reference(weights, batch_norm)
    model = _state_form_model(backend, batch_norm)
    model(X[:2])
    model.set_weights(weights)
    model.compile(optimizer=nhanh.optimizers.SGD(LR), loss="mse", metrics=["mae"])
    history = model.fit(X, Y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    _close(model.get_weights(), ref_weights)
    for name in ("loss", "mae"):
        np.testing.assert_allclose(history.history[name], ref_history[name], rtol=1e-5)
    if batch_norm:
        return
    k1, b1, k2, b2 = ref_weights  # evaluate / predict against NumPy's forward pass
    expected = np.tanh(X @ k1 + b1) @ k2 + b2
    np.testing.assert_allclose(model.evaluate(X, Y, batch_size=BATCH, verbose=0),
                               [np.mean((expected - Y) ** 2), np.mean(np.abs(expected - Y))],
                               rtol=1e-5)
    np.testing.assert_allclose(model.predict(X, batch_size=BATCH, verbose=0), 2.0 * expected,
                               rtol=1e-5, atol=1e-6)


def test_state_form_bad_return_names_the_fix(backend):
    class Broken(nhanh.Sequential):
        def train_step(self, state, data):
            return {}, state[:3]  # forgot the metrics' variables

    model = Broken([nhanh.Input((3,)), nhanh.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"train_step\(self, state, data\) must return.*"
                                         "metrics_variables"):
        model.fit(X, Y, batch_size=BATCH, verbose=0)


@pytest.mark.engines("jax")
def test_jax_guide_loop_matches_fit(backend):
    """The guide's jax.jit loop over stateless_call / stateless_apply (state handed over as
    values, as JAX >= 0.7 requires) gives built-in fit's weights."""
    import jax

    weights = _initial()
    _, ref_weights, _ = _reference(weights)
    model = nhanh.Sequential([nhanh.Input((3,)), *_layers()])
    model.set_weights(weights)
    optimizer = nhanh.optimizers.SGD(learning_rate=LR)
    loss_fn = nhanh.losses.MeanSquaredError()

    def compute_loss_and_updates(trainable_variables, non_trainable_variables, x, y):
        y_pred, non_trainable_variables = model.stateless_call(
            trainable_variables, non_trainable_variables, x, training=True)
        return loss_fn(y, y_pred), non_trainable_variables

    grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)

    @jax.jit
    def train_step(state, data):
        trainable_variables, non_trainable_variables, optimizer_variables = state
        x, y = data
        (loss, non_trainable_variables), grads = grad_fn(
            trainable_variables, non_trainable_variables, x, y)
        trainable_variables, optimizer_variables = optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        return loss, (trainable_variables, non_trainable_variables, optimizer_variables)

    optimizer.build(model.trainable_variables)
    state = ([v.value for v in model.trainable_variables],
             [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])
    for _ in range(EPOCHS):
        for data in _batches():
            loss, state = train_step(state, data)
    for variable, value in zip(model.trainable_variables, state[0]):
        variable.assign(value)
    _close(model.get_weights(), ref_weights)


# --- PyTorch: models are torch.nn.Modules ---------------------------------------------------

def _torch_reference(weights, optimizer: str):
    """The same MLP as torch.nn, trained by torch.optim from the same weights."""
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    with torch.no_grad():
        for linear, (kernel, bias) in zip([net[0], net[2]], [weights[:2], weights[2:]]):
            linear.weight.copy_(torch.tensor(kernel.T))
            linear.bias.copy_(torch.tensor(bias))
    opt = torch.optim.SGD(net.parameters(), lr=LR) if optimizer == "sgd" else \
        torch.optim.Adam(net.parameters(), lr=0.05, eps=1e-7)
    for _ in range(EPOCHS):
        for x, y in _batches():
            loss = torch.mean((net(torch.tensor(x)) - torch.tensor(y)) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return [net[0].weight.detach().numpy().T, net[0].bias.detach().numpy(),
            net[2].weight.detach().numpy().T, net[2].bias.detach().numpy()]


def _model(weights):
    inputs = nhanh.Input(shape=(3,))
    outputs = nhanh.layers.Dense(1)(nhanh.layers.Dense(4, activation="tanh")(inputs))
    model = nhanh.Model(inputs=inputs, outputs=outputs)
    model.set_weights(weights)
    return model


@pytest.mark.engines("torch")
def test_models_are_torch_modules(backend):
    import torch

    model = _model(_initial())
    assert isinstance(model, torch.nn.Module)
    assert isinstance(model.layers[1], torch.nn.Module)
    assert type(model).__name__ == "Functional"
    names = [n for n, _ in model.named_parameters()]
    assert names == [f"{layer.name}.{w}" for layer in model.layers[1:] for w in ("kernel", "bias")]
    # The parameters are the Variables' own storage, and require gradients as in Keras.
    for p, v in zip(model.parameters(), model.trainable_weights):
        assert p is v.value and isinstance(p, torch.nn.Parameter) and p.requires_grad
    state = model.state_dict()
    assert list(state) == names
    _close([state[n].numpy() for n in names], model.get_weights())
    # load_state_dict writes through the Variables, in place.
    before = list(model.parameters())
    model.load_state_dict({k: v * 0 + 1 for k, v in state.items()})
    assert all(p is q for p, q in zip(before, model.parameters()))
    _close(model.get_weights(), [np.ones(w.shape) for w in model.get_weights()])
    with pytest.raises(RuntimeError, match="missing keys"):
        model.load_state_dict({})
    assert model.to("cpu") is model and all(p is q for p, q in zip(before, model.parameters()))
    model.eval()
    assert not model.training and not model.layers[1].training
    model.train()
    assert model.training


@pytest.mark.engines("jax")
def test_models_are_plain_on_jax(backend):
    import torch

    assert not isinstance(_model(_initial()), torch.nn.Module)


@pytest.mark.engines("torch")
def test_torch_hand_loop_with_nhanh_optimizer(backend):
    """The torch guide's loop: forward, model.zero_grad(), loss.backward(), then
    optimizer.apply on the Variables' `.grad`s."""
    import torch

    weights = _initial()
    _, ref_weights, _ = _reference(weights)
    model = _model(weights)
    optimizer = nhanh.optimizers.SGD(learning_rate=LR)
    loss_fn = nhanh.losses.MeanSquaredError()
    for _ in range(EPOCHS):
        for x, y in _batches():
            logits = model(torch.tensor(x))
            loss = loss_fn(torch.tensor(y), logits)
            model.zero_grad()
            trainable_weights = [v for v in model.trainable_weights]
            loss.backward()
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                optimizer.apply(gradients, trainable_weights)
    _close(model.get_weights(), ref_weights)
    _close(model.get_weights(), _torch_reference(weights, "sgd"), atol=1e-5)


@pytest.mark.engines("torch")
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_torch_optim_over_model_parameters(backend, optimizer):
    import torch

    weights = _initial()
    model = _model(weights)
    opt = torch.optim.SGD(model.parameters(), lr=LR) if optimizer == "sgd" else \
        torch.optim.Adam(model.parameters(), lr=0.05, eps=1e-7)
    for _ in range(EPOCHS):
        for x, y in _batches():
            loss = torch.mean((model(torch.tensor(x)) - torch.tensor(y)) ** 2)
            model.zero_grad()
            loss.backward()
            opt.step()
    _close(model.get_weights(), _torch_reference(weights, optimizer), atol=1e-5)
    if optimizer == "sgd":
        _close(model.get_weights(), _reference(weights)[1], atol=1e-5)


@pytest.mark.engines("torch")
def test_torch_guide_train_step_in_fit(backend):
    """The guide's train_step(self, data): zero_grad, backward, optimizer.apply, metrics."""
    import torch

    class CustomModel(nhanh.Model):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    weights = _initial()
    ref_history, ref_weights, _ = _reference(weights)
    inputs = nhanh.Input(shape=(3,))
    outputs = nhanh.layers.Dense(1)(nhanh.layers.Dense(4, activation="tanh")(inputs))
    model = CustomModel(inputs, outputs)
    model.set_weights(weights)
    model.compile(optimizer=nhanh.optimizers.SGD(LR), loss="mse", metrics=["mae"])
    history = model.fit(X, Y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    _close(model.get_weights(), ref_weights)
    for name in ("loss", "mae"):
        np.testing.assert_allclose(history.history[name], ref_history[name], rtol=1e-5)


@pytest.mark.engines("torch")
def test_parameters_keep_identity_through_fit_and_assign(backend):
    """A torch optimizer made before fit() or set_weights() still holds the model's storage:
    both write into the Parameters in place."""
    import torch

    weights = _initial()
    _, ref_weights, _ = _reference(weights)
    model = _model(weights)
    params = list(model.parameters())
    model.compile(optimizer=nhanh.optimizers.SGD(LR), loss="mse")
    model.fit(X, Y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    assert all(p is v.value for p, v in zip(params, model.trainable_weights))
    _close([p.detach().numpy() for p in params], ref_weights)
    model.set_weights(weights)
    _close([p.detach().numpy() for p in params], weights)
    # predict() and calls under no_grad record no autograd graph.
    with torch.no_grad():
        assert not model(torch.tensor(X)).requires_grad
    assert isinstance(model.predict(X, verbose=0), np.ndarray)


@pytest.mark.engines("torch")
def test_eager_updates_outside_steps(backend):
    """Outside fit, assign() writes a Parameter in place, so code that reads a value before
    assigning keeps working (gradient accumulation: no update on the first of 2 steps), and
    a metric fed a model's eager outputs keeps no autograd history."""
    import torch

    v = nhanh.Variable(np.ones(3, "float32"), trainable=True)
    opt = nhanh.optimizers.SGD(0.1, gradient_accumulation_steps=2)
    opt.apply([np.full(3, 1.0, "float32")], [v])
    np.testing.assert_allclose(v.numpy(), np.ones(3))
    opt.apply([np.full(3, 3.0, "float32")], [v])
    np.testing.assert_allclose(v.numpy(), np.full(3, 1.0 - 0.1 * 2.0), rtol=1e-6)
    model = _model(_initial())
    metric = nhanh.metrics.MeanAbsoluteError()
    out = model(torch.tensor(X))
    assert out.requires_grad  # an eager call under grad mode records, as any nn.Module's
    metric.update_state(Y, out)
    assert not any(m.value.requires_grad for m in metric.variables)
    np.testing.assert_allclose(float(metric.result()),
                               np.mean(np.abs(Y - out.detach().numpy())), rtol=1e-6)
