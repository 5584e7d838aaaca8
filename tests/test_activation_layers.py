"""ReLU, LeakyReLU, PReLU, ELU and Softmax layers against real Keras 3 (on JAX, in this
process): outputs on random inputs (PReLU with the same alpha), Softmax's mask rule, argument
checks, configs, and a tiny fit whose weights must end where Keras's do."""

from __future__ import annotations

import os

import numpy as np
import pytest

import nhanh
from nhanh import ops
from nhanh.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax

os.environ.setdefault("KERAS_BACKEND", "jax")
to_numpy = ops.convert_to_numpy
BASE_KEYS = {"name", "trainable", "dtype"}


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _x(shape=(3, 4, 5), seed=0, scale=3.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype("float32")


# (class name, keyword arguments): each built in nhanh and in Keras with the same arguments
STATELESS = [
    ("ReLU", {}), ("ReLU", {"max_value": 2.5}), ("ReLU", {"negative_slope": 0.2}),
    ("ReLU", {"max_value": 4.0, "negative_slope": 0.1, "threshold": 0.5}),
    ("ReLU", {"max_value": 6.0, "threshold": 1.0}),
    ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.05}),
    ("ELU", {}), ("ELU", {"alpha": 0.4}),
    ("Softmax", {}), ("Softmax", {"axis": 1}), ("Softmax", {"axis": [1, 2]}),
    ("Softmax", {"axis": (0, 2)}), ("Softmax", {"axis": [-2]}),
]


@pytest.mark.parametrize("name,kwargs", STATELESS, ids=[f"{n}{k}" for n, k in STATELESS])
def test_outputs_and_config_match_keras(keras, name, kwargs):
    x = _x()
    ours, theirs = getattr(nhanh.layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    out = ours(x)
    np.testing.assert_allclose(to_numpy(out), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)
    assert ours.compute_output_shape((None, 4, 5)) == (None, 4, 5)
    config = {k: v for k, v in ours.get_config().items() if k not in BASE_KEYS}
    expected = {k: v for k, v in theirs.get_config().items() if k not in BASE_KEYS}
    if name == "ELU":  # Keras 3 drops alpha from ELU's config; nhanh keeps it
        expected["alpha"] = kwargs.get("alpha", 1.0)
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()} == \
        {k: list(v) if isinstance(v, tuple) else v for k, v in expected.items()}
    # the config rebuilds an equal layer, here and in Keras
    again = type(ours).from_config(ours.get_config())
    np.testing.assert_array_equal(to_numpy(again(x)), to_numpy(out))
    np.testing.assert_allclose(np.asarray(type(theirs).from_config(config)(x)), to_numpy(out),
                               rtol=1e-5, atol=1e-6)


def test_keras2_import_path():
    from nhanh.layers.advanced_activations import ELU as ELU2, LeakyReLU as LeakyReLU2

    assert ELU2 is nhanh.layers.ELU is ELU and LeakyReLU2 is nhanh.layers.LeakyReLU


def test_leaky_relu_accepts_keras2_alpha(keras):
    layer = LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1 and layer.get_config()["negative_slope"] == 0.1
    x = _x()
    np.testing.assert_allclose(to_numpy(layer(x)), np.where(x >= 0, x, 0.1 * x), rtol=1e-6)
    assert LeakyReLU.from_config({"alpha": 0.25, "name": "old"}).negative_slope == 0.25
    assert LeakyReLU().negative_slope == keras.layers.LeakyReLU().negative_slope == 0.3


@pytest.mark.parametrize("shared_axes", [None, [1], [1, 2], 2, (2,)])
def test_prelu_matches_keras_with_the_same_alpha(keras, shared_axes):
    x = _x(seed=1)
    ours, theirs = PReLU(shared_axes=shared_axes), keras.layers.PReLU(shared_axes=shared_axes)
    ours.build(x.shape)
    theirs.build(x.shape)
    assert tuple(ours.alpha.shape) == tuple(theirs.alpha.shape)
    np.testing.assert_array_equal(to_numpy(ours.alpha.value), 0.0)  # Keras's default: zeros
    alpha = np.random.default_rng(2).uniform(-0.5, 1.0, size=tuple(ours.alpha.shape))
    ours.set_weights([alpha.astype("float32")])
    theirs.set_weights([alpha.astype("float32")])
    np.testing.assert_allclose(to_numpy(ours(x)), np.asarray(theirs(x)), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(to_numpy(ours(x)), np.where(x >= 0, x, alpha * x), rtol=1e-6,
                               atol=1e-6)
    config = ours.get_config()
    assert config["shared_axes"] == theirs.get_config()["shared_axes"]
    again = PReLU.from_config(config)
    again.build(x.shape)
    assert tuple(again.alpha.shape) == tuple(ours.alpha.shape)


def test_prelu_regularizer_initializer_and_input_spec(keras):
    x = _x(seed=3)
    ours = PReLU(alpha_initializer=nhanh.initializers.Constant(0.25), alpha_regularizer="l2",
                 alpha_constraint="non_neg", shared_axes=[1])
    theirs = keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25),
                                alpha_regularizer="l2", alpha_constraint="non_neg",
                                shared_axes=[1])
    np.testing.assert_allclose(to_numpy(ours(x)), np.asarray(theirs(x)), rtol=1e-6)
    np.testing.assert_allclose(float(to_numpy(sum(ours.losses))),
                               float(np.asarray(sum(theirs.losses))), rtol=1e-6)
    config = ours.get_config()
    assert config["alpha_regularizer"]["class_name"] == "L2"
    assert config["alpha_constraint"]["class_name"] == "NonNeg"
    again = PReLU.from_config(config)
    again(x)
    np.testing.assert_allclose(to_numpy(again.alpha.value), 0.25)
    assert again.alpha.constraint is not None and again.losses
    # alpha is sized for the unshared axes: another size there is refused, naming the layer
    ours(_x((2, 7, 5)))  # axis 1 is shared, so any length passes
    with pytest.raises(ValueError, match=ours.name):
        ours(_x((2, 4, 6)))


