"""Keras 3's remaining losses: focal crossentropies, CTC, Dice, Tversky, Circle, categorical
hinge and generalized crossentropy, checked against real Keras 3 (on JAX, in this process)
for every reduction with and without sample weights, by finite differences, and inside fit."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

import nhanh
from nhanh import ops

os.environ.setdefault("KERAS_BACKEND", "jax")
REDUCTIONS = ["sum_over_batch_size", "sum", "mean_with_sample_weight", None]
B, C = 6, 4


def _data():
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.05, 1, size=(B, C)).astype("float32")
    probs /= probs.sum(-1, keepdims=True)
    emb = rng.normal(size=(B, 5)).astype("float32")
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return dict(
        bin_t=(rng.uniform(size=(B, C)) > 0.5).astype("float32"),
        bin_p=rng.uniform(0.01, 0.99, size=(B, C)).astype("float32"),
        logits=(rng.normal(size=(B, C)) * 2).astype("float32"),
        hot=np.eye(C, dtype="float32")[rng.integers(0, C, B)],
        labels=rng.integers(0, C, B), probs=probs, emb=emb,
        circle_labels=np.array([0, 1, 0, 2, 1, 3]),  # the 3 has no positive pair
        mask_t=(rng.uniform(size=(B, 4, 4, 1)) > 0.5).astype("float32"),
        mask_p=rng.uniform(size=(B, 4, 4, 1)).astype("float32"),
        ctc_t=np.array([[1, 2, 0], [3, 3, 1], [2, 0, 0], [1, 2, 3], [1, 1, 0], [3, 0, 0]]),
        ctc_p=rng.normal(size=(B, 7, C)).astype("float32"),
        sw=rng.uniform(0.1, 2, size=B).astype("float32"),
    )


D = _data()
CASES = [
    ("BinaryFocalCrossentropy", {}, "bin_t", "bin_p"),
    ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, alpha=0.3, gamma=1.5,
                                     label_smoothing=0.1), "bin_t", "bin_p"),
    ("BinaryFocalCrossentropy", dict(from_logits=True, gamma=3.0), "bin_t", "logits"),
    ("CategoricalFocalCrossentropy", {}, "hot", "probs"),
    ("CategoricalFocalCrossentropy", dict(from_logits=True, alpha=0.5, gamma=1.0,
                                          label_smoothing=0.2), "hot", "logits"),
    ("CategoricalHinge", {}, "hot", "logits"),
    ("CategoricalGeneralizedCrossEntropy", {}, "labels", "probs"),
    ("CategoricalGeneralizedCrossEntropy", dict(q=0.2), "labels", "probs"),
    ("Dice", {}, "mask_t", "mask_p"),
    ("Dice", dict(axis=(1, 2, 3)), "mask_t", "mask_p"),
    ("Tversky", dict(alpha=0.3, beta=0.7), "mask_t", "mask_p"),
    ("Tversky", dict(alpha=0.3, beta=0.7, axis=(1, 2, 3)), "mask_t", "mask_p"),
    ("Circle", {}, "circle_labels", "emb"),
    ("Circle", dict(gamma=10.0, margin=0.25, remove_diagonal=False), "circle_labels", "emb"),
    ("CTC", {}, "ctc_t", "ctc_p"),
]
FUNCTIONS = {"BinaryFocalCrossentropy": "binary_focal_crossentropy",
             "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
             "CategoricalHinge": "categorical_hinge", "Dice": "dice", "Tversky": "tversky",
             "CategoricalGeneralizedCrossEntropy": "categorical_generalized_cross_entropy",
             "Circle": "circle", "CTC": "ctc"}


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def _key(kwargs: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in kwargs.items()))


@functools.lru_cache(maxsize=None)
def _keras_value(keras, name, key, t, p, reduction="function", weighted=False):
    """Keras's value, computed once per session and compared with every engine's (Keras's
    numbers do not depend on nhanh's engine). `reduction="function"` calls the function form."""
    kwargs = {k: eval(v) for k, v in key}  # the reprs of plain numbers, bools and tuples
    if reduction == "function":
        return np.asarray(getattr(keras.losses, name)(D[t], D[p], **kwargs))
    loss = getattr(keras.losses, name)(reduction=reduction, **kwargs)
    return np.asarray(loss(D[t], D[p], sample_weight=D["sw"] if weighted else None))


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


@pytest.mark.parametrize("name,kwargs,t,p", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_values_match_keras_for_every_reduction(keras, name, kwargs, t, p):
    for reduction in REDUCTIONS:
        for sw in (None, D["sw"]):
            want = _keras_value(keras, name, _key(kwargs), t, p, reduction, sw is not None)
            got = _np(getattr(nhanh.losses, name)(reduction=reduction, **kwargs)(
                D[t], D[p], sample_weight=sw))
            assert got.shape == want.shape, (reduction, sw is not None)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5,
                                       err_msg=f"{reduction}, weighted={sw is not None}")


@pytest.mark.parametrize("name,kwargs,t,p", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_function_forms_match_keras(keras, name, kwargs, t, p):
    fn = FUNCTIONS[name]
    if name == "CategoricalGeneralizedCrossEntropy":
        kwargs = {"q": kwargs.get("q", 0.5)}
    want = _keras_value(keras, fn, _key(kwargs), t, p)
    got = _np(getattr(nhanh.losses, fn)(D[t], D[p], **kwargs))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_configs_round_trip_and_names_resolve(keras):
    for name, kwargs, _, _ in CASES:
        loss = getattr(nhanh.losses, name)(**kwargs)
        ours = loss.get_config()
        theirs = getattr(keras.losses, name)(**kwargs).get_config()
        for key, value in theirs.items():
            if key != "dtype":
                assert ours[key] == (list(value) if isinstance(value, tuple) and
                                     isinstance(ours[key], list) else value), (name, key)
        again = nhanh.losses.deserialize(nhanh.losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == ours
        assert callable(nhanh.losses.get(FUNCTIONS[name]))


def test_ctc_matches_torch_on_ragged_lengths():
    """The JAX forward algorithm and torch's kernel, on labels with repeats and padding."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(5, 9, 6)).astype("float32")
    labels = np.array([[1, 1, 2, 0], [5, 4, 3, 2], [2, 0, 0, 0], [3, 3, 3, 0], [1, 2, 1, 2]])
    lengths = (labels != 0).sum(1)
    want = torch.nn.functional.ctc_loss(
        torch.log_softmax(torch.tensor(logits), -1).transpose(0, 1), torch.tensor(labels),
        torch.full((5,), 9), torch.tensor(lengths), reduction="none").numpy()
    got = _np(nhanh.losses.ctc(labels, logits))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def _numeric_grad(fn, x, eps=1e-2):
    """Central differences with one Richardson step (error O(eps**4)), for float32 losses."""
    def central(h):
        grad = np.zeros(x.shape)
        for i in np.ndindex(x.shape):
            hi, lo = x.astype("float64"), x.astype("float64")
            hi[i] += h
            lo[i] -= h
            grad[i] = (fn(hi) - fn(lo)) / (2 * h)
        return grad
    return (4 * central(eps / 2) - central(eps)) / 3


GRAD_CASES = [
    ("BinaryFocalCrossentropy", dict(from_logits=True, apply_class_balancing=True),
     "bin_t", "logits"),
    ("CategoricalFocalCrossentropy", dict(from_logits=True), "hot", "logits"),
    ("CategoricalHinge", {}, "hot", "logits"),
    ("CategoricalGeneralizedCrossEntropy", {}, "labels", "probs"),
    ("Dice", dict(axis=(1, 2, 3)), "mask_t", "mask_p"),
    ("Tversky", dict(alpha=0.3, beta=0.7), "mask_t", "mask_p"),
    ("Circle", dict(gamma=10.0), "circle_labels", "emb"),
    ("CTC", {}, "ctc_t", "ctc_p"),
]


@pytest.mark.parametrize("name,kwargs,t,p", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients_match_finite_differences(backend, name, kwargs, t, p):
    dtype = "float64" if backend == "torch" else "float32"  # JAX runs without x64
    loss = getattr(nhanh.losses, name)(reduction="sum", dtype=dtype, **kwargs)
    y_true, y_pred = D[t], D[p].astype(dtype)
    if name in ("Dice", "Tversky"):
        y_true, y_pred = y_true[:2, :2], y_pred[:2, :2]  # fewer entries, same code path
    elif name == "CTC":  # two sequences: a label repeat (3, 3) and padding, as in the batch
        y_true, y_pred = y_true[:2], y_pred[:2]
    grad_fn = nhanh.backend.get().value_and_grad(lambda params: loss(y_true, params[0]))
    _, (grad,) = grad_fn([ops.convert_to_tensor(y_pred)])
    forward = lambda v: loss(y_true, v)  # noqa: E731
    if backend == "jax":  # hundreds of evaluations: compile once rather than dispatch op by op
        import jax

        forward = jax.jit(forward)
    want = _numeric_grad(lambda v: float(_np(forward(v.astype(dtype)))), y_pred)
    got = _np(grad)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-2, atol=3e-4)


def test_circle_gradient_is_finite_for_a_sample_without_positives():
    loss = nhanh.losses.Circle()
    grad_fn = nhanh.backend.get().value_and_grad(
        lambda params: loss(D["circle_labels"], params[0]))
    _, (grad,) = grad_fn([ops.convert_to_tensor(D["emb"])])
    assert np.all(np.isfinite(_np(grad)))


def _fit(loss, x, y, out_units, activation=None, extra=None):
    layers = [nhanh.layers.Dense(out_units, activation=activation)]
    model = nhanh.Sequential([nhanh.Input(x.shape[1:]), *(extra or []), *layers])
    model.compile(optimizer=nhanh.optimizers.Adam(0.05), loss=loss)
    before = float(_np(model.evaluate(x, y, verbose=0)))
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    after = history.history["loss"][-1]
    assert np.isfinite(after) and after < before, (before, after)


@pytest.mark.parametrize("loss", [
    "binary_focal_crossentropy", nhanh.losses.BinaryFocalCrossentropy(from_logits=True),
])
def test_binary_focal_trains_in_fit(loss):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    act = None if isinstance(loss, nhanh.losses.Loss) else "sigmoid"
    _fit(loss, x, y, 1, act)


@pytest.mark.parametrize("loss", ["categorical_focal_crossentropy", "categorical_hinge",
                                  "dice", nhanh.losses.Tversky(alpha=0.7, beta=0.3)])
def test_one_hot_losses_train_in_fit(loss):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = np.eye(3, dtype="float32")[np.argmax(x, axis=1)]
    _fit(loss, x, y, 3, "softmax")


def test_generalized_crossentropy_trains_in_fit():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 3)).astype("float32")
    _fit(nhanh.losses.CategoricalGeneralizedCrossEntropy(q=0.7), x,
         np.argmax(x, axis=1).astype("int32"), 3, "softmax")


def test_circle_trains_in_fit():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 64)
    x = (np.eye(3)[labels] + 0.3 * rng.normal(size=(64, 3))).astype("float32")
    model = nhanh.Sequential([nhanh.Input((3,)), nhanh.layers.Dense(4),
                              nhanh.layers.UnitNormalization()])
    model.compile(optimizer=nhanh.optimizers.Adam(0.05), loss=nhanh.losses.Circle(gamma=10.0))
    before = float(_np(model.evaluate(x, labels, batch_size=64, verbose=0)))
    model.fit(x, labels, epochs=15, batch_size=64, verbose=0)
    after = float(_np(model.evaluate(x, labels, batch_size=64, verbose=0)))
    assert np.isfinite(after) and after < before


def test_ctc_trains_in_fit():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, 6, 4)).astype("float32")
    y = np.stack([np.argmax(x[:, :2, 1:], -1)[:, 0] + 1, np.argmax(x[:, 4:, 1:], -1)[:, 0] + 1,
                  np.zeros(32, int)], 1).astype("int32")
    model = nhanh.Sequential([nhanh.Input((6, 4)), nhanh.layers.Dense(8, activation="tanh"),
                              nhanh.layers.Dense(4)])
    model.compile(optimizer=nhanh.optimizers.Adam(0.05), loss="ctc")
    before = float(_np(model.evaluate(x, y, verbose=0)))
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < before


def test_generalized_crossentropy_takes_labels_with_a_trailing_axis():
    want = _np(nhanh.losses.CategoricalGeneralizedCrossEntropy()(D["labels"], D["probs"]))
    got = _np(nhanh.losses.CategoricalGeneralizedCrossEntropy()(D["labels"][:, None],
                                                                 D["probs"]))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_bad_arguments_say_what_to_fix():
    with pytest.raises(ValueError, match="`q` must be"):
        nhanh.losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match=r"\(batch, max_label_length\)"):
        nhanh.losses.ctc(np.ones((2,)), np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"\(batch, steps, classes\)"):
        nhanh.losses.ctc(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="`axis` must be an int"):
        nhanh.losses.binary_focal_crossentropy(D["bin_t"], D["bin_p"], axis=True)
    with pytest.raises(ValueError, match="class axis"):
        nhanh.losses.categorical_generalized_cross_entropy(D["hot"], D["probs"], q=0.5)
