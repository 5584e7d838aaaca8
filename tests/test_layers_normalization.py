"""Normalization layers against torch.nn.functional (forward and gradients) and NumPy
recurrences (batch-norm moving statistics), on every backend."""

import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.layers.normalization import (BatchNormalization, GroupNormalization,
                                        LayerNormalization, UnitNormalization)
from nhanh.variables import StatelessScope
from conftest import to_numpy

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = dict(rtol=1e-4, atol=1e-5)


def _random_affine(layer, rng):
    """Non-trivial gamma/beta (and positive moving variance) so a dropped term would show."""
    weights = []
    for w in layer.weights:
        value = rng.normal(size=w.shape).astype("float32")
        weights.append(np.abs(value) + 0.5 if "variance" in w.name else value)
    layer.set_weights(weights)


def _grads(layer, x, r, training=None):
    """Outputs and the gradients of sum(layer(x) * r) w.r.t. x and the trainable weights, taken
    the way the training step takes them (weights mapped by a StatelessScope)."""
    weights = layer.trainable_weights

    def loss(params):
        with StatelessScope(dict(zip(weights, params[1:]))):
            y = layer(params[0], training=training)
        return ops.sum(y * ops.convert_to_tensor(r)), y

    b = nhanh.backend.get()
    (_, y), grads = b.value_and_grad(loss, has_aux=True)(
        [ops.convert_to_tensor(x), *[w.value for w in weights]])
    return to_numpy(y), [to_numpy(g) for g in grads]


def _torch_grads(fn, x, r, *params):
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, *params)]
    y = fn(*tensors)
    (y * torch.tensor(r)).sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in tensors]


def _check(ours, ref):
    np.testing.assert_allclose(ours[0], ref[0], **TOL)
    assert len(ours[1]) == len(ref[1])
    for g, h in zip(ours[1], ref[1]):
        np.testing.assert_allclose(g, h, rtol=1e-3, atol=1e-4)


# --- BatchNormalization --------------------------------------------------------------------------
def test_batch_norm_weights_follow_keras_names_order_and_trainability():
    layer = BatchNormalization()
    layer.build((None, 5, 3))
    assert [w.name.split("/")[-1] for w in layer.weights] == [
        "gamma", "beta", "moving_mean", "moving_variance"]
    assert all(w.shape == (3,) for w in layer.weights)
    assert [w.name.split("/")[-1] for w in layer.trainable_weights] == ["gamma", "beta"]
    assert [w.name.split("/")[-1] for w in layer.non_trainable_weights] == [
        "moving_mean", "moving_variance"]
    np.testing.assert_array_equal(layer.get_weights()[3], np.ones(3))
    bare = BatchNormalization(center=False, scale=False)
    bare.build((None, 4))
    assert [w.name.split("/")[-1] for w in bare.weights] == ["moving_mean", "moving_variance"]


def test_batch_norm_training_forward_and_gradients_match_torch(np_rng):
    layer = BatchNormalization(epsilon=1e-3)
    x = (np_rng.normal(size=(6, 4, 3)) * 2 + 1).astype("float32")
    r = np_rng.normal(size=x.shape).astype("float32")
    layer.build(x.shape)
    _random_affine(layer, np_rng)
    gamma, beta = layer.get_weights()[:2]

    def reference(x, gamma, beta):  # channels-last to torch's channels-first
        y = F.batch_norm(x.permute(0, 2, 1), None, None, gamma, beta, training=True, eps=1e-3)
        return y.permute(0, 2, 1)

    _check(_grads(layer, x, r, training=True), _torch_grads(reference, x, r, gamma, beta))


def test_batch_norm_channels_first_inference_matches_torch_eval(np_rng):
    layer = BatchNormalization(axis=1, epsilon=1e-2)
    x = np_rng.normal(size=(2, 3, 4, 5)).astype("float32")
    layer.build(x.shape)
    _random_affine(layer, np_rng)
    gamma, beta, mean, var = (torch.tensor(w) for w in layer.get_weights())
    expected = F.batch_norm(torch.tensor(x), mean, var, gamma, beta, training=False, eps=1e-2)
    np.testing.assert_allclose(to_numpy(layer(x)), expected.numpy(), **TOL)
    np.testing.assert_allclose(to_numpy(layer(x, training=False)), expected.numpy(), **TOL)


