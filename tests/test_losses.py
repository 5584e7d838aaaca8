"""Losses against NumPy closed forms and torch.nn.functional, every reduction with sample
weights, the (batch,) vs (batch, 1) pairing, gradients against central finite differences,
and name lookup / serialization."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nhanh
from nhanh import losses, ops

EPS = 1e-7
N, D = 5, 4


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def _t(x):
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _data(kind, rng, n=N, d=D):
    """(y_true, y_pred) in float32 for each kind of target, away from kinks and clips."""
    if kind == "real":
        yt = rng.normal(size=(n, d))
        yp = yt + rng.choice([-1, 1], size=(n, d)) * rng.uniform(0.1, 2.0, size=(n, d))
    elif kind == "positive":
        yt = rng.uniform(0.5, 3.0, size=(n, d))
        yp = rng.uniform(0.5, 3.0, size=(n, d))
    elif kind == "binary":
        yt = rng.integers(0, 2, size=(n, d)).astype(float)
        yp = rng.uniform(0.05, 0.95, size=(n, d))
    elif kind == "binary_logits":
        yt = rng.integers(0, 2, size=(n, d)).astype(float)
        yp = rng.normal(scale=2.0, size=(n, d))
    elif kind == "onehot":
        yt = np.eye(d)[rng.integers(0, d, size=n)]
        yp = _softmax(rng.normal(size=(n, d)))
    elif kind == "onehot_logits":
        yt = np.eye(d)[rng.integers(0, d, size=n)]
        yp = rng.normal(scale=2.0, size=(n, d))
    elif kind == "sparse":
        yt = rng.integers(0, d, size=n).astype(float)
        yp = _softmax(rng.normal(size=(n, d)))
    elif kind == "sparse_logits":
        yt = rng.integers(0, d, size=n).astype(float)
        yp = rng.normal(scale=2.0, size=(n, d))
    elif kind == "distribution":
        yt = _softmax(rng.normal(size=(n, d)))
        yp = _softmax(rng.normal(size=(n, d)))
    elif kind == "signed":
        yt = rng.choice([-1.0, 1.0], size=(n, d))
        yp = rng.choice([-1, 1], size=(n, d)) * rng.uniform(0.1, 0.8, size=(n, d)) + \
            rng.choice([0.0, 1.5], size=(n, d))
    else:
        raise AssertionError(kind)
    return yt.astype("float32"), yp.astype("float32")


def _huber_np(yt, yp, delta):
    e = np.abs(yp - yt)
    return np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2).mean(-1)


def _bce_np(yt, yp, ls=0.0, logits=False):
    yt = yt * (1 - ls) + 0.5 * ls
    if logits:
        return np.mean(yt * np.logaddexp(0, -yp) + (1 - yt) * np.logaddexp(0, yp), -1)
    p = np.clip(yp, EPS, 1 - EPS)
    return -np.mean(yt * np.log(p) + (1 - yt) * np.log(1 - p), -1)


def _hinge_labels(yt):
    return 2 * yt - 1 if np.all((yt == 0) | (yt == 1)) else yt


# name -> (Loss instance factory, data kind, per-sample reference (numpy or torch), float64)
CASES = {
    "mse": (lambda: losses.MeanSquaredError(), "real",
            lambda yt, yp: F.mse_loss(_t(yp), _t(yt), reduction="none").mean(-1).numpy()),
    "mae": (lambda: losses.MeanAbsoluteError(), "real",
            lambda yt, yp: F.l1_loss(_t(yp), _t(yt), reduction="none").mean(-1).numpy()),
    "mape": (lambda: losses.MeanAbsolutePercentageError(), "positive",
             lambda yt, yp: 100 * np.mean(np.abs((yt - yp) / yt), -1)),
    "msle": (lambda: losses.MeanSquaredLogarithmicError(), "positive",
             lambda yt, yp: np.mean((np.log1p(yp) - np.log1p(yt)) ** 2, -1)),
    "huber": (lambda: losses.Huber(), "real",
              lambda yt, yp: F.huber_loss(_t(yp), _t(yt), reduction="none", delta=1.0)
              .mean(-1).numpy()),
    "huber_0.5": (lambda: losses.Huber(delta=0.5), "real",
                  lambda yt, yp: _huber_np(yt, yp, 0.5)),
    "log_cosh": (lambda: losses.LogCosh(), "real",
                 lambda yt, yp: np.mean(np.log(np.cosh(yp - yt)), -1)),
    "bce": (lambda: losses.BinaryCrossentropy(), "binary",
            lambda yt, yp: F.binary_cross_entropy(_t(yp), _t(yt), reduction="none")
            .mean(-1).numpy()),
    "bce_logits": (lambda: losses.BinaryCrossentropy(from_logits=True), "binary_logits",
                   lambda yt, yp: F.binary_cross_entropy_with_logits(
                       _t(yp), _t(yt), reduction="none").mean(-1).numpy()),
    "bce_smooth": (lambda: losses.BinaryCrossentropy(label_smoothing=0.2), "binary",
                   lambda yt, yp: _bce_np(yt, yp, ls=0.2)),
    "bce_logits_smooth": (lambda: losses.BinaryCrossentropy(from_logits=True,
                                                            label_smoothing=0.1),
                          "binary_logits",
                          lambda yt, yp: F.binary_cross_entropy_with_logits(
                              _t(yp), _t(yt * 0.9 + 0.05), reduction="none").mean(-1).numpy()),
    "cce": (lambda: losses.CategoricalCrossentropy(), "onehot",
            lambda yt, yp: F.cross_entropy(torch.log(_t(yp)), _t(yt), reduction="none").numpy()),
    "cce_logits": (lambda: losses.CategoricalCrossentropy(from_logits=True), "onehot_logits",
                   lambda yt, yp: F.cross_entropy(_t(yp), _t(yt), reduction="none").numpy()),
    "cce_logits_smooth": (lambda: losses.CategoricalCrossentropy(from_logits=True,
                                                                 label_smoothing=0.2),
                          "onehot_logits",
                          lambda yt, yp: F.cross_entropy(_t(yp), _t(yt), label_smoothing=0.2,
                                                         reduction="none").numpy()),
    "cce_smooth": (lambda: losses.CategoricalCrossentropy(label_smoothing=0.1), "onehot",
                   lambda yt, yp: F.cross_entropy(torch.log(_t(yp)), _t(yt),
                                                  label_smoothing=0.1,
                                                  reduction="none").numpy()),
    "scce": (lambda: losses.SparseCategoricalCrossentropy(), "sparse",
             lambda yt, yp: F.nll_loss(torch.log(_t(yp)), _t(yt).long(),
                                       reduction="none").numpy()),
    "scce_logits": (lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
                    "sparse_logits",
                    lambda yt, yp: F.cross_entropy(_t(yp), _t(yt).long(),
                                                   reduction="none").numpy()),
    "kld": (lambda: losses.KLDivergence(), "distribution",
            lambda yt, yp: F.kl_div(torch.log(_t(yp)), _t(yt), reduction="none")
            .sum(-1).numpy()),
    "poisson": (lambda: losses.Poisson(), "positive",
                lambda yt, yp: F.poisson_nll_loss(_t(yp), _t(yt), log_input=False, eps=EPS,
                                                  reduction="none").mean(-1).numpy()),
    "cosine": (lambda: losses.CosineSimilarity(), "real",
               lambda yt, yp: -F.cosine_similarity(_t(yt), _t(yp), dim=-1).numpy()),
    "hinge": (lambda: losses.Hinge(), "signed",
              lambda yt, yp: np.mean(np.maximum(1 - yt * yp, 0), -1)),
    "hinge_01": (lambda: losses.Hinge(), "binary_logits",
                 lambda yt, yp: np.mean(np.maximum(1 - _hinge_labels(yt) * yp, 0), -1)),
    "squared_hinge": (lambda: losses.SquaredHinge(), "signed",
                      lambda yt, yp: np.mean(np.maximum(1 - yt * yp, 0) ** 2, -1)),
}

FUNCTIONS = {
    "mse": losses.mean_squared_error, "mae": losses.mean_absolute_error,
    "mape": losses.mean_absolute_percentage_error, "msle": losses.mean_squared_logarithmic_error,
    "huber": losses.huber, "log_cosh": losses.log_cosh, "bce": losses.binary_crossentropy,
    "cce": losses.categorical_crossentropy, "scce": losses.sparse_categorical_crossentropy,
    "kld": losses.kl_divergence, "poisson": losses.poisson, "cosine": losses.cosine_similarity,
    "hinge": losses.hinge, "squared_hinge": losses.squared_hinge,
}

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def _reduce_np(per_sample, weights, reduction):
    weighted = per_sample * weights
    if reduction in ("none", None):
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean_with_sample_weight":
        return weighted.sum() / weights.sum()
    return weighted.sum() / weighted.size  # sum_over_batch_size and mean (Keras: the same)


@pytest.mark.parametrize("name", list(CASES))
def test_per_sample_values_match_reference(name, np_rng):
    make, kind, reference = CASES[name]
    yt, yp = _data(kind, np_rng)
    loss = make()
    loss.reduction = "none"
    got = _np(loss(yt, yp))
    assert got.shape == (N,)
    np.testing.assert_allclose(got, reference(yt.astype(float), yp.astype(float)),
                               rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_match_their_class(name, np_rng):
    make, kind, reference = CASES[name]
    yt, yp = _data(kind, np_rng)
    got = _np(FUNCTIONS[name](yt, yp))
    np.testing.assert_allclose(got, reference(yt.astype(float), yp.astype(float)),
                               rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse", "bce_logits", "cce", "scce_logits", "huber", "cosine"])
def test_reductions_with_sample_weight(name, reduction, np_rng):
    make, kind, reference = CASES[name]
    yt, yp = _data(kind, np_rng)
    weights = np_rng.uniform(0.0, 2.0, size=N)
    per_sample = reference(yt.astype(float), yp.astype(float))
    loss = make()
    loss.reduction = reduction
    got = _np(loss(yt, yp, sample_weight=weights.astype("float32")))
    np.testing.assert_allclose(got, _reduce_np(per_sample, weights, reduction),
                               rtol=2e-5, atol=2e-6)
    unweighted = _np(loss(yt, yp))
    np.testing.assert_allclose(unweighted, _reduce_np(per_sample, np.ones(N), reduction),
                               rtol=2e-5, atol=2e-6)


def test_default_reduction_is_mean_over_batch_and_keras_names():
    loss = losses.MeanSquaredError()
    assert loss.reduction == "sum_over_batch_size" and loss.name == "mean_squared_error"
    assert losses.Huber().name == "huber_loss"
    assert losses.LogCosh().name == "log_cosh"
    value = _np(loss([[0.0, 1.0], [2.0, 3.0]], [[1.0, 1.0], [2.0, 1.0]]))
    np.testing.assert_allclose(value, (0.5 + 2.0) / 2)


def test_per_entry_sample_weight_for_sequences(np_rng):
    """A (batch,) weight scales every step of that sample's per-step losses."""
    yt = np_rng.normal(size=(3, 4, 2)).astype("float32")
    yp = np_rng.normal(size=(3, 4, 2)).astype("float32")
    w = np.array([1.0, 0.0, 3.0], dtype="float32")
    per_step = ((yt - yp) ** 2).mean(-1)
    got = _np(losses.MeanSquaredError(reduction="sum")(yt, yp, sample_weight=w))
    np.testing.assert_allclose(got, (per_step * w[:, None]).sum(), rtol=1e-5)


