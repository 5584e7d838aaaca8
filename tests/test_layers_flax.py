"""FlaxLayer: a flax.linen Module trained inside nhanh's fit (JAX engine), checked against the
same step written by hand with jax.grad, and against flax's own batch-stats update."""

import numpy as np
import pytest

import nhanh

flax = pytest.importorskip("flax")
import jax  # noqa: E402  (after the skip: flax needs it)
import jax.numpy as jnp  # noqa: E402
from flax import linen as nn  # noqa: E402

from nhanh.layers.flax_layer import FlaxLayer  # noqa: E402

LR = 0.1
_rng = np.random.default_rng(0)
X = _rng.normal(size=(8, 3)).astype("float32")
Y = _rng.normal(size=(8, 2)).astype("float32")


class MLP(nn.Module):
    hidden: int = 5

    @nn.compact
    def __call__(self, x):
        return nn.Dense(2)(nn.tanh(nn.Dense(self.hidden)(x)))

    def features(self, x):
        return x * 2.0


class Normed(nn.Module):
    @nn.compact
    def __call__(self, x, training: bool = False):
        x = nn.Dense(2)(x)
        x = nn.BatchNorm(use_running_average=not training, momentum=0.9)(x)
        return nn.Dropout(0.5, deterministic=not training)(x)


def _fit(layer, epochs=1, batch_size=len(X)):
    model = nhanh.Sequential([nhanh.Input((3,)), layer])
    model.compile(optimizer=nhanh.optimizers.SGD(LR), loss="mse")
    model.fit(X, Y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    return model


def _values(tree):
    return jax.tree_util.tree_map(lambda v: np.asarray(v.numpy()), tree)


@pytest.mark.engines("jax")
def test_mlp_trains_like_a_hand_written_jax_grad_step(backend):
    module = MLP()
    variables = module.init(jax.random.PRNGKey(1), jnp.ones((1, 3)))
    layer = FlaxLayer(module, variables=variables)
    assert len(layer.trainable_weights) == 4 and not layer.non_trainable_weights
    _fit(layer, epochs=2)  # two full-batch steps

    def loss(params):
        return jnp.mean((module.apply(params, X) - Y) ** 2)
    params = variables
    for _ in range(2):
        grads = jax.grad(loss)(params)
        params = jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)
    got, want = jax.tree_util.tree_leaves(_values(layer.params)), jax.tree_util.tree_leaves(
        params)
    assert len(got) == len(want) == 4
    for g, w, start in zip(got, want, jax.tree_util.tree_leaves(variables)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        assert not np.allclose(g, start)  # the gradient reached every param


@pytest.mark.engines("jax")
def test_variables_made_at_build_and_method_by_name(backend):
    layer = FlaxLayer(MLP(hidden=4))
    model = nhanh.Sequential([nhanh.Input((3,)), layer])
    shapes = sorted(tuple(w.shape) for w in layer.trainable_weights)
    assert shapes == [(2,), (3, 4), (4,), (4, 2)]
    params = _values(layer.params)
    np.testing.assert_allclose(model.predict(X, verbose=0), MLP(hidden=4).apply(params, X),
                               rtol=1e-5, atol=1e-6)
    by_name = FlaxLayer(MLP(), method="features", variables={})
    np.testing.assert_allclose(nhanh.ops.convert_to_numpy(by_name(X)), X * 2.0)
    assert by_name.get_config()["method"] == "features"


@pytest.mark.engines("jax")
def test_batch_stats_update_as_non_trainable_state(backend):
    module = Normed()
    variables = module.init({"params": jax.random.PRNGKey(2)}, jnp.ones((1, 3)))
    layer = FlaxLayer(module, variables=variables, seed=0)
    stats = layer.state["batch_stats"]["BatchNorm_0"]
    assert {id(w) for w in layer.non_trainable_weights} == {id(stats["mean"]),
                                                            id(stats["var"])}
    assert len(layer.trainable_weights) == 4  # Dense kernel, bias; BatchNorm scale, bias
    model = _fit(layer)  # one full-batch step
    # flax's own update from the same starting variables (dropout does not touch the stats)
    _, updated = module.apply(variables, X, training=True, mutable=["batch_stats"],
                              rngs={"dropout": jax.random.PRNGKey(0)})
    for name in ("mean", "var"):
        got = np.asarray(stats[name].numpy())
        np.testing.assert_allclose(got, updated["batch_stats"]["BatchNorm_0"][name],
                                   rtol=1e-5, atol=1e-6)
        assert not np.allclose(got, variables["batch_stats"]["BatchNorm_0"][name])
    # inference: running averages, no dropout, no state change
    before = _values(layer.state)
    now = {**_values(layer.params), **before}
    np.testing.assert_allclose(model.predict(X, verbose=0), module.apply(now, X),
                               rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(before),
                    jax.tree_util.tree_leaves(_values(layer.state))):
        np.testing.assert_array_equal(a, b)


@pytest.mark.engines("torch")
def test_pytorch_engine_is_refused_by_name(backend):
    with pytest.raises(ValueError, match="FlaxLayer runs only on the JAX engine.*'torch'"):
        FlaxLayer(MLP())


@pytest.mark.engines("jax")
def test_not_a_module_is_refused(backend):
    with pytest.raises(TypeError, match="flax.linen Module"):
        FlaxLayer(lambda x: x)