def test_batch_norm_moving_statistics_follow_keras_recurrence(np_rng):
    momentum = 0.8
    layer = BatchNormalization(momentum=momentum)
    mean, var = np.zeros(3), np.ones(3)
    for step in range(4):
        x = (np_rng.normal(size=(8, 3)) * (step + 1) + step).astype("float32")
        y = to_numpy(layer(x, training=True))
        # Training output uses this batch's statistics (biased variance).
        np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), **TOL)
        mean = momentum * mean + (1 - momentum) * x.mean(0)
        var = momentum * var + (1 - momentum) * x.var(0)
        np.testing.assert_allclose(layer.moving_mean.numpy(), mean, **TOL)
        np.testing.assert_allclose(layer.moving_variance.numpy(), var, **TOL)
    before = layer.get_weights()
    x = np_rng.normal(size=(5, 3)).astype("float32")
    for training in (False, None):
        y = to_numpy(layer(x, training=training))
        np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), **TOL)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_frozen_batch_norm_runs_in_inference_mode_even_when_training(np_rng):
    layer = BatchNormalization()
    x = (np_rng.normal(size=(8, 2)) + 3).astype("float32")
    layer(x, training=True)
    layer.trainable = False
    before = layer.get_weights()
    y = to_numpy(layer(x, training=True))
    mean, var = before[2], before[3]
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), **TOL)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_batch_norm_updates_are_recorded_by_a_stateless_scope(np_rng):
    layer = BatchNormalization(momentum=0.75)  # not 0.5: momentum and 1 - momentum differ
    x = (np_rng.normal(size=(6, 3)) + 2).astype("float32")
    layer.build(x.shape)
    with StatelessScope() as scope:
        layer(x, training=True)
    assert set(scope.assigned) == {layer.moving_mean, layer.moving_variance}
    np.testing.assert_allclose(to_numpy(scope.assigned[layer.moving_mean]),
                               0.25 * x.mean(0), **TOL)
    np.testing.assert_allclose(to_numpy(scope.assigned[layer.moving_variance]),
                               0.75 + 0.25 * x.var(0), **TOL)
    # Nothing leaked into the Variables themselves.
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(layer.moving_variance.numpy(), np.ones(3))
    with StatelessScope() as scope:
        layer(x, training=False)
    assert not scope.assigned


def test_batch_norm_update_compiles_into_a_pure_step(np_rng):
    """The update path has no host reads or Python branches on values: it compiles (jax.jit)
    with the moving statistics passed in and out as state."""
    layer = BatchNormalization(momentum=0.7)
    layer.build((None, 4, 3))
    stats = [layer.moving_mean, layer.moving_variance]

    def step(state, x, mask):
        with StatelessScope(dict(zip(stats, state))) as scope:
            y = layer(x, training=True, mask=mask)
        return [scope.get(v) for v in stats], y

    compiled = nhanh.backend.get().compile_step(step)
    state = [v.value for v in stats]
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = (np_rng.normal(size=(5, 4, 3)) * 2 + 1).astype("float32")
        mask = np_rng.random((5, 4)) > 0.3
        state, _ = compiled(state, ops.convert_to_tensor(x), ops.convert_to_tensor(mask))
        mean = 0.7 * mean + 0.3 * x[mask].mean(0)
        var = 0.7 * var + 0.3 * x[mask].var(0)
    np.testing.assert_allclose(to_numpy(state[0]), mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(to_numpy(state[1]), var, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(3))


def test_batch_norm_moving_statistics_are_trained_by_fit(np_rng, backend):
    x = (np_rng.normal(size=(64, 3)) * 2 + 5).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    bn = BatchNormalization(momentum=0.7, input_shape=(3,))
    model = nhanh.Sequential([bn, nhanh.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(2):
        for batch in np.split(x, 4):
            mean = 0.7 * mean + 0.3 * batch.mean(0)
            var = 0.7 * var + 0.3 * batch.var(0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean, rtol=1e-4)
    np.testing.assert_allclose(bn.moving_variance.numpy(), var, rtol=1e-4)
    gamma, beta, mean, var = bn.get_weights()
    kernel, bias = model.layers[1].get_weights()
    expected = ((x - mean) / np.sqrt(var + 1e-3) * gamma + beta) @ kernel + bias
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)


def test_batch_norm_mask_leaves_masked_steps_out_of_the_statistics(np_rng):
    layer = BatchNormalization(momentum=0.0)
    x = np_rng.normal(size=(3, 5, 2)).astype("float32")
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)
    x[~mask] = 100.0  # garbage where masked
    y = to_numpy(layer(x, training=True, mask=ops.convert_to_tensor(mask)))
    kept = x[mask]
    mean, var = kept.mean(0), kept.var(0)
    np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y[mask], (kept - mean) / np.sqrt(var + 1e-3), **TOL)
    assert layer.compute_mask(x, mask) is mask
    with pytest.raises(ValueError, match="mask"):
        layer(x, training=True, mask=ops.convert_to_tensor(np.ones((3, 5, 2), bool)))


