"""Merging layers against NumPy: forward and gradients (numerical, on the NumPy reference),
Keras's broadcasting and mask rules, shapes, configs and bad inputs."""

import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.layers import merging
from nhanh.layers.merging import (
    Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract,
)
from conftest import to_numpy


def numeric_grads(f, arrays, cotangent, eps=1e-4):
    """d sum(f(*arrays) * cotangent) / d each array, by central differences in float64."""
    arrays = [a.astype("float64") for a in arrays]
    grads = []
    for k, a in enumerate(arrays):
        grad = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            up, down = [b.copy() for b in arrays], [b.copy() for b in arrays]
            up[k][i] += eps
            down[k][i] -= eps
            grad[i] = np.sum((f(*up) - f(*down)) * cotangent) / (2 * eps)
        grads.append(grad)
    return grads


def forward_and_grads(layer, arrays, cotangent, **call_kwargs):
    """layer(arrays) and the gradients of sum(output * cotangent) w.r.t. each array, in one
    compiled step (jit on JAX), as a training step runs the layer."""
    b = nhanh.backend.get()

    def loss(params):
        y = layer(list(params), **call_kwargs)
        return ops.sum(y * ops.convert_to_tensor(cotangent)), y

    step = b.compile_step(lambda state, *xs: b.value_and_grad(loss, has_aux=True)(list(xs)))
    (_, y), grads = step([], *[ops.convert_to_tensor(a) for a in arrays])
    return to_numpy(y), [to_numpy(g) for g in grads]


def check_merge(layer, arrays, reference, rng, mask=None, rtol=1e-5):
    """Forward and input gradients of `layer` on `arrays` match the NumPy `reference`."""
    expected = reference(*[a.astype("float64") for a in arrays])
    assert layer.compute_output_shape([a.shape for a in arrays]) == expected.shape
    kwargs = {} if mask is None else {"mask": [None if m is None else ops.convert_to_tensor(m)
                                               for m in mask]}
    cotangent = rng.normal(size=expected.shape).astype("float32")
    y, grads = forward_and_grads(layer, arrays, cotangent, **kwargs)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=rtol, atol=1e-5)
    for got, want in zip(grads, numeric_grads(reference, arrays, cotangent)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cls,reference", [
    (Add, lambda *xs: sum(xs)),
    (Average, lambda *xs: sum(xs) / len(xs)),
    (Multiply, lambda *xs: np.prod(np.stack(np.broadcast_arrays(*xs)), axis=0)),
    (Maximum, lambda *xs: np.maximum.reduce(np.broadcast_arrays(*xs))),
    (Minimum, lambda *xs: np.minimum.reduce(np.broadcast_arrays(*xs))),
])
def test_elementwise_merges_of_three_inputs(np_rng, cls, reference):
    arrays = [np_rng.normal(size=(2, 3, 4)).astype("float32") for _ in range(3)]
    check_merge(cls(), arrays, reference, np_rng)


def test_subtract(np_rng):
    arrays = [np_rng.normal(size=(2, 5)).astype("float32") for _ in range(2)]
    check_merge(Subtract(), arrays, lambda a, b: a - b, np_rng)


def test_broadcasting_follows_keras(np_rng):
    """Size-1 axes broadcast; a lower-rank input gets its new axes right after the batch axis."""
    a = np_rng.normal(size=(2, 3, 4)).astype("float32")
    b = np_rng.normal(size=(2, 1, 4)).astype("float32")
    c = np_rng.normal(size=(2, 4)).astype("float32")
    check_merge(Add(), [a, b, c], lambda x, y, z: x + y + z[:, None, :], np_rng)
    check_merge(Maximum(), [c, a], lambda z, x: np.maximum(z[:, None, :], x), np_rng)
    assert Add().compute_output_shape([(None, 3, 1), (5, 1, 4)]) == (5, 3, 4)
    assert Add().compute_output_shape([(None, None, 4), (None, 3, 4)]) == (None, None, 4)


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate(np_rng, axis):
    shapes = {-1: [(2, 3, 1), (2, 3, 4)], 1: [(2, 1, 4), (2, 3, 4)], 2: [(2, 3, 2), (2, 3, 3)]}
    arrays = [np_rng.normal(size=s).astype("float32") for s in shapes[axis]]
    check_merge(Concatenate(axis=axis), arrays, lambda *xs: np.concatenate(xs, axis=axis), np_rng)
    assert Concatenate(axis=axis).compute_output_shape(
        [(None, *s[1:]) for s in shapes[axis]]) == (None, *np.concatenate(arrays, axis).shape[1:])


