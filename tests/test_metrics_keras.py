"""The confusion-matrix, F-score, IoU, R2 and correlation metrics against real Keras 3.

Each metric sees the same random batches as its Keras twin (with and without sample
weights, over several update_state calls), and must give Keras's value; reset_state and
a get_config round trip must give it again; and inside `fit`/`evaluate` the logged value
must equal Keras's metric computed on the model's own predictions.
"""

import os
import re

import numpy as np
import pytest

import nhanh
from nhanh import metrics

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(7)
N, C = 8, 3


def _batches(kind: str, count: int = 3):
    """`count` (y_true, y_pred, sample_weight) batches of one input kind."""
    out = []
    for _ in range(count):
        w = RNG.random(N).astype("float32")
        if kind == "binary":  # multi-label 0/1 targets and probabilities
            y = RNG.integers(0, 2, (N, C)).astype("float32")
            p = RNG.random((N, C)).astype("float32")
        elif kind == "column":  # one sigmoid unit, labels (batch,)
            y = RNG.integers(0, 2, (N,)).astype("float32")
            p = RNG.random((N, 1)).astype("float32")
        elif kind == "logits":
            y = RNG.integers(0, 2, (N, C)).astype("float32")
            p = RNG.normal(size=(N, C)).astype("float32") * 2
        elif kind == "wide":  # scores outside [0, 1]: clipped only where Keras clips
            y = RNG.integers(0, 2, (N, C)).astype("float32")
            p = RNG.uniform(-0.5, 1.5, (N, C)).astype("float32")
        elif kind == "onehot":
            y = np.eye(C, dtype="float32")[RNG.integers(0, C, N)]
            p = RNG.random((N, C)).astype("float32")
        elif kind == "regression":
            y = RNG.normal(size=(N, C)).astype("float32")
            p = (y + 0.5 * RNG.normal(size=(N, C))).astype("float32")
        elif kind == "sparse":  # IoU: class ids, whole-number weights (the matrix is int)
            y = RNG.integers(0, 4, (N,))
            p = RNG.integers(0, 4, (N,))
            w = RNG.integers(0, 3, N).astype("float32")
        elif kind == "sparse_scores":
            y = RNG.integers(0, 4, (N,))
            p = RNG.random((N, 4)).astype("float32")
            w = RNG.integers(0, 3, N).astype("float32")
        elif kind == "onehot4":
            y = np.eye(4, dtype="float32")[RNG.integers(0, 4, N)]
            p = RNG.random((N, 4)).astype("float32")
            w = RNG.integers(0, 3, N).astype("float32")
        else:  # "binary_iou": one score per sample
            y = RNG.integers(0, 2, (N,)).astype("float32")
            p = RNG.random((N,)).astype("float32")
            w = RNG.integers(0, 3, N).astype("float32")
        out.append((y, p, w))
    return out