def test_batch_norm_rejects_changed_channels_and_bad_axis():
    layer = BatchNormalization(name="bn")
    layer(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"'bn'.*size 3 on axis -1.*\(2, 4\)"):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"'bn'.*rank 2.*\(2, 5, 3\)"):
        layer(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"'bn2'.*axis 3 is out of range.*\(2, 3\)"):
        BatchNormalization(axis=3, name="bn2")(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"'bn3'.*known size on axis 1.*\(None, None\)"):
        BatchNormalization(axis=1, name="bn3").build((None, None))
    with pytest.raises(NotImplementedError, match="renorm"):
        BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="momentum"):
        BatchNormalization(momentum=1.5)


# --- LayerNormalization --------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, [1, 2]])
def test_layer_norm_forward_and_gradients_match_torch(np_rng, axis):
    layer = LayerNormalization(axis=axis, epsilon=1e-3)
    x = (np_rng.normal(size=(4, 3, 5)) * 3 - 1).astype("float32")
    r = np_rng.normal(size=x.shape).astype("float32")
    layer.build(x.shape)
    _random_affine(layer, np_rng)
    gamma, beta = layer.get_weights()
    assert gamma.shape == ((5,) if axis == -1 else (3, 5))
    shape = gamma.shape

    def reference(x, gamma, beta):
        return F.layer_norm(x, shape, gamma, beta, eps=1e-3)

    _check(_grads(layer, x, r), _torch_grads(reference, x, r, gamma, beta))


def test_layer_norm_without_center_or_scale_and_on_middle_axis(np_rng):
    x = np_rng.normal(size=(2, 4, 3)).astype("float32")
    plain = LayerNormalization(axis=1, center=False, scale=False, epsilon=0.1)
    m, v = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    np.testing.assert_allclose(to_numpy(plain(x)), (x - m) / np.sqrt(v + 0.1), **TOL)
    assert plain.weights == []


def test_layer_norm_rms_scaling_is_keras_variance_scaling(np_rng):
    x = (np_rng.normal(size=(3, 6)) + 2).astype("float32")
    with pytest.warns(UserWarning, match="variance"):
        layer = LayerNormalization(rms_scaling=True)
    layer.build(x.shape)
    assert [w.name.split("/")[-1] for w in layer.weights] == ["gamma"]
    gamma = np.linspace(0.5, 2, 6).astype("float32")
    layer.set_weights([gamma])
    expected = x / np.sqrt(x.var(-1, keepdims=True) + 1e-3) * gamma
    np.testing.assert_allclose(to_numpy(layer(x)), expected, **TOL)


def test_layer_norm_rejects_changed_feature_size():
    layer = LayerNormalization(name="ln")
    layer(np.zeros((2, 3, 4), "float32"))
    layer(np.zeros((2, 7, 4), "float32"))  # other axes may change
    with pytest.raises(ValueError, match=r"'ln'.*size 4 on axis -1.*\(2, 3, 5\)"):
        layer(np.zeros((2, 3, 5), "float32"))
    with pytest.raises(TypeError, match="axis"):
        LayerNormalization(axis="last")


# --- GroupNormalization --------------------------------------------------------------------------
@pytest.mark.parametrize("groups", [2, -1, 1])
def test_group_norm_forward_and_gradients_match_torch(np_rng, groups):
    layer = GroupNormalization(groups=groups, epsilon=1e-3)
    x = (np_rng.normal(size=(2, 3, 5, 4)) * 2 + 1).astype("float32")  # channels last
    r = np_rng.normal(size=x.shape).astype("float32")
    layer.build(x.shape)
    _random_affine(layer, np_rng)
    gamma, beta = layer.get_weights()
    torch_groups = 4 if groups == -1 else groups

    def reference(x, gamma, beta):
        y = F.group_norm(x.permute(0, 3, 1, 2), torch_groups, gamma, beta, eps=1e-3)
        return y.permute(0, 2, 3, 1)

    _check(_grads(layer, x, r), _torch_grads(reference, x, r, gamma, beta))