def _batch_dot(x, y, ax, ay):
    """Per-sample tensordot, the independent reference for Dot."""
    out = np.stack([np.tensordot(x[n], y[n], axes=(ax - 1, ay - 1)) for n in range(len(x))])
    return out[:, None] if out.ndim == 1 else out


@pytest.mark.parametrize("shapes,axes", [
    (((2, 5), (2, 5)), 1), (((2, 5), (2, 5)), -1), (((2, 3, 5), (2, 4, 5)), (2, 2)),
    (((2, 3, 5), (2, 3, 4)), 1), (((2, 3, 4), (2, 4)), (-1, 1)), (((2, 4), (2, 4, 3)), (1, 1)),
    (((2, 3, 4, 2), (2, 2, 5)), (-1, 1)),
])
def test_dot(np_rng, shapes, axes):
    x, y = (np_rng.normal(size=s).astype("float32") for s in shapes)
    ax, ay = (axes, axes) if isinstance(axes, int) else axes
    ax, ay = ax % x.ndim, ay % y.ndim
    check_merge(Dot(axes=axes), [x, y], lambda a, b: _batch_dot(a, b, ax, ay), np_rng)


def test_dot_normalize_is_cosine_proximity(np_rng):
    x, y = (np_rng.normal(size=(3, 4, 2)).astype("float32") for _ in range(2))

    def cosine(a, b):
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        return _batch_dot(a, b, 1, 1)

    check_merge(Dot(axes=1, normalize=True), [x, y], cosine, np_rng)


def test_functional_shortcuts(np_rng):
    a, b = (np_rng.normal(size=(2, 3)).astype("float32") for _ in range(2))
    for fn, want in [(merging.add, a + b), (merging.subtract, a - b), (merging.multiply, a * b),
                     (merging.average, (a + b) / 2), (merging.maximum, np.maximum(a, b)),
                     (merging.minimum, np.minimum(a, b)),
                     (merging.concatenate, np.concatenate([a, b], -1)),
                     (merging.dot, np.sum(a * b, -1, keepdims=True))]:
        np.testing.assert_allclose(to_numpy(fn([a, b])), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(merging.concatenate([a, b], axis=0)),
                               np.concatenate([a, b], 0))


# --- masks ---------------------------------------------------------------------------------
def _masks(np_rng):
    x = [np_rng.normal(size=(2, 4, 3)).astype("float32") for _ in range(2)]
    m = [np.array([[1, 1, 0, 0], [1, 0, 1, 0]], bool), np.array([[1, 0, 1, 0], [0, 0, 1, 1]], bool)]
    return x, m


def test_compute_mask_is_or_of_masks(np_rng):
    x, m = _masks(np_rng)
    tensors = [ops.convert_to_tensor(a) for a in x]
    masks = [ops.convert_to_tensor(a) for a in m]
    for layer in (Add(), Subtract(), Multiply(), Average(), Maximum(), Minimum()):
        assert layer.supports_masking
        np.testing.assert_array_equal(to_numpy(layer.compute_mask(tensors, masks)), m[0] | m[1])
        assert layer.compute_mask(tensors, [masks[0], None]) is None
        assert layer.compute_mask(tensors, None) is None
    assert Dot(axes=-1).compute_mask(tensors, masks) is None
    with pytest.raises(ValueError, match="one mask"):
        Add().compute_mask(tensors, masks[:1])


def test_concatenate_mask(np_rng):
    x, m = _masks(np_rng)
    tensors = [ops.convert_to_tensor(a) for a in x]
    layer = Concatenate(axis=1)
    got = to_numpy(layer.compute_mask(tensors, [ops.convert_to_tensor(m[0]), None]))
    np.testing.assert_array_equal(got, np.concatenate([m[0], np.ones((2, 4), bool)], axis=1))
    got = to_numpy(Concatenate(axis=-1).compute_mask(tensors, [ops.convert_to_tensor(m[0]), None]))
    np.testing.assert_array_equal(got, np.ones((2, 4), bool))  # any() over the feature axis
    assert layer.compute_mask(tensors, [None, None]) is None