def test_softmax_mask_follows_keras(keras):
    x = _x((3, 4, 5), seed=4)
    rng = np.random.default_rng(5)
    masks = [
        rng.uniform(size=(3, 1, 5)) > 0.4,                       # bool, broadcast over axis 1
        (rng.uniform(size=(3, 4, 5)) > 0.5).astype("float32"),   # 0/1 floats
        rng.uniform(size=(4, 5)).astype("float32"),              # floats: > 0.5 keeps
        np.zeros((3, 4, 1), bool),                                # everything masked
    ]
    for mask in masks:
        got = to_numpy(Softmax()(x, mask=mask))
        np.testing.assert_allclose(got, np.asarray(keras.layers.Softmax()(x, mask=mask)),
                                   rtol=1e-5, atol=1e-7)
        keep = np.broadcast_to(mask > 0.5 if mask.dtype != bool else mask, x.shape)
        assert np.all(got[~keep] == 0)  # masked entries are exactly 0 ...
        rows = keep.any(-1)
        np.testing.assert_allclose(got.sum(-1)[rows], 1.0, rtol=1e-5)  # ... the rest sum to 1
    # the masked logits become -1e9: a kept logit of -1e8 still wins over them
    x2 = np.array([[-1e8, 0.0, 5.0]], "float32")
    np.testing.assert_allclose(to_numpy(Softmax()(x2, mask=np.array([[True, False, False]]))),
                               [[1.0, 0.0, 0.0]])


def test_softmax_float16_uses_keras_smaller_fill(keras):
    # float16 masks with -3e4 (-1e9 would be -inf): kept logits below it lose to the masked
    # ones, so Keras 3 returns zeros for such a row; nhanh gives the same numbers
    x = np.array([[-4e4, -3.9e4, 0.0], [1.0, 2.0, 3.0]], "float16")
    mask = np.array([[True, True, False], [True, False, True]])
    expected = np.asarray(keras.layers.Softmax(dtype="float16")(x, mask=mask))
    got = Softmax(dtype="float16")(x, mask=mask)
    assert ops.dtype(got) == "float16"
    np.testing.assert_allclose(to_numpy(got).astype("float64"), expected.astype("float64"),
                               atol=2e-3)
    assert np.all(to_numpy(got)[0] == 0)


def test_softmax_float16_masked_rows_stay_finite():
    x = np.array([[1.0, 2.0, 3.0], [0.5, -0.5, 0.0]], "float16")
    mask = np.array([[True, False, True], [False, False, False]])
    layer = Softmax(dtype="float16")
    out = to_numpy(layer(x, mask=mask)).astype("float64")
    e = np.exp([1.0, 3.0] - np.float64(3.0))
    np.testing.assert_allclose(out, [[e[0] / e.sum(), 0, e[1] / e.sum()], [0, 0, 0]], atol=2e-3)
    # -1e9 is -inf in float16: the fully masked row's softmax would be nan, which the zeroing
    # hides from the values but not from the gradient
    w = ops.convert_to_tensor(np.array([[1, -2, 3], [2, 1, -1]], "float16"))
    _, (grad,) = nhanh.backend.get().value_and_grad(
        lambda p: ops.sum(layer(p[0], mask=mask) * w))([ops.convert_to_tensor(x)])
    grad = to_numpy(grad).astype("float64")
    assert np.all(np.isfinite(grad)) and np.all(grad[1] == 0)