def test_reduction_is_validated():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")
    assert losses.MeanSquaredError(reduction="auto").reduction == "sum_over_batch_size"


# --- shape pairing ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", [losses.MeanSquaredError, losses.MeanAbsoluteError,
                                  losses.BinaryCrossentropy, losses.Hinge, losses.Huber,
                                  losses.LogCosh, losses.Poisson])
def test_batch_labels_against_batch_by_one_predictions(make, np_rng):
    y = np_rng.integers(0, 2, size=8).astype("float32")
    p = np_rng.uniform(0.1, 0.9, size=(8, 1)).astype("float32")
    loss = make(reduction="none")
    expected = _np(loss(y[:, None], p))  # same shapes: no pairing involved
    for yt, yp in ((y, p), (y[:, None], p[:, 0])):
        got = _np(loss(yt, yp))
        assert got.shape == (8,), f"{make.__name__}: got shape {got.shape}"
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    scalar = _np(make()(y, p))
    np.testing.assert_allclose(scalar, expected.mean(), rtol=1e-6)


def test_mse_of_broadcast_shapes_would_differ(np_rng):
    """Guard: the broadcast (batch, batch) result really is different, so the test above
    can catch it."""
    y = np.array([0.0, 1.0, 2.0], dtype="float32")
    p = np.array([[0.0], [1.0], [2.0]], dtype="float32")
    assert _np(losses.MeanSquaredError()(y, p)) == 0.0
    assert ((y[None, :] - p) ** 2).mean() > 0