CASES = [
    ("AUC", {}, "binary"),
    ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"curve": "PR", "summation_method": "majoring", "num_thresholds": 11}, "binary"),
    ("AUC", {"curve": "PRGAIN", "summation_method": "minoring"}, "binary"),
    ("AUC", {"multi_label": True}, "binary"),
    ("AUC", {"multi_label": True, "num_labels": C, "label_weights": [1.0, 2.0, 0.5],
             "curve": "PR"}, "binary"),
    ("AUC", {"label_weights": [1.0, 2.0, 0.5], "num_thresholds": 7}, "binary"),
    ("AUC", {"thresholds": [0.2, 0.45, 0.9]}, "wide"),
    ("AUC", {}, "wide"),
    ("AUC", {"from_logits": True}, "logits"),
    ("AUC", {}, "column"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, "binary"),
    ("Precision", {"top_k": 2}, "binary"),
    ("Precision", {"top_k": 1, "class_id": 2}, "binary"),
    ("Recall", {"thresholds": 0.3}, "column"),
    ("Recall", {"class_id": 1}, "binary"),
    ("Recall", {"thresholds": [0.0, 0.5, 1.0]}, "wide"),
    ("TruePositives", {}, "binary"),
    ("TrueNegatives", {"thresholds": [0.25, 0.75]}, "binary"),
    ("FalsePositives", {"thresholds": [0.0, 0.5, 1.0]}, "wide"),
    ("FalseNegatives", {}, "column"),
    ("PrecisionAtRecall", {"recall": 0.6}, "binary"),
    ("RecallAtPrecision", {"precision": 0.6, "num_thresholds": 20}, "binary"),
    ("SensitivityAtSpecificity", {"specificity": 0.5, "class_id": 0}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.4, "num_thresholds": 1}, "binary"),
    ("F1Score", {}, "onehot"),
    ("F1Score", {"average": "macro", "threshold": 0.5}, "binary"),
    ("F1Score", {"average": "weighted"}, "onehot"),
    ("FBetaScore", {"average": "micro", "beta": 2.0, "threshold": 0.4}, "binary"),
    ("R2Score", {}, "regression"),
    ("R2Score", {"class_aggregation": None}, "regression"),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2},
     "regression"),
    ("PearsonCorrelation", {}, "regression"),
    ("ConcordanceCorrelation", {}, "regression"),
    ("IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, "sparse"),
    ("MeanIoU", {"num_classes": 4, "ignore_class": 1}, "sparse"),
    ("MeanIoU", {"num_classes": 4, "sparse_y_pred": False}, "sparse_scores"),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, "binary_iou"),
    ("OneHotIoU", {"num_classes": 4, "target_class_ids": [1, 3]}, "onehot4"),
    ("OneHotMeanIoU", {"num_classes": 4}, "onehot4"),
]


def _np(x):
    return np.asarray(nhanh.ops.convert_to_numpy(x))


def _ids(case):
    name, kwargs, kind = case
    return f"{name}-{kind}-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def _without_name(config):
    """The config without its name (Keras uniquifies names), arrays as plain lists."""
    return {k: np.asarray(v).tolist() if hasattr(v, "shape") else v
            for k, v in config.items() if k != "name"}


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_values_equal_keras(case):
    name, kwargs, kind = case
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    weighted = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    for y, p, w in _batches(kind):
        ours.update_state(y, p)
        theirs.update_state(y, p)
        weighted[0].update_state(y, p, sample_weight=w)
        weighted[1].update_state(y, p, sample_weight=w)
    expected = np.asarray(theirs.result())
    np.testing.assert_allclose(_np(ours.result()), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(weighted[0].result()), np.asarray(weighted[1].result()),
                               rtol=1e-5, atol=1e-6)
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)  # Keras numbers repeated names

    # reset_state, then the same batches again, gives the same value
    ours.reset_state()
    theirs.reset_state()
    y, p, _ = _batches(kind, 1)[0]
    ours.update_state(y, p)
    theirs.update_state(y, p)
    np.testing.assert_allclose(_np(ours.result()), np.asarray(theirs.result()), rtol=1e-5,
                               atol=1e-6)

    # config: Keras's keys and values, and a round trip that measures the same
    config = ours.get_config()
    assert _without_name(config) == _without_name(theirs.get_config())
    clone = metrics.deserialize(metrics.serialize(ours))
    assert type(clone) is type(ours) and clone.get_config() == config
    clone.update_state(y, p)
    np.testing.assert_allclose(_np(clone.result()), _np(ours.result()), rtol=1e-6)


FIT_CASES = [
    ("AUC", {}, "binary"),
    ("AUC", {"multi_label": True, "curve": "PR"}, "binary"),  # built from the output shape
    ("Precision", {"top_k": 1}, "onehot"),
    ("Recall", {"thresholds": 0.3}, "binary"),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, "binary"),
    ("F1Score", {"average": "macro"}, "onehot"),
    ("OneHotMeanIoU", {"num_classes": C}, "onehot"),
    ("R2Score", {}, "regression"),
    ("PearsonCorrelation", {}, "regression"),
]