def test_masks_pass_through_in_models():
    inp = nhanh.Input((4,), dtype="int32")
    emb = nhanh.layers.Embedding(10, 3, mask_zero=True)(inp)
    for layer in (ReLU(), LeakyReLU(), PReLU(), ELU(), Softmax()):
        assert layer.supports_masking
        mask = np.array([[True, True, False, False]])
        np.testing.assert_array_equal(layer.compute_mask(None, mask), mask)
    # (Softmax would refuse the (batch, steps) mask of (batch, steps, 3) inputs, as in Keras)
    hidden = ReLU()(LeakyReLU()(PReLU(shared_axes=[1])(ELU()(emb))))
    model = nhanh.Model(inp, nhanh.layers.GlobalAveragePooling1D()(hidden))
    x = np.array([[3, 1, 0, 0], [3, 1, 4, 0]])
    table = model.layers[1].get_weights()[0]
    keep = (x != 0)[..., None]  # the mask reached the pooling: padded steps are not averaged
    expected = (np.maximum(table[x], 0) * keep).sum(1) / keep.sum(1)
    np.testing.assert_allclose(to_numpy(model(x)), expected, rtol=1e-5)


def test_argument_errors_name_the_argument(keras):
    bad = [
        (lambda L: L.ReLU(max_value=-1.0), "max_value"),
        (lambda L: L.ReLU(negative_slope=-0.1), "negative_slope"),
        (lambda L: L.ReLU(negative_slope=None), "negative_slope"),
        (lambda L: L.ReLU(threshold=-2.0), "threshold"),
        (lambda L: L.ReLU(threshold=None), "threshold"),
        (lambda L: L.LeakyReLU(negative_slope=-0.3), "negative_slope"),
        (lambda L: L.LeakyReLU(negative_slope=None), "negative_slope"),
    ]
    for make, argument in bad:
        with pytest.raises(ValueError, match=argument):
            make(nhanh.layers)
        with pytest.raises(ValueError):  # Keras refuses the same arguments
            make(keras.layers)
    with pytest.raises(ValueError, match="alpha"):
        LeakyReLU(negative_slope=0.1, alpha=0.2)
    with pytest.raises(ValueError, match="shared_axes"):
        PReLU(shared_axes=0)  # the batch axis cannot share a slope
    with pytest.raises(ValueError, match="shared_axes"):
        PReLU(shared_axes=[3])(_x((2, 3, 4)))
    with pytest.raises(ValueError, match="unknown"):
        PReLU().build((None, None, 4))
    with pytest.raises(ValueError, match=r"mask.*\(3, 4, 5\).*\(3, 5\)"):
        Softmax()(_x(), mask=np.ones((3, 5), bool))
    with pytest.raises(ValueError, match="mask"):
        Softmax()(_x(), mask=np.ones((1, 3, 4, 5), bool))
    for layer in (ReLU, LeakyReLU, PReLU, ELU, Softmax):
        with pytest.raises(TypeError, match="bogus"):
            layer(bogus=1)


def _fit_program(L, x, y, weights):
    """A tiny classifier through every layer of this file, the same program on both
    libraries; returns the final weights and the loss history."""
    model = L.Sequential([
        L.Input((3,)),
        L.layers.Dense(6),
        L.layers.PReLU(alpha_regularizer=L.regularizers.L2(0.01), alpha_constraint="non_neg"),
        L.layers.Dense(6),
        L.layers.ELU(0.7),
        L.layers.Dense(6),
        L.layers.LeakyReLU(negative_slope=0.1),
        L.layers.ReLU(max_value=5.0, negative_slope=0.05),
        L.layers.Dense(3),
        L.layers.Softmax(),
    ])
    model.set_weights(weights)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=L.optimizers.SGD(learning_rate=0.2))
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    return [np.asarray(w) for w in model.get_weights()], history.history["loss"]


@pytest.fixture(scope="module")
def fit_case(keras):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(24, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0.5).astype("int32")
    shapes = [(3, 6), (6,), (6,), (6, 6), (6,), (6, 6), (6,), (6, 3), (3,)]
    weights = [rng.normal(scale=0.6, size=s).astype("float32") for s in shapes]
    weights[2] = rng.uniform(-0.3, 0.6, size=6).astype("float32")  # alpha, a few negative
    return x, y, weights, _fit_program(keras, x, y, weights)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own, from set_weights
def test_fit_matches_keras(fit_case):
    x, y, weights, (keras_weights, keras_loss) = fit_case
    got_weights, got_loss = _fit_program(nhanh, x, y, weights)
    np.testing.assert_allclose(got_loss, keras_loss, rtol=1e-4, atol=1e-6)
    for got, want in zip(got_weights, keras_weights):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert np.all(got_weights[2] >= 0) and np.any(weights[2] < 0)  # the constraint applied
    assert not np.allclose(got_weights[2], np.maximum(weights[2], 0))  # and alpha learned