def test_pair_shapes():
    a, b = losses.pair_shapes(np.zeros(4), np.zeros((4, 1)))
    assert ops.shape(a) == (4, 1) and ops.shape(b) == (4, 1)
    a, b = losses.pair_shapes(np.zeros((4, 1)), np.zeros(4))
    assert ops.shape(a) == (4, 1) and ops.shape(b) == (4, 1)
    a, b = losses.pair_shapes(np.zeros((4, 3)), np.zeros((4, 3, 1)))
    assert ops.shape(a) == (4, 3) and ops.shape(b) == (4, 3)
    a, b = losses.pair_shapes(np.zeros((4, 3)), np.zeros((4, 3)))
    assert ops.shape(a) == (4, 3) and ops.shape(b) == (4, 3)
    a, b = losses.pair_shapes(np.zeros(4), np.zeros((4, 3)))  # sparse-style: left alone
    assert ops.shape(a) == (4,) and ops.shape(b) == (4, 3)


@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_sparse_labels_flat_or_column(label_shape, np_rng):
    yt, yp = _data("sparse_logits", np_rng)
    labels = yt if label_shape == "flat" else yt[:, None]
    got = _np(losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")(
        labels.astype("int32"), yp))
    np.testing.assert_allclose(got, F.cross_entropy(_t(yp), _t(yt).long(),
                                                    reduction="none").numpy(), rtol=1e-5)