@pytest.mark.parametrize("case", FIT_CASES, ids=[_ids(c) for c in FIT_CASES])
def test_fit_and_evaluate_log_keras_value(case):
    """Inside the compiled step the metric accumulates over 3 batches; with a zero learning
    rate the weights stay put, so Keras's metric on predict()'s output is the logged value."""
    name, kwargs, kind = case
    x = RNG.normal(size=(3 * N, 4)).astype("float32")
    y = np.concatenate([b[0] for b in _batches(kind)])
    activation, loss = ("linear", "mse") if kind == "regression" else \
        ("sigmoid", "binary_crossentropy")
    model = nhanh.Sequential([nhanh.layers.Dense(C, activation=activation, input_shape=(4,))])
    model.compile(optimizer=nhanh.optimizers.SGD(learning_rate=0.0), loss=loss,
                  metrics=[getattr(metrics, name)(**kwargs)])
    history = model.fit(x, y, batch_size=N, epochs=2, verbose=0)
    reference = getattr(keras.metrics, name)(**kwargs)
    reference.update_state(y, model.predict(x, verbose=0))
    expected = float(reference.result())
    key = model.metrics[-1].name
    np.testing.assert_allclose(history.history[key], [expected] * 2, rtol=1e-5, atol=1e-6)
    logs = model.evaluate(x, y, batch_size=N, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs[key], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.engine_independent
@pytest.mark.parametrize("make, argument", [
    (lambda: metrics.AUC(num_thresholds=1), "num_thresholds"),
    (lambda: metrics.AUC(curve="XY"), "curve"),
    (lambda: metrics.AUC(summation_method="simpson"), "summation_method"),
    (lambda: metrics.AUC(num_labels=3), "num_labels"),
    (lambda: metrics.Precision(thresholds=[0.5, 1.5]), "thresholds"),
    (lambda: metrics.Recall(top_k=0), "top_k"),
    (lambda: metrics.PrecisionAtRecall(recall=2.0), "recall"),
    (lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=0), "num_thresholds"),
    (lambda: metrics.F1Score(average="median"), "average"),
    (lambda: metrics.FBetaScore(beta=2), "beta"),
    (lambda: metrics.F1Score(threshold=1.5), "threshold"),
    (lambda: metrics.IoU(3, target_class_ids=[3]), "target_class_ids"),
    (lambda: metrics.R2Score(class_aggregation="median"), "class_aggregation"),
    (lambda: metrics.R2Score(num_regressors=-1), "num_regressors"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_arguments_name_the_argument(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        make()


def test_shape_errors_say_what_came():
    with pytest.raises(ValueError, match=r"class_id=1.*shape \(4,\)"):
        metrics.Precision(class_id=1).update_state(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match=r"y_pred.shape=\(2, 3, 4\)"):
        metrics.F1Score().update_state(np.ones((2, 3, 4)), np.ones((2, 3, 4)))


@pytest.mark.engine_independent
def test_names_resolve_as_in_keras():
    for name in ("auc", "AUC", "precision", "recall", "true_positives", "r2_score",
                 "f1_score", "pearson_correlation"):
        assert type(metrics.get(name)).__name__ == type(keras.metrics.get(name)).__name__
    assert metrics.get("pearson_correlation") is not metrics.pearson_correlation
    assert metrics.function_by_name("concordance_correlation") is \
        metrics.concordance_correlation


def test_a_metric_with_several_thresholds_logs_a_vector_through_fit(capsys):
    """fit and evaluate keep a per-threshold metric's vector (Keras does too); the bar shows
    its mean."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = nhanh.Sequential([nhanh.layers.Input((4,)),
                              nhanh.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy",
                  metrics=[nhanh.metrics.Recall(thresholds=[0.3, 0.6], name="recall")])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=1)
    assert np.shape(history.history["recall"][0]) == (2,)
    logged = model.evaluate(x, y, verbose=0, return_dict=True)["recall"]
    direct = nhanh.metrics.Recall(thresholds=[0.3, 0.6])
    direct.update_state(y, model.predict(x, verbose=0))
    np.testing.assert_allclose(logged, nhanh.ops.convert_to_numpy(direct.result()), rtol=1e-6)
    assert "recall: " in capsys.readouterr().out