def test_group_norm_channels_first_matches_torch(np_rng):
    layer = GroupNormalization(groups=3, axis=1, center=False)
    x = np_rng.normal(size=(2, 6, 5)).astype("float32")
    layer.build(x.shape)
    _random_affine(layer, np_rng)
    (gamma,) = layer.get_weights()
    expected = F.group_norm(torch.tensor(x), 3, torch.tensor(gamma), None, eps=1e-3)
    np.testing.assert_allclose(to_numpy(layer(x)), expected.numpy(), **TOL)


def test_group_norm_checks_groups_and_shape():
    with pytest.raises(ValueError, match=r"'gn'.*6 channels.*4 equal groups"):
        GroupNormalization(groups=4, name="gn").build((None, 6))
    with pytest.raises(ValueError, match="groups"):
        GroupNormalization(groups=0)
    layer = GroupNormalization(groups=2, name="gn2")
    layer(np.zeros((1, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"'gn2'.*size 4 on axis -1.*\(1, 3, 6\)"):
        layer(np.zeros((1, 3, 6), "float32"))


# --- UnitNormalization ---------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, [1, 2]])
def test_unit_norm_forward_and_gradients_match_torch(np_rng, axis):
    layer = UnitNormalization(axis=axis)
    x = np_rng.normal(size=(3, 2, 4)).astype("float32")
    r = np_rng.normal(size=x.shape).astype("float32")
    dims = (-1,) if axis == -1 else (1, 2)

    def reference(x):
        if len(dims) == 1:
            return F.normalize(x, dim=-1, eps=1e-12)
        return x / x.square().sum(dim=dims, keepdim=True).sqrt().clamp_min(1e-12)

    _check(_grads(layer, x, r), _torch_grads(reference, x, r))


def test_unit_norm_of_a_zero_sample_is_zero_with_finite_gradient():
    layer = UnitNormalization()
    x = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0]], "float32")
    y, (g,) = _grads(layer, x, np.ones_like(x))
    np.testing.assert_allclose(y, [[0, 0, 0], [0.6, 0, 0.8]], **TOL)
    assert np.all(np.isfinite(g))
    with pytest.raises(ValueError, match=r"'un'.*axis 2 is out of range.*\(1, 3\)"):
        UnitNormalization(axis=2, name="un")(x[:1])


# --- shared behaviour -----------------------------------------------------------------------------
LAYERS = [
    lambda: BatchNormalization(momentum=0.9, epsilon=1e-2, center=False,
                               gamma_initializer="zeros", gamma_regularizer="l2"),
    lambda: LayerNormalization(axis=[1, 2], epsilon=1e-4, scale=False,
                               beta_constraint="non_neg"),
    lambda: GroupNormalization(groups=2, epsilon=1e-2, beta_initializer="ones"),
    lambda: UnitNormalization(axis=[1, 2]),
]


@pytest.mark.parametrize("make", LAYERS)
def test_config_round_trip_gives_the_same_layer(make, np_rng):
    layer = make()
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    x = np_rng.normal(size=(4, 3, 2)).astype("float32")
    layer(x)
    clone(x)
    assert [w.name.split("/")[-1] for w in clone.weights] == [
        w.name.split("/")[-1] for w in layer.weights]
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(clone(x, training=True)),
                               to_numpy(layer(x, training=True)), **TOL)


@pytest.mark.parametrize("make", LAYERS)
def test_output_shape_and_masking(make, np_rng):
    layer = make()
    x = np_rng.normal(size=(4, 3, 2)).astype("float32")
    assert layer.compute_output_shape((None, 3, 2)) == (None, 3, 2)
    assert tuple(to_numpy(layer(x)).shape) == layer.compute_output_shape(x.shape)
    assert layer.supports_masking
    mask = np.ones((4, 3), bool)
    assert layer.compute_mask(x, mask) is mask


def test_regularizer_on_gamma_reaches_losses():
    layer = BatchNormalization(gamma_regularizer=nhanh.regularizers.L2(0.5))
    layer.build((None, 4))
    (penalty,) = layer.losses
    np.testing.assert_allclose(float(to_numpy(penalty)), 0.5 * 4, rtol=1e-6)