def test_sparse_labels_of_the_wrong_shape_raise(np_rng):
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        losses.sparse_categorical_crossentropy(np.zeros((4, 3)), np.ones((4, 3)) / 3)


def test_sparse_ignore_class_matches_torch_ignore_index(np_rng):
    labels = np.array([0, 2, 1, 2, 3, 2], dtype="int32")
    logits = np_rng.normal(size=(6, 4)).astype("float32")
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    expected = F.cross_entropy(_t(logits), torch.as_tensor(labels).long(), ignore_index=2)
    np.testing.assert_allclose(_np(loss(labels, logits)), expected.item(), rtol=1e-5)
    per_sample = _np(losses.sparse_categorical_crossentropy(labels, logits, from_logits=True,
                                                            ignore_class=2))
    assert np.all(per_sample[labels == 2] == 0) and np.all(per_sample[labels != 2] > 0)


def test_crossentropy_axis(np_rng):
    yt, yp = _data("onehot_logits", np_rng)
    got = _np(losses.categorical_crossentropy(yt.T, yp.T, from_logits=True, axis=0))
    np.testing.assert_allclose(got, F.cross_entropy(_t(yp), _t(yt), reduction="none").numpy(),
                               rtol=1e-5)
    labels = np.argmax(yt, -1)
    got = _np(losses.sparse_categorical_crossentropy(labels, yp.T, from_logits=True, axis=0))
    np.testing.assert_allclose(got, F.cross_entropy(_t(yp), _t(labels).long(),
                                                    reduction="none").numpy(), rtol=1e-5)


def test_probabilities_are_clipped_not_infinite():
    got = _np(losses.binary_crossentropy([[1.0, 0.0]], [[0.0, 1.0]]))
    assert np.all(np.isfinite(got)) and got[0] > 10
    got = _np(losses.categorical_crossentropy([[1.0, 0.0]], [[0.0, 1.0]]))
    np.testing.assert_allclose(got, [-np.log(EPS)], rtol=1e-3)


# --- gradients -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CASES))
def test_gradient_matches_central_differences(name, np_rng):
    make, kind, _ = CASES[name]
    yt, yp = _data(kind, np_rng, n=3, d=4)
    loss = make()
    loss.reduction = "sum"
    bk = nhanh.backend.get()
    value, (grad,) = bk.value_and_grad(lambda params: loss(yt, params[0]))(
        [ops.convert_to_tensor(yp)])
    grad = _np(grad)
    h = 1e-3
    numeric = np.zeros_like(yp, dtype=np.float64)
    for idx in np.ndindex(yp.shape):
        plus, minus = yp.copy(), yp.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (float(_np(loss(yt, plus))) - float(_np(loss(yt, minus)))) / (2 * h)
    assert np.any(np.abs(numeric) > 1e-2), "degenerate test data"
    np.testing.assert_allclose(grad, numeric, rtol=1e-2, atol=3e-3)
    np.testing.assert_allclose(_np(value), _np(loss(yt, yp)), rtol=1e-6)


# --- lookup and serialization ----------------------------------------------------------------

