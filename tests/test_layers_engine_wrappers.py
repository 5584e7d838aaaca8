"""TorchModuleWrapper and JaxLayer: another engine's model code as an nhanh layer.

Each wrapped model is trained by nhanh's `fit` (the captured / compiled step) and compared with
the same model trained by a plain loop of its own engine (torch.optim.SGD, jax.grad), from the
same initial values; gradients through `stateless_call` are compared with the engine's own.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import nhanh

_rng = np.random.default_rng(7)
X = _rng.normal(size=(16, 3)).astype("float32")
Y = _rng.normal(size=(16, 2)).astype("float32")
LR, BATCH, EPOCHS = 0.1, 4, 2


def _fit(layer, y=Y):
    model = nhanh.Sequential([nhanh.Input((3,)), layer])
    model.compile(optimizer=nhanh.optimizers.SGD(LR), loss="mse")
    model.fit(X, y, epochs=EPOCHS, batch_size=BATCH, shuffle=False, verbose=0)
    return model


# --- TorchModuleWrapper ---------------------------------------------------------------------
def _torch_loop(module, y=Y):
    import torch

    opt = torch.optim.SGD(module.parameters(), lr=LR)
    module.train()
    for _ in range(EPOCHS):
        for i in range(0, len(X), BATCH):
            opt.zero_grad()
            out = module(torch.tensor(X[i:i + BATCH]))
            torch.mean((out - torch.tensor(y[i:i + BATCH])) ** 2).backward()
            opt.step()
    return module


def _by_name(layer):
    prefix = layer.name + "/"
    return {v.name[len(prefix):]: v.numpy() for v in layer.weights}


@pytest.mark.engines("torch")
def test_torch_linear_fit_matches_torch_sgd():
    import torch

    from nhanh.layers.torch_module_wrapper import TorchModuleWrapper

    torch.manual_seed(0)
    module = torch.nn.Linear(3, 2)
    reference = _torch_loop(copy.deepcopy(module))
    layer = TorchModuleWrapper(module)
    model = _fit(layer)
    assert [v.name for v in model.trainable_weights] == [f"{layer.name}/weight",
                                                         f"{layer.name}/bias"]
    for name, value in reference.state_dict().items():
        np.testing.assert_allclose(_by_name(layer)[name], value.numpy(), rtol=1e-5, atol=1e-6)
    # The module's own tensors follow only when asked.
    layer.sync_module()
    np.testing.assert_allclose(module.weight.detach().numpy(), reference.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.engines("torch")
def test_torch_frozen_parameter_is_a_non_trainable_weight():
    import torch

    from nhanh.layers.torch_module_wrapper import TorchModuleWrapper

    torch.manual_seed(3)
    module = torch.nn.Linear(3, 2)
    module.bias.requires_grad_(False)
    reference = _torch_loop(copy.deepcopy(module))
    layer = TorchModuleWrapper(module)
    _fit(layer)
    assert [v.name for v in layer.non_trainable_weights] == [f"{layer.name}/bias"]
    for name, value in reference.state_dict().items():
        np.testing.assert_allclose(_by_name(layer)[name], value.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.engines("torch")
def test_torch_sequential_with_batchnorm_trains_statistics():
    import torch

    from nhanh.layers.torch_module_wrapper import TorchModuleWrapper

    torch.manual_seed(1)
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                 torch.nn.ReLU(), torch.nn.Linear(4, 2))
    reference = _torch_loop(copy.deepcopy(module))
    layer = TorchModuleWrapper(module)
    model = _fit(layer)
    ours = _by_name(layer)
    assert sorted(v.name for v in layer.non_trainable_weights) == sorted(
        f"{layer.name}/1.{k}" for k in ("running_mean", "running_var", "num_batches_tracked"))
    for name, value in reference.state_dict().items():
        np.testing.assert_allclose(ours[name], value.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    reference.eval()  # predict is inference: batch-norm uses the running statistics
    np.testing.assert_allclose(model.predict(X, verbose=0),
                               reference(torch.tensor(X)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.engines("torch")
def test_torch_stateless_call_returns_statistics_without_mutating_inputs():
    import torch

    from nhanh.layers.torch_module_wrapper import TorchModuleWrapper

    module = torch.nn.BatchNorm1d(3, momentum=0.5)
    layer = TorchModuleWrapper(module)
    state = [torch.zeros(3), torch.ones(3), torch.tensor(0)]
    x = torch.tensor(X)
    _, new_state = layer.stateless_call([v.value for v in layer.trainable_variables], state, x,
                                        training=True)
    np.testing.assert_array_equal(state[0].numpy(), np.zeros(3))  # the inputs are untouched
    np.testing.assert_array_equal(state[1].numpy(), np.ones(3))
    np.testing.assert_allclose(new_state[0].numpy(), 0.5 * X.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new_state[1].numpy(), 0.5 + 0.5 * X.var(0, ddof=1), rtol=1e-5)
    assert int(new_state[2]) == 1
    np.testing.assert_array_equal(layer.non_trainable_weights[0].numpy(), np.zeros(3))


@pytest.mark.engines("torch")
def test_torch_gradients_reach_wrapped_parameters():
    import torch

    from nhanh.layers.torch_module_wrapper import TorchModuleWrapper

    torch.manual_seed(2)
    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    reference = copy.deepcopy(module)
    layer = TorchModuleWrapper(module)
    values = [v.value.detach().clone().requires_grad_(True) for v in layer.trainable_variables]
    x = torch.tensor(X)
    out, _ = layer.stateless_call(values, [], x)
    out.square().sum().backward()
    reference(x).square().sum().backward()
    for value, param in zip(values, reference.parameters()):
        assert value.grad is not None
        np.testing.assert_allclose(value.grad.numpy(), param.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.engines("jax")
def test_torch_module_wrapper_refuses_jax():
    import torch

    from nhanh.layers.torch_module_wrapper import TorchModuleWrapper

    with pytest.raises(ValueError, match="only on the PyTorch engine.*'jax'.*set_backend"):
        TorchModuleWrapper(torch.nn.Linear(2, 2))


@pytest.mark.engines("torch")
def test_torch_module_wrapper_bad_module():
    from nhanh.layers.torch_module_wrapper import TorchModuleWrapper

    with pytest.raises(TypeError, match="`module` must be a torch.nn.Module.*got function"):
        TorchModuleWrapper(lambda x: x)


# --- JaxLayer ---------------------------------------------------------------------------------
def _dense(params, inputs):
    return inputs @ params["w"] + params["b"]


def _dense_init(rng, inputs):
    import jax
    import jax.numpy as jnp

    return {"w": 0.5 * jax.random.normal(rng, (inputs.shape[-1], 2)), "b": jnp.zeros(2)}


@pytest.mark.engines("jax")
@pytest.mark.parametrize("given", ["init_fn", "params"])
def test_jax_layer_fit_matches_jax_loop(given):
    import jax
    import jax.numpy as jnp

    from nhanh.layers.jax_layer import JaxLayer

    start = _dense_init(jax.random.PRNGKey(0), jnp.ones((1, 3)))
    if given == "params":
        layer = JaxLayer(_dense, params=start)
    else:
        layer = JaxLayer(_dense, init_fn=_dense_init)
        nhanh.Sequential([nhanh.Input((3,)), layer])  # builds: init_fn on (1, 3) ones
        start = jax.tree_util.tree_map(lambda v: jnp.array(v.numpy()), layer.params)
    _fit(layer)
    loss = jax.jit(lambda p, x, y: jnp.mean((_dense(p, x) - y) ** 2))
    params = start
    for _ in range(EPOCHS):
        for i in range(0, len(X), BATCH):
            grads = jax.grad(loss)(params, X[i:i + BATCH], Y[i:i + BATCH])
            params = jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)
    assert len(layer.trainable_weights) == 2
    for key in ("w", "b"):
        np.testing.assert_allclose(layer.params[key].numpy(), params[key], rtol=1e-5, atol=1e-6)


@pytest.mark.engines("jax")
def test_jax_layer_gradients_reach_params():
    import jax
    import jax.numpy as jnp

    from nhanh.layers.jax_layer import JaxLayer

    def net(params, inputs):
        return jnp.tanh(inputs @ params[0]) @ params[1]

    params = [jnp.asarray(_rng.normal(size=(3, 5)), "float32"),
              jnp.asarray(_rng.normal(size=(5, 2)), "float32")]
    layer = JaxLayer(net, params=params)
    x = jnp.asarray(X)
    ours = jax.grad(lambda vals: jnp.sum(layer.stateless_call(vals, [], x)[0] ** 2))(
        [v.value for v in layer.trainable_variables])
    expected = jax.grad(lambda p: jnp.sum(net(p, x) ** 2))(params)
    for g, e in zip(ours, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


@pytest.mark.engines("jax")
def test_jax_layer_passes_training_rng_and_carries_state():
    import jax
    import jax.numpy as jnp

    from nhanh.layers.jax_layer import JaxLayer

    seen = []

    def call_fn(params, state, rng, inputs, training):
        seen.append((training, None if rng is None else (rng.shape, str(rng.dtype))))
        out = inputs @ params["w"]
        if training:  # noise only in training, drawn from the key given
            out = out + 0.0 * jax.random.normal(rng, out.shape)
        return out, {"calls": state["calls"] + (1.0 if training else 0.0)}

    layer = JaxLayer(call_fn, params={"w": jnp.ones((3, 2))}, state={"calls": jnp.zeros(())},
                     seed=3)
    model = _fit(layer)
    steps = EPOCHS * len(X) // BATCH
    assert float(layer.state["calls"].numpy()) == steps  # the new state was assigned each step
    assert layer.non_trainable_weights[0] is layer.state["calls"]
    assert (True, ((2,), "uint32")) in seen
    seen.clear()
    np.testing.assert_allclose(model.predict(X, verbose=0), X @ layer.params["w"].numpy(),
                               rtol=1e-5, atol=1e-6)
    assert seen and all(entry == (False, None) for entry in seen)
    assert float(layer.state["calls"].numpy()) == steps


@pytest.mark.engines("jax")
def test_jax_layer_argument_errors():
    from nhanh.layers.jax_layer import JaxLayer

    with pytest.raises(ValueError, match="`call_fn` must take arguments named.*call_fn\\(p, x\\)"):
        JaxLayer(lambda p, x: x, params={})
    with pytest.raises(ValueError, match="`init_fn`, `params` and `state` are all None"):
        JaxLayer(_dense)


@pytest.mark.engines("torch")
def test_jax_layer_refuses_torch():
    from nhanh.layers.jax_layer import JaxLayer

    with pytest.raises(ValueError, match="only on the JAX engine.*'torch'.*TorchModuleWrapper"):
        JaxLayer(_dense, init_fn=_dense_init)
