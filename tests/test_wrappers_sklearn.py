"""nhanh.wrappers' scikit-learn estimators, against scikit-learn's own checks and real Keras 3.

The same model function builds the model on nhanh and on Keras (`L` is either library), and
records the targets each wrapper passes to `Model.fit`, so the comparison covers what the
model sees, not only what the user gets back. Keras's side does not depend on nhanh's engine
and is computed once per session. Models compile with run_eagerly=True: the wrapper does not
care how a step runs, and eager tiny steps skip a compile per fit.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported

import nhanh  # noqa: E402
from nhanh.wrappers.sklearn_wrapper import (SKLearnClassifier, SKLearnRegressor,  # noqa: E402
                                            SKLearnTransformer)

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

QUIET = {"epochs": 2, "verbose": 0, "batch_size": 8}


def build(X, y, L=nhanh, loss="categorical_crossentropy", activation="softmax",
          units=None, record=None):
    """An MLP sized from X and the encoded y; `record` collects the targets fit receives."""
    units = units or (y.shape[1] if y.ndim > 1 else 1)
    model = L.Sequential([L.Input((X.shape[1],)), L.layers.Dense(8, activation="tanh"),
                          L.layers.Dense(units, activation=activation)])
    model.compile(loss=loss, optimizer="adam", run_eagerly=True)
    if record is not None:
        fit = model.fit

        def recording_fit(x, targets, **kwargs):
            record.append(np.asarray(targets))
            return fit(x, targets, **kwargs)

        model.fit = recording_fit
    return model


def data(kind: str, n: int = 24):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 4)).astype("float32")
    labels = {"binary": np.arange(n) % 2,
              "multiclass": np.arange(n) % 3,
              "strings": np.array(["cat", "ant", "bee"])[np.arange(n) % 3],
              "continuous": X @ np.array([1.0, -1.0, 0.5, 2.0]),
              "one_class": np.zeros(n, int),
              "multilabel": np.eye(3, dtype=int)[np.arange(n) % 3],
              "3d": rng.normal(size=(n, 2, 2))}
    return X, labels[kind]


@functools.cache
def keras_wrappers():
    import keras
    import keras.wrappers

    return keras, keras.wrappers


def run_wrapper(lib: str, cls_name: str, kind: str, **model_kwargs):
    """Fit the named wrapper of nhanh or Keras; what a user sees, and the fit targets."""
    if lib == "keras":
        keras, wrappers = keras_wrappers()
        L, cls = keras, getattr(wrappers, cls_name)
    else:
        L, cls = nhanh, {"SKLearnClassifier": SKLearnClassifier,
                         "SKLearnRegressor": SKLearnRegressor,
                         "SKLearnTransformer": SKLearnTransformer}[cls_name]
    X, y = data(kind)
    record: list = []
    est = cls(build, model_kwargs={"L": L, "record": record, **model_kwargs},
              fit_kwargs=dict(QUIET))
    est.fit(X, y)
    out = {"targets": record[0], "n_features_in_": est.n_features_in_}
    if cls_name == "SKLearnTransformer":
        out["transform"] = est.transform(X)
    else:
        out["predict"] = est.predict(X)
    if cls_name == "SKLearnClassifier":
        out["classes_"] = est.classes_
        out["decision_function"] = est.decision_function(X)
    return out


@functools.cache
def keras_run(cls_name: str, kind: str, **model_kwargs):
    return run_wrapper("keras", cls_name, kind, **model_kwargs)


# --- the same programs as Keras 3 -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["binary", "multiclass", "strings"])
def test_classifier_matches_keras(kind):
    ours, theirs = run_wrapper("nhanh", "SKLearnClassifier", kind), \
        keras_run("SKLearnClassifier", kind)
    _, y = data(kind)
    np.testing.assert_array_equal(ours["classes_"], theirs["classes_"])
    np.testing.assert_array_equal(ours["classes_"], np.unique(y))
    # One-hot targets, columns in classes_ order, exactly as Keras passes them.
    np.testing.assert_array_equal(ours["targets"], theirs["targets"])
    assert ours["targets"].shape == (len(y), len(np.unique(y)))
    assert ours["predict"].shape == theirs["predict"].shape == y.shape
    assert ours["predict"].dtype == theirs["predict"].dtype
    assert set(ours["predict"]) <= set(np.unique(y))  # labels round-trip, strings included
    assert ours["decision_function"].shape == theirs["decision_function"].shape
    # predict is the label of decision_function's largest column.
    np.testing.assert_array_equal(
        ours["predict"], ours["classes_"][ours["decision_function"].argmax(axis=1)])


def test_regressor_and_transformer_match_keras():
    for cls_name, key in [("SKLearnRegressor", "predict"), ("SKLearnTransformer", "transform")]:
        ours = run_wrapper("nhanh", cls_name, "continuous", loss="mse", activation=None)
        theirs = keras_run(cls_name, "continuous", loss="mse", activation=None)
        np.testing.assert_allclose(ours["targets"], theirs["targets"], rtol=1e-6)
        assert ours["targets"].shape == (24, 1)
        assert ours[key].shape == theirs[key].shape, cls_name
        assert ours["n_features_in_"] == theirs["n_features_in_"] == 4


@pytest.mark.parametrize("cls_name,kind,error", [
    ("SKLearnClassifier", "continuous", ValueError),
    ("SKLearnClassifier", "one_class", ValueError),
    ("SKLearnClassifier", "multilabel", ValueError),
    ("SKLearnRegressor", "3d", ValueError),
])
def test_bad_targets_fail_as_in_keras(cls_name, kind, error):
    with pytest.raises(error):
        keras_run(cls_name, kind)
    X, y = data(kind)
    cls = {"SKLearnClassifier": SKLearnClassifier, "SKLearnRegressor": SKLearnRegressor}[cls_name]
    est = cls(build, fit_kwargs=dict(QUIET))
    with pytest.raises(error) as info:
        est.fit(X, y)
    message = str(info.value)
    assert {"continuous": "SKLearnRegressor", "one_class": "at least 2 classes",
            "multilabel": "y.argmax(axis=1)", "3d": "shape (24, 2, 2)"}[kind] in message
    assert not hasattr(est, "classes_") and not hasattr(est, "model_")  # nothing half-set


def test_uncompiled_model_fails_as_in_keras():
    keras, wrappers = keras_wrappers()
    X, y = data("binary")

    def uncompiled(X, y, L):
        return L.Sequential([L.Input((4,)), L.layers.Dense(2, activation="softmax")])

    with pytest.raises(RuntimeError):
        wrappers.SKLearnClassifier(uncompiled, model_kwargs={"L": keras}).fit(X, y)
    with pytest.raises(RuntimeError, match="model.compile"):
        SKLearnClassifier(uncompiled, model_kwargs={"L": nhanh}).fit(X, y)
    with pytest.raises(TypeError, match="model=.*compiled nhanh Model or a function"):
        SKLearnClassifier("not a model").fit(X, y)


# --- scikit-learn's own expectations ---------------------------------------------------------

def test_sklearn_estimator_checks_that_apply():
    from sklearn.utils import estimator_checks as checks

    for est in (SKLearnClassifier(build, fit_kwargs=dict(QUIET)),
                SKLearnRegressor(build, model_kwargs={"loss": "mse", "activation": None}),
                SKLearnTransformer(build, model_kwargs={"loss": "mse", "activation": None})):
        name = type(est).__name__
        checks.check_no_attributes_set_in_init(name, est)
        checks.check_get_params_invariance(name, est)
        checks.check_set_params(name, est)
        checks.check_estimators_unfitted(name, est)
        checks.check_requires_y_none(name, est)  # y=None fails with scikit-learn's message
        assert sklearn.utils.get_tags(est).non_deterministic
        assert set(est.get_params()) == {"model", "warm_start", "model_kwargs", "fit_kwargs"}
    assert sklearn.base.is_classifier(SKLearnClassifier(build))
    assert sklearn.base.is_regressor(SKLearnRegressor(build))
    with pytest.raises(NotFittedError):
        SKLearnTransformer(build).transform(np.zeros((2, 4)))


def test_clone_keeps_parameters_and_copies_a_model():
    model = build(*data("binary")[:1], np.zeros((1, 2)))
    weights = model.get_weights()
    est = SKLearnClassifier(model, warm_start=True, fit_kwargs=dict(QUIET))
    twin = clone(est)
    assert twin.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    assert twin.fit_kwargs == QUIET and twin.warm_start is True
    assert twin.model is not model and twin.model.compiled
    for a, b in zip(twin.model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    twin.fit(*data("binary"))  # warm_start trains the clone's own model, not the original
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert twin.model_ is twin.model


def test_model_instance_is_copied_without_warm_start():
    X, y = data("multiclass")
    model = build(X, np.zeros((1, 3)))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", run_eagerly=True,
                  metrics=["accuracy"], weighted_metrics=[nhanh.metrics.MeanSquaredError()])
    weights = model.get_weights()
    est = SKLearnClassifier(model, fit_kwargs=dict(QUIET)).fit(X, y)
    assert est.model_ is not model
    # The copy is compiled as the original: its optimizer's class and its metrics.
    assert type(est.model_.optimizer) is type(model.optimizer)
    assert est.model_.optimizer is not model.optimizer
    assert set(est.history_) == {"loss", "accuracy", "mean_squared_error"}
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert est.predict(X).shape == (24,)


def test_warm_start_continues_training():
    X, y = data("binary")
    cold = SKLearnClassifier(build, fit_kwargs=dict(QUIET))
    first = cold.fit(X, y).model_
    assert cold.fit(X, y).model_ is not first and cold.epoch_ == 2
    warm = SKLearnClassifier(build, warm_start=True, fit_kwargs=dict(QUIET))
    first = warm.fit(X, y).model_
    assert warm.fit(X, y, epochs=1).model_ is first  # fit's kwargs beat fit_kwargs
    assert warm.epoch_ == 3 and len(warm.history_["loss"]) == 1
    with pytest.raises(ValueError, match="new classes \\[7\\]"):
        warm.fit(X, np.where(y == 1, 7, 0))


def test_iris_pipeline_cross_val_score():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def iris_build(X, y):
        model = nhanh.Sequential([nhanh.Input((X.shape[1],)),
                                  nhanh.layers.Dense(16, activation="relu"),
                                  nhanh.layers.Dense(y.shape[1], activation="softmax")])
        # 120 small steps: fastest as PyTorch's eager steps, and as JAX's compiled ones.
        model.compile(loss="categorical_crossentropy", optimizer=nhanh.optimizers.Adam(0.05),
                      run_eagerly=nhanh.config.backend() == "torch")
        return model

    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), SKLearnClassifier(
        iris_build, fit_kwargs={"epochs": 10, "verbose": 0, "batch_size": 32}))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() >= 0.85, scores


# --- targets that follow the model's loss (nhanh's choice; Keras passes one-hot only) --------

def test_sparse_loss_gets_class_indices():
    X, y = data("strings")
    record: list = []
    est = SKLearnClassifier(build, model_kwargs={
        "loss": "sparse_categorical_crossentropy", "record": record},
        fit_kwargs=dict(QUIET)).fit(X, y)
    np.testing.assert_array_equal(record[0], np.searchsorted(np.unique(y), y))
    assert est.predict(X).dtype == y.dtype and est.score(X, y) >= 0  # labels come back


@pytest.mark.parametrize("from_logits", [False, True])
def test_one_sigmoid_unit_for_two_classes(from_logits):
    X, y = data("binary")
    labels = np.array(["no", "yes"])[y]
    record: list = []
    loss = nhanh.losses.BinaryCrossentropy(from_logits=from_logits)
    est = SKLearnClassifier(build, model_kwargs={
        "loss": loss, "activation": None if from_logits else "sigmoid", "units": 1,
        "record": record}, fit_kwargs=dict(QUIET)).fit(X, labels)
    np.testing.assert_array_equal(record[0], y[:, None])
    raw = est.decision_function(X)[:, 0]
    cut = 0.0 if from_logits else 0.5
    np.testing.assert_array_equal(est.predict(X), np.where(raw > cut, "yes", "no"))


def test_output_size_mismatch_is_explained():
    X, y = data("multiclass")
    est = SKLearnClassifier(build, model_kwargs={"units": 2}, fit_kwargs=dict(QUIET))
    with pytest.raises(ValueError, match="2 unit\\(s\\), but y has 3 classes"):
        est.fit(X, y)


def test_regressor_two_outputs():
    X, _ = data("continuous")
    Y = np.stack([X[:, 0], X[:, 1] - X[:, 2]], axis=1)
    est = SKLearnRegressor(build, model_kwargs={"loss": "mse", "activation": None},
                           fit_kwargs=dict(QUIET)).fit(X, Y)
    assert est.predict(X).shape == (24, 2)
    with pytest.raises(ValueError, match="numeric targets"):
        SKLearnRegressor(build).fit(X, np.array(["a", "b"] * 12))


# --- without scikit-learn --------------------------------------------------------------------

@pytest.mark.engine_independent
def test_import_without_sklearn_and_missing_names():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import nhanh.wrappers as w\n"
            "try:\n    w.SKLearnRegressor(model=None)\n"
            "except ImportError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "SKLearnRegressor" in done.stdout and "pip install scikit-learn" in done.stdout
    import nhanh.wrappers

    assert nhanh.wrappers.SKLearnClassifier is SKLearnClassifier
    with pytest.raises(AttributeError, match="Did you mean"):
        nhanh.wrappers.SKLearnClassifer  # noqa: B018