def test_get_names_aliases_and_classes():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("MSE") is losses.mean_squared_error
    assert losses.get("mean_absolute_error") is losses.mean_absolute_error
    assert losses.get("bce") is losses.binary_crossentropy
    assert losses.get("kld") is losses.kl_divergence
    assert losses.get("kullback_leibler_divergence") is losses.kl_divergence
    assert losses.get("logcosh") is losses.log_cosh
    assert isinstance(losses.get("MeanSquaredError"), losses.MeanSquaredError)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    instance = losses.BinaryCrossentropy(from_logits=True)
    assert losses.get(instance) is instance
    assert losses.get(None) is None
    custom = lambda yt, yp: ops.mean(yp - yt, axis=-1)  # noqa: E731
    assert losses.get(custom) is custom


def test_unknown_name_raises_with_close_match():
    with pytest.raises(ValueError, match="mean_squared_error"):
        losses.get("mean_sqared_error")
    with pytest.raises(ValueError, match="binary_crossentropy"):
        losses.get("binary_crosentropy")
    with pytest.raises(ValueError):
        losses.get(42)


@pytest.mark.parametrize("name", ["bce_logits_smooth", "cce_logits_smooth", "huber_0.5",
                                  "scce_logits", "cosine"])
def test_config_round_trip(name, np_rng):
    make, kind, _ = CASES[name]
    yt, yp = _data(kind, np_rng)
    loss = make()
    loss.reduction = "sum"
    config = losses.serialize(loss)
    restored = losses.get(config)
    assert type(restored) is type(loss) and restored.get_config() == loss.get_config()
    np.testing.assert_allclose(_np(restored(yt, yp)), _np(loss(yt, yp)), rtol=1e-6)


def test_function_wrapper_round_trip(np_rng):
    yt, yp = _data("real", np_rng)
    wrapped = losses.LossFunctionWrapper(losses.huber, delta=0.3, reduction="sum")
    assert wrapped.name == "huber"
    config = wrapped.get_config()
    assert config["fn"] == "huber" and config["delta"] == 0.3
    restored = losses.LossFunctionWrapper.from_config(config)
    np.testing.assert_allclose(_np(restored(yt, yp)), _huber_np(yt, yp, 0.3).sum(), rtol=1e-5)
    assert losses.serialize(losses.poisson) == "poisson"
    assert losses.deserialize("poisson") is losses.poisson


def test_custom_loss_subclass(np_rng):
    class Cubed(losses.Loss):
        def call(self, y_true, y_pred):
            return ops.mean(ops.abs(y_pred - y_true) ** 3, axis=-1)

    yt, yp = _data("real", np_rng)
    loss = Cubed()
    assert loss.name == "cubed"
    np.testing.assert_allclose(_np(loss(yt, yp)), np.mean(np.abs(yp - yt) ** 3), rtol=1e-5)


# --- targets that cannot meet the predictions: a clear ValueError, where Keras fails too ----

def _targets(shape, kind, rng):
    if kind == "int":
        return rng.integers(0, 3, size=shape).astype("int32")
    if kind == "binary":
        return rng.integers(0, 2, size=shape).astype("float32")
    return rng.uniform(0.1, 1.0, size=shape).astype("float32")