def test_masked_multiply_maximum_minimum_follow_keras(np_rng):
    """Multiply: masked entries count as 1, entries masked everywhere give 0.
    Maximum/Minimum: a masked entry is replaced by the other operand."""
    x, m = _masks(np_rng)
    a, b = x
    ma, mb = m[0][..., None], m[1][..., None]

    def masked_product(p, q):
        out = np.where(ma, p, 1) * np.where(mb, q, 1)
        return np.where(ma | mb, out, 0)

    def masked_max(p, q):
        q = np.where(mb, q, p)
        return np.maximum(np.where(ma, p, q), q)

    def masked_min(p, q):
        q = np.where(mb, q, p)
        return np.minimum(np.where(ma, p, q), q)

    check_merge(Multiply(), [a, b], masked_product, np_rng, mask=m)
    check_merge(Maximum(), [a, b], masked_max, np_rng, mask=m)
    check_merge(Minimum(), [a, b], masked_min, np_rng, mask=m)
    # Only one input masked: Multiply keeps unmasked factors as they are and zeroes nothing.
    check_merge(Multiply(), [a, b], lambda p, q: np.where(ma, p, 1) * q, np_rng, mask=[m[0], None])
    # Add ignores masks in its values.
    check_merge(Add(), [a, b], lambda p, q: p + q, np_rng, mask=m)


# --- configs and errors --------------------------------------------------------------------
@pytest.mark.parametrize("layer", [Add(), Subtract(), Multiply(), Average(), Maximum(), Minimum(),
                                   Concatenate(axis=1), Dot(axes=(1, 2), normalize=True)],
                         ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_config_values():
    assert Concatenate(axis=2).get_config()["axis"] == 2
    config = Dot(axes=[1, 2], normalize=True).get_config()
    assert config["axes"] == (1, 2) and config["normalize"] is True


@pytest.mark.parametrize("layer,shapes", [
    (Add(), [(2, 3), (2, 4)]), (Multiply(), [(2, 3, 4), (2, 5, 4)]),
    (Maximum(), [(2, 3), (3, 3)]), (Subtract(), [(2, 3), (2, 3), (2, 3)]),
    (Concatenate(), [(2, 3, 4), (2, 5, 4)]), (Concatenate(axis=1), [(2, 3), (2, 3, 1)]),
    (Dot(axes=1), [(2, 3), (2, 4)]), (Dot(axes=(1, 2)), [(2, 3), (2, 3), (2, 3)]),
])
def test_mismatched_shapes_fail_at_build_naming_layer_and_shapes(layer, shapes):
    pattern = r"{}.*{}".format(layer.name, r".*".join(
        str(s).replace("(", r"\(").replace(")", r"\)") for s in shapes[:2]))
    with pytest.raises(ValueError, match=pattern):
        layer([np.zeros(s, "float32") for s in shapes])
    assert not layer.built
    with pytest.raises(ValueError, match=layer.name):
        layer.compute_output_shape(shapes)


def test_single_tensor_is_an_error():
    with pytest.raises(ValueError, match="list of inputs"):
        Add()(np.zeros((2, 3), "float32"))


def test_dot_rejects_batch_axis_and_bad_axes():
    with pytest.raises(ValueError, match="batch axis"):
        Dot(axes=0)([np.zeros((2, 3), "float32")] * 2)
    with pytest.raises(ValueError, match="axes"):
        Dot(axes=(1, 2, 3))
    with pytest.raises(TypeError, match="axes"):
        Dot(axes="1")


def test_merges_run_inside_a_compiled_step(np_rng):
    a, b = (np_rng.normal(size=(2, 3)).astype("float32") for _ in range(2))
    add, dot = Add(), Dot(axes=1)
    step = nhanh.backend.get().compile_step(lambda state, x, y: dot([add([x, y]), y]))
    out = to_numpy(step([], ops.convert_to_tensor(a), ops.convert_to_tensor(b)))
    np.testing.assert_allclose(out, np.sum((a + b) * b, -1, keepdims=True), rtol=1e-5)
