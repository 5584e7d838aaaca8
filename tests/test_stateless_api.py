"""The stateless APIs of Keras's custom-training-loop guides ("Writing a training loop from
scratch in JAX", "Customizing what happens in fit() with JAX"): `model.stateless_call`,
`optimizer.stateless_apply`, `metric.stateless_update_state / stateless_result /
stateless_reset_state` and `model.stateless_compute_loss`.

The guide's loop runs as the guide writes it, with `jax.jit` and `jax.value_and_grad` on JAX
and `torch.func.grad_and_value` (eagerly; what Keras's torch backend supports) on PyTorch,
and is checked against nhanh's own `fit` on the same model (same initial weights and seeds,
shuffle=False: BatchNormalization statistics and Dropout seeds must be carried as fit carries
them) and against real Keras 3 running the same loop on JAX. One difference from the guide's
text, on both libraries: JAX >= 0.7 no longer lets a Keras Variable be a `jax.jit` argument,
so the state is handed over as values (`[v.value for v in ...]`).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import nhanh
from nhanh import ops

os.environ.setdefault("KERAS_BACKEND", "jax")

B, STEPS = 8, 4
_rng = np.random.default_rng(3)
X = _rng.normal(size=(B * STEPS, 4)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32") + 0.3).astype("float32")
_KERAS: dict = {}  # case -> the Keras run's result (computed once per session)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x)) if not isinstance(x, np.ndarray) else x


def make(L, kind: str):
    """A tiny MLP, or one with BatchNormalization (+ Dropout for kind 'bn_dropout'), its
    weights drawn from NumPy so every library starts from the same ones."""
    layers = [L.Input((4,)), L.layers.Dense(6, activation="tanh")]
    if kind != "mlp":
        layers.append(L.layers.BatchNormalization(momentum=0.8))
    if kind == "bn_dropout":
        layers.append(L.layers.Dropout(0.4))
    model = L.Sequential(layers + [L.layers.Dense(1)])
    rng = np.random.default_rng(0)
    draw = [rng.normal(scale=0.5, size=w.shape) for w in model.get_weights()]
    # 1-D weights (biases, BN's gamma, beta and statistics) positive, so variances are.
    model.set_weights([(d if d.ndim > 1 else np.abs(d) + 0.5).astype("float32") for d in draw])
    return model


def optimizer(L, kind: str):
    return L.optimizers.SGD(0.1, momentum=0.5) if kind == "mlp" else L.optimizers.Adam(0.05)


def guide_loop(model, opt, loss_fn, metric, value_and_grad, jit=lambda f: f):
    """The guide's loop, step for step; returns per-step losses, the metric's result and the
    final weights (written back into the model as the guide does)."""

    def compute_loss_and_updates(trainable_variables, non_trainable_variables,
                                 metric_variables, x, y):
        y_pred, non_trainable_variables = model.stateless_call(
            trainable_variables, non_trainable_variables, x, training=True)
        loss = loss_fn(y, y_pred)
        metric_variables = metric.stateless_update_state(metric_variables, y, y_pred)
        return loss, (non_trainable_variables, metric_variables)

    grad_fn = value_and_grad(compute_loss_and_updates)

    @jit
    def train_step(state, data):
        trainable_variables, non_trainable_variables, optimizer_variables, metric_variables = \
            state
        x, y = data
        (loss, (non_trainable_variables, metric_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, metric_variables, x, y)
        trainable_variables, optimizer_variables = opt.stateless_apply(
            optimizer_variables, grads, trainable_variables)
        return loss, (trainable_variables, non_trainable_variables, optimizer_variables,
                      metric_variables)

    opt.build(model.trainable_variables)
    state = tuple([v.value for v in vs] for vs in (
        model.trainable_variables, model.non_trainable_variables, opt.variables,
        metric.variables))
    losses = []
    for step in range(STEPS):
        loss, state = train_step(state, (X[step * B:(step + 1) * B], Y[step * B:(step + 1) * B]))
        losses.append(float(_np(loss)))
    result = float(_np(metric.stateless_result(state[3])))
    reset = [_np(v) for v in metric.stateless_reset_state()]
    trainable_variables, non_trainable_variables = state[:2]
    for variable, value in zip(model.trainable_variables, trainable_variables):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, non_trainable_variables):
        variable.assign(value)
    return losses, result, reset, model.get_weights()


def _jax_transforms():
    import jax

    return (lambda f: jax.value_and_grad(f, has_aux=True)), jax.jit


def _torch_value_and_grad(f):
    import torch

    def wrapped(*args):
        grads, (loss, aux) = torch.func.grad_and_value(f, has_aux=True)(*args)
        return (loss, aux), grads

    return wrapped


def nhanh_guide(kind: str):
    model = make(nhanh, kind)
    fresh = [w.numpy() for w in model.non_trainable_variables]  # BN statistics, seed states
    vg, jit = _jax_transforms() if nhanh.config.backend() == "jax" else \
        (_torch_value_and_grad, lambda f: f)
    run = guide_loop(model, optimizer(nhanh, kind), nhanh.losses.MeanSquaredError(),
                     nhanh.metrics.MeanAbsoluteError(), vg, jit)
    return run, fresh


def keras_guide(kind: str):
    if kind not in _KERAS:
        keras = pytest.importorskip("keras")
        if keras.backend.backend() != "jax":
            pytest.skip("the Keras reference runs the JAX guide")
        vg, jit = _jax_transforms()
        _KERAS[kind] = guide_loop(make(keras, kind), optimizer(keras, kind),
                                  keras.losses.MeanSquaredError(),
                                  keras.metrics.MeanAbsoluteError(), vg, jit)
    return _KERAS[kind]


@pytest.mark.parametrize("kind", ["mlp", "bn"])
def test_guide_loop_matches_real_keras(kind):
    losses, mae, reset, weights = nhanh_guide(kind)[0]
    k_losses, k_mae, k_reset, k_weights = keras_guide(kind)
    np.testing.assert_allclose(losses, k_losses, rtol=1e-5, atol=1e-6)
    assert mae == pytest.approx(k_mae, rel=1e-5)
    np.testing.assert_allclose(reset, k_reset)
    assert len(weights) == len(k_weights)  # moving statistics included (BN)
    for ours, theirs in zip(weights, k_weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["mlp", "bn_dropout"])
def test_guide_loop_matches_fit(kind):
    (losses, mae, _, weights), fresh = nhanh_guide(kind)
    model = make(nhanh, kind)
    for variable, value in zip(model.non_trainable_variables, fresh):
        variable.assign(value)  # the same Dropout seed as the guide's model had
    model.compile(optimizer=optimizer(nhanh, kind), loss="mse", metrics=["mae"])
    history = model.fit(X, Y, batch_size=B, epochs=1, shuffle=False, verbose=0).history
    assert history["loss"][0] == pytest.approx(np.mean(losses), rel=1e-5)
    assert history["mae"][0] == pytest.approx(mae, rel=1e-5)
    for ours, fits in zip(weights, model.get_weights()):
        np.testing.assert_allclose(ours, fits, rtol=1e-4, atol=1e-6)
    if kind == "bn_dropout":  # the seed advanced once per step, as in fit
        seed = model.non_trainable_variables[-1]
        assert _np(seed.value).tolist() == [int(fresh[-1][0]), int(fresh[-1][1]) + STEPS]


def test_stateless_call_is_pure_and_returns_the_new_state():
    model = make(nhanh, "bn_dropout")
    # BN's two statistics, then Dropout's seed state (Keras lists it there too)
    assert len(model.non_trainable_variables) == 3
    assert model.non_trainable_variables[-1] is model.state_variables[0]
    before = [w.numpy() for w in model.variables]
    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]
    out1, new1 = model.stateless_call(tv, ntv, X[:B], training=True)
    out2, _ = model.stateless_call(tv, ntv, X[:B], training=True)
    out3, _ = model.stateless_call(tv, new1, X[:B], training=True)
    for w, b in zip(model.variables, before):  # nothing assigned
        np.testing.assert_array_equal(w.numpy(), b)
    np.testing.assert_array_equal(_np(out1), _np(out2))  # same seed state, same mask
    assert not np.allclose(_np(out1), _np(out3))  # the returned seed state moved on
    h = np.tanh(X[:B] @ before[0] + before[1])  # the BN statistics, by NumPy
    np.testing.assert_allclose(_np(new1[0]), 0.8 * before[4] + 0.2 * h.mean(0), rtol=1e-5)
    np.testing.assert_allclose(_np(new1[1]), 0.8 * before[5] + 0.2 * h.var(0), rtol=1e-4)
    # training=False: no state changes, output from the given (not the Variables') weights
    tv2 = [t * 0 for t in tv]
    out, new = model.stateless_call(tv2, ntv, X[:B], training=False)
    np.testing.assert_allclose(_np(out), 0.0, atol=1e-6)
    for a, b in zip(new, ntv):
        np.testing.assert_array_equal(_np(a), _np(b))


def test_stateless_compute_loss_reads_the_given_values():
    model = nhanh.Sequential([nhanh.Input((4,)), nhanh.layers.Dense(
        1, kernel_regularizer=nhanh.regularizers.L2(0.1))])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    kernel, bias = np.full((4, 1), 0.5, "float32"), np.array([0.2], "float32")
    y_pred = X[:B] @ kernel + bias
    loss, (tv, ntv, mv) = model.stateless_compute_loss(
        [kernel, bias], [v.value for v in model.non_trainable_variables],
        [v.value for v in model.metrics_variables], X[:B], Y[:B], y_pred)
    expected = np.mean((Y[:B] - y_pred) ** 2) + 0.1 * np.sum(kernel ** 2)
    assert float(_np(loss)) == pytest.approx(expected, rel=1e-5)
    assert len(mv) == len(model.metrics_variables) and len(tv) == 2
    _, _, losses = model.stateless_call([kernel, bias], [], X[:B], return_losses=True)
    assert float(_np(sum(losses))) == pytest.approx(0.1 * np.sum(kernel ** 2), rel=1e-5)


def test_bad_state_lists_name_the_argument():
    model = make(nhanh, "mlp")
    tv = [v.value for v in model.trainable_variables]
    with pytest.raises(ValueError, match="`trainable_variables`.*4.*received 3"):
        model.stateless_call(tv[:3], [], X[:B])
    with pytest.raises(ValueError, match="shape"):
        model.stateless_call(tv[::-1], [], X[:B])
    opt = nhanh.optimizers.SGD()
    with pytest.raises(ValueError, match="build"):
        opt.stateless_apply([], tv, tv)
    opt.build(model.trainable_variables)
    with pytest.raises(ValueError, match="`optimizer_variables`"):
        opt.stateless_apply([], tv, tv)
    metric = nhanh.metrics.Mean()
    with pytest.raises(ValueError, match="`metric_variables`"):
        metric.stateless_result([])
    with pytest.raises(ValueError, match="not built"):
        nhanh.layers.Dense(2).stateless_call([], [], X[:B])


def test_metric_stateless_forms_leave_the_variables():
    metric = nhanh.metrics.Mean()
    metric.update_state(np.array([1.0, 2.0, 6.0], "float32"))  # eagerly: total 9, count 3
    state = metric.stateless_update_state(metric.variables, np.array([7.0], "float32"))
    assert float(_np(metric.stateless_result(state))) == pytest.approx(4.0)
    assert [float(_np(v)) for v in metric.stateless_reset_state()] == [0.0, 0.0]
    assert [float(v.numpy()) for v in metric.variables] == [9.0, 3.0]
    assert float(_np(metric.result())) == pytest.approx(3.0)