# (loss, targets' shape, their kind, units of the model's output, what the message must say)
BAD_TARGETS = [
    ("categorical_crossentropy", (32,), "int", 3,
     r"categorical_crossentropy expects one-hot targets of shape \(batch, 3\) matching the "
     r"predictions, but got targets of shape \(32,\).*integer class labels: use "
     r"loss='sparse_categorical_crossentropy', or one-hot encode them with "
     r"nhanh\.utils\.to_categorical"),
    ("categorical_crossentropy", (32, 1), "int", 3,
     r"targets of shape \(32, 1\).*sparse_categorical_crossentropy.*to_categorical"),
    ("categorical_crossentropy", (32, 2), "binary", 3,
     r"targets have 2 classes and the model predicts 3: give the last layer 2 units"),
    ("binary_crossentropy", (32, 3), "binary", 1,
     r"binary_crossentropy expects targets with the shape of the predictions \(32, 1\).*"
     r"got targets of shape \(32, 3\).*Dense\(3, activation='softmax'\).*"
     r"categorical_crossentropy"),
    ("binary_crossentropy", (32, 1), "int", 3,
     r"shape \(32, 1\).*integer class labels, use loss='sparse_categorical_crossentropy'"),
    ("binary_crossentropy", (32,), "int", 3, r"shape \(32,\).*sparse_categorical"),
    ("sparse_categorical_crossentropy", (32, 3), "binary", 3,
     r"sparse_categorical_crossentropy expects integer class labels of shape \(32,\).*"
     r"got targets of shape \(32, 3\).*one-hot targets: use loss='categorical_crossentropy'"),
    ("sparse_categorical_crossentropy", (32, 2), "int", 3, r"one class index per sample"),
    ("mse", (32, 2), "real", 3,
     r"mean_squared_error: targets of shape \(32, 2\) do not fit predictions of shape "
     r"\(32, 3\).*Give the last layer 2 units"),
    ("mse", (32,), "real", 3, r"one value per sample: give the last layer 1 unit"),
    ("mae", (32, 2), "real", 3, r"mean_absolute_error: targets of shape \(32, 2\)"),
    ("huber", (32, 2), "real", 3, r"huber: targets"),
    ("hinge", (32, 2), "binary", 3, r"hinge: targets of shape \(32, 2\)"),
    ("squared_hinge", (32, 2), "binary", 3, r"squared_hinge: targets"),
    ("kl_divergence", (32, 2), "real", 3, r"kl_divergence: targets"),
    ("poisson", (32, 2), "real", 3, r"poisson: targets"),
    ("cosine_similarity", (32, 2), "real", 3, r"cosine_similarity: targets"),
    ("log_cosh", (32, 2), "real", 3, r"log_cosh: targets"),
    ("mape", (32, 2), "real", 3, r"mean_absolute_percentage_error: targets"),
    ("msle", (32, 2), "real", 3, r"mean_squared_logarithmic_error: targets"),
]
# Shapes Keras accepts (after its (batch,) / (batch, 1) pairing and broadcasting): no error.
GOOD_TARGETS = [
    ("categorical_crossentropy", (32, 1), "binary", 1),
    ("binary_crossentropy", (32,), "binary", 1),
    ("sparse_categorical_crossentropy", (32, 1), "int", 3),
    ("sparse_categorical_crossentropy", (32,), "int", 3),
    ("mse", (32, 3), "real", 1),
    ("mse", (32, 1), "real", 3),
    ("mse", (32,), "real", 1),
    ("hinge", (32, 3), "binary", 1),
]


def _classifier(units):
    model = nhanh.Sequential([nhanh.Input((2,)), nhanh.layers.Dense(units,
                                                                   activation="softmax")])
    return model


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("loss, shape, kind, units, message", BAD_TARGETS)
def test_targets_that_do_not_fit_raise_a_clear_error_from_fit(loss, shape, kind, units,
                                                              message, jit, np_rng):
    """From fit, on every engine and also in a compiled step: a ValueError saying what to
    change, not the engine's broadcasting error; the weights stay as they were."""
    model = _classifier(units)
    model.compile(loss=loss, optimizer="sgd", jit_compile=jit)
    before = model.get_weights()
    x = np_rng.normal(size=(64, 2)).astype("float32")
    with pytest.raises(ValueError, match=message):
        model.fit(x, _targets((64,) + shape[1:], kind, np_rng), batch_size=32, verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("loss, shape, kind, units", GOOD_TARGETS)
def test_targets_keras_accepts_still_train(loss, shape, kind, units, np_rng):
    model = _classifier(units)
    model.compile(loss=loss, optimizer="sgd")
    x = np_rng.normal(size=(64, 2)).astype("float32")
    history = model.fit(x, _targets((64,) + shape[1:], kind, np_rng), batch_size=32,
                        verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.fixture(scope="module")
def keras_losses():
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras").losses


@pytest.mark.engine_independent
def test_keras_rejects_what_nhanh_rejects_and_accepts_the_rest(keras_losses, np_rng):
    """The reference: every rejected pairing fails in Keras 3 too, every accepted one works
    there, so nhanh's checks only turn Keras's failures into readable ones. Both sides go
    through the loss wrapper that compile() uses, which pairs (batch,) with (batch, 1)."""
    from keras.src.losses.losses import LossFunctionWrapper

    def keras_loss(name):
        return LossFunctionWrapper(keras_losses.get(name), reduction=None)

    for loss, shape, kind, units, _ in BAD_TARGETS:
        y, p = _targets(shape, kind, np_rng), np_rng.uniform(0.1, 0.9, (32, units))
        with pytest.raises((ValueError, TypeError)):
            keras_loss(loss)(y, p.astype("float32"))
    for loss, shape, kind, units in GOOD_TARGETS:
        y, p = _targets(shape, kind, np_rng), np_rng.uniform(0.1, 0.9, (32, units))
        want = np.asarray(keras_loss(loss)(y, p.astype("float32")))
        got = _np(losses.LossFunctionWrapper(losses.get(loss), reduction=None)(
            y, p.astype("float32")))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
