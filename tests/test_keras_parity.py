"""Training semantics compared with real Keras 3: the same program, data and initial weights
on nhanh and on Keras, then History per epoch, final weights, evaluate's forms, metrics_names,
predict outputs and the hooks a callback sees must agree (relative tolerance 1e-5).

Why one in-process Keras on JAX: Keras cannot switch engines after import, and its numbers
do not depend on its engine beyond float tolerance, so nhanh on each of its engines is
compared with the same Keras-on-JAX run. Initial weights are drawn from NumPy (not from either
library's initializers), so a case's Keras result is computed once per session and serves both
engines (see keras_parity_helpers). Runs whose order depends on a random generator use
shuffle=False or one batch of the whole data, since the libraries' generators differ.
"""

from __future__ import annotations

import pytest

import nhanh
from keras_parity_helpers import D, N, build, diff, plain, recorder

keras = pytest.importorskip("keras")
# One xdist worker runs the whole file: every test of a case reads the same two cached results
# (nhanh's and Keras's), which per-function groups (tests/conftest.py) would compute twice.
pytestmark = pytest.mark.xdist_group("test_keras_parity")

CASES = {}
_RESULTS = {}  # (library or engine, case name) -> result: each program runs once per session


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def keras_result(name):
    return _cached(keras, "keras", name)


def nhanh_result(name):
    return _cached(nhanh, nhanh.config.backend(), name)


def _cached(L, key, name):
    if (key, name) not in _RESULTS:
        _RESULTS[key, name] = plain(CASES[name](L))
    return _RESULTS[key, name]


def sgd(L, lr=0.05):
    return L.optimizers.SGD(learning_rate=lr)


def fitted(L, kind="reg", compile_kw=None, evaluate=None, keras_list=True, **fit_kw):
    """Build, compile, fit (verbose=0); return History, weights and, given `evaluate` (the
    data as evaluate's keyword arguments), evaluate's list and dict. Entries named '_...' are
    not compared with Keras: `_metrics_names` (Keras 3 says ['loss', 'compile_metrics']), and
    evaluate's list where Keras repeats a value (keras_list=False, see the cases)."""
    model = build(L, kind)
    model.compile(**({"optimizer": sgd(L), "loss": "mse"} | (compile_kw or {})))
    fit_kw.setdefault("epochs", 3)
    fit_kw.setdefault("batch_size", 16)
    fit_kw.setdefault("shuffle", False)
    history = model.fit(verbose=0, **fit_kw)
    out = {"history": history.history, "epoch": list(history.epoch),
           "weights": model.get_weights(), "_metrics_names": list(model.metrics_names)}
    if evaluate is not None:
        key = "evaluate_list" if keras_list else "_evaluate_list"
        out[key] = model.evaluate(**evaluate, batch_size=N, verbose=0)
        out["evaluate"] = model.evaluate(**evaluate, batch_size=N, verbose=0, return_dict=True)
    return out


# --- validation ------------------------------------------------------------------------------
@case
def validation_split(L):
    return fitted(L, x=D["x"], y=D["reg"], validation_split=0.2)


@case
def validation_split_class_weight(L):
    return fitted(L, "cls", {"optimizer": sgd(L), "loss": "sparse_categorical_crossentropy",
                             "metrics": ["accuracy"]},
                  x=D["x"], y=D["cls"], validation_split=0.2,
                  class_weight={0: 3.0, 1: 0.5, 2: 1.5})


@case
def validation_split_sample_weight(L):
    return fitted(L, x=D["x"], y=D["reg"], sample_weight=D["sw"], validation_split=0.2)


@case
def validation_data_2_tuple(L):
    return fitted(L, x=D["x"], y=D["reg"], validation_data=(D["val_x"], D["val_reg"]))


@case
def validation_data_3_tuple(L):
    return fitted(L, compile_kw={"optimizer": sgd(L), "loss": "mse",
                                 "weighted_metrics": ["mae"]},
                  x=D["x"], y=D["reg"],
                  validation_data=(D["val_x"], D["val_reg"], D["val_sw"]))


@case
def validation_steps_and_batch_size(L):
    return fitted(L, x=D["x"], y=D["reg"], validation_data=(D["val_x"], D["val_reg"]),
                  validation_steps=2, validation_batch_size=4)


@case
def validation_freq_2(L):
    return fitted(L, x=D["x"], y=D["reg"], epochs=4, validation_data=(D["val_x"], D["val_reg"]),
                  validation_freq=2)


# --- epochs and steps ------------------------------------------------------------------------
@case
def initial_epoch(L):
    cb = recorder(L)
    out = fitted(L, x=D["x"], y=D["reg"], epochs=5, initial_epoch=2, callbacks=[cb])
    out["epochs_seen"] = [i for hook, i, _ in cb.events if hook == "on_epoch_begin"]
    return out


@case
def steps_per_epoch_fewer_than_batches(L):
    # 53 samples in batches of 16 make 4 batches; 2 steps per epoch, 3 epochs. Keras keeps
    # its iterator across epochs: epoch 2 trains on batches 2 and 3 (the partial one),
    # epoch 3 on batches 0 and 1 again.
    return fitted(L, x=D["x"], y=D["reg"], steps_per_epoch=2)


@case
def steps_per_epoch_more_than_batches(L):
    # Keras ends each epoch after the 4 batches there are (warning that the input ran out),
    # and still runs every epoch, each from the first batch.
    return fitted(L, x=D["x"], y=D["reg"], steps_per_epoch=6, epochs=2)


@case
def steps_per_epoch_generator(L):
    def batches():
        while True:
            for start in range(0, N, 16):
                yield D["x"][start:start + 16], D["reg"][start:start + 16]
    return fitted(L, x=batches(), steps_per_epoch=3, batch_size=None)


def _shuffle_case(shuffle_value):
    def run(L):
        # one batch of all the samples: the order inside it does not change the numbers
        return fitted(L, x=D["x"], y=D["reg"], batch_size=N, shuffle=shuffle_value)
    return run


for _value in (False, True, "batch"):
    CASES[f"shuffle_{_value}_one_batch"] = _shuffle_case(_value)


# --- weights ---------------------------------------------------------------------------------
@case
def class_weight_one_hot(L):
    return fitted(L, "cls", {"optimizer": sgd(L), "loss": "categorical_crossentropy",
                             "metrics": ["accuracy"]},
                  x=D["x"], y=D["hot"], class_weight={0: 3.0, 1: 0.5, 2: 1.5})


@case
def class_weight_sparse(L):
    return fitted(L, "cls", {"optimizer": sgd(L), "loss": "sparse_categorical_crossentropy",
                             "metrics": ["accuracy"]},
                  x=D["x"], y=D["cls"], class_weight={0: 3.0, 1: 0.5, 2: 1.5})


@case
def class_weight_binary(L):
    return fitted(L, "bin", {"optimizer": sgd(L), "loss": "binary_crossentropy",
                             "metrics": ["accuracy"]},
                  x=D["x"], y=D["bin"], class_weight={0: 0.4, 1: 2.5})


@case
def class_weight_with_sample_weight(L):
    try:
        fitted(L, "cls", {"optimizer": sgd(L), "loss": "sparse_categorical_crossentropy"},
               x=D["x"], y=D["cls"], class_weight={0: 3.0, 1: 0.5, 2: 1.5},
               sample_weight=D["sw"])
    except Exception as e:  # noqa: BLE001 - the error's type is what we compare
        return {"raises": type(e).__name__}
    return {"raises": None}


@case
def sample_weight_flat(L):
    return fitted(L, x=D["x"], y=D["reg"], sample_weight=D["sw"],
                  compile_kw={"optimizer": sgd(L), "loss": "mse", "metrics": ["mae"],
                              "weighted_metrics": ["mse"]})


@case
def sample_weight_column(L):
    return fitted(L, x=D["x"], y=D["reg"], sample_weight=D["sw"][:, None],
                  compile_kw={"optimizer": sgd(L), "loss": "mse", "metrics": ["mae"],
                              "weighted_metrics": ["mse"]})


# --- metrics and names -----------------------------------------------------------------------
@case
def metrics_strings(L):
    return fitted(L, "bin", {"optimizer": sgd(L), "loss": "binary_crossentropy",
                             "metrics": ["accuracy", "mse", "mae"]},
                  x=D["x"], y=D["bin"], validation_data=(D["val_x"], D["val_bin"]),
                  evaluate=dict(x=D["x"], y=D["bin"]))


@case
def two_binary_accuracies(L):
    # Keras 3 logs them as binary_accuracy and binary_accuracy_1, but its evaluate() list
    # repeats binary_accuracy's value: [loss, acc, acc, acc_1] (it looks each compiled
    # metric up by its own name, which both share); nhanh's list is checked against
    # metrics_names instead (test_metrics_names_label_evaluate_list).
    return fitted(L, "bin", {"optimizer": sgd(L), "loss": "binary_crossentropy",
                             "metrics": [L.metrics.BinaryAccuracy(threshold=0.5),
                                         L.metrics.BinaryAccuracy(threshold=0.3)]},
                  x=D["x"], y=D["bin"], evaluate=dict(x=D["x"], y=D["bin"]), keras_list=False)


@case
def metrics_and_weighted_metrics_same_name(L):
    # Keras 3: accuracy and weighted_accuracy; its evaluate() list repeats accuracy (as above)
    return fitted(L, "cls", {"optimizer": sgd(L), "loss": "sparse_categorical_crossentropy",
                             "metrics": ["accuracy"], "weighted_metrics": ["accuracy"]},
                  x=D["x"], y=D["cls"], sample_weight=D["sw"],
                  validation_data=(D["val_x"], D["val_cls"], D["val_sw"]),
                  evaluate=dict(x=D["x"], y=D["cls"], sample_weight=D["sw"]), keras_list=False)


@case
def multi_output(L):
    return fitted(L, "multi", {"optimizer": sgd(L),
                               "loss": {"a": "mse", "b": "sparse_categorical_crossentropy"},
                               "loss_weights": {"a": 1.0, "b": 0.5},
                               "metrics": {"a": ["mae"], "b": ["accuracy"]}},
                  x=D["x"], y={"a": D["reg"], "b": D["cls"]},
                  validation_data=(D["val_x"], {"a": D["val_reg"], "b": D["val_cls"]}),
                  evaluate=dict(x=D["x"], y={"a": D["reg"], "b": D["cls"]}))


@case
def custom_loss_rank_mismatch(L):
    def my_loss(y_true, y_pred):
        return L.ops.mean(L.ops.square(y_true - y_pred), axis=-1)
    return fitted(L, compile_kw={"optimizer": sgd(L), "loss": my_loss},
                  x=D["x"], y=D["reg"][:, 0], evaluate=dict(x=D["x"], y=D["reg"][:, 0]))


# --- evaluate and the *_on_batch methods -----------------------------------------------------
def _compiled(L, metrics):
    model = build(L, "bin")
    model.compile(optimizer=sgd(L), loss="binary_crossentropy", metrics=metrics)
    return model


@case
def evaluate_forms(L):
    out = {}
    for label, metrics in (("loss_only", None), ("with_metrics", ["accuracy", "mae"])):
        model = _compiled(L, metrics)
        out[label] = {
            "list": model.evaluate(D["x"], D["bin"], batch_size=N, verbose=0),
            "dict": model.evaluate(D["x"], D["bin"], batch_size=N, verbose=0,
                                   return_dict=True),
            "_metrics_names": list(model.metrics_names),
        }
    return out


@case
def on_batch_returns(L):
    xa, ya, xb, yb = D["x"][:16], D["bin"][:16], D["x"][16:32], D["bin"][16:32]
    plain_model = _compiled(L, None)
    out = {"loss_only": {"train": plain_model.train_on_batch(xa, ya),
                         "test": plain_model.test_on_batch(xb, yb)}}
    model = _compiled(L, ["accuracy", "mae"])
    out["with_metrics"] = {
        "train_1": model.train_on_batch(xa, ya),
        "train_2": model.train_on_batch(xb, yb, return_dict=True),
        "train_sw": model.train_on_batch(xa, ya, sample_weight=D["sw"][:16]),
        "test_1": model.test_on_batch(xa, ya),
        "test_2": model.test_on_batch(xb, yb, return_dict=True),
        "predict": model.predict_on_batch(xb),
        "weights": model.get_weights(),
    }
    return out


# --- callbacks -------------------------------------------------------------------------------
@case
def callback_hooks(L):
    # Keras calls the test hooks (with per-batch running logs) during fit's validation too,
    # and hands on_train_end the last epoch's logs.
    cb = recorder(L)
    model = build(L, "bin")
    model.compile(optimizer=sgd(L), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(D["x"], D["bin"], batch_size=16, epochs=2, shuffle=False, verbose=0,
              validation_data=(D["val_x"], D["val_bin"]), validation_batch_size=8,
              callbacks=[cb])
    params = {k: cb.params.get(k) for k in ("epochs", "steps", "verbose")}
    model.evaluate(D["x"], D["bin"], batch_size=N, verbose=0, callbacks=[cb])
    model.predict(D["x"], batch_size=N, verbose=0, callbacks=[cb])
    return {"events": [[h, i, logs] for h, i, logs in cb.events], "fit_params": params}


# --- predict ---------------------------------------------------------------------------------
@case
def predict_partial_batch(L):
    model = build(L, "reg")
    return {"predict": model.predict(D["x"], batch_size=16, verbose=0)}


@case
def predict_dropout_inference(L):
    model = build(L, "dropout")
    return {"predict": model.predict(D["x"], batch_size=16, verbose=0),
            "call": L.ops.convert_to_numpy(model(D["x"][:5]))}


# --- the comparison --------------------------------------------------------------------------
def _public(result):
    """The result without nhanh-only entries (names starting with '_')."""
    if isinstance(result, dict):
        return {k: _public(v) for k, v in result.items() if not k.startswith("_")}
    return result


@pytest.mark.parametrize("name", list(CASES))
def test_matches_keras(name):
    """Values, shapes and log names as Keras 3 gives them (the order of dict keys apart)."""
    problems, _ = diff(_public(nhanh_result(name)), _public(keras_result(name)))
    assert not problems, f"{name}: nhanh differs from Keras 3:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", list(CASES))
def test_log_key_order_matches_keras(name):
    """Keras 3 hands out logs (History, evaluate's dict, callbacks' logs) with their keys
    sorted; kept apart from the values so that the two kinds of difference read apart."""
    _, order = diff(_public(nhanh_result(name)), _public(keras_result(name)))
    assert not order, f"{name}: key order differs from Keras 3:\n  " + "\n  ".join(order)


def _with_names(result):
    if isinstance(result, dict):
        if "_metrics_names" in result and any(
                k in result for k in ("evaluate_list", "_evaluate_list", "list")):
            yield result
        for v in result.values():
            yield from _with_names(v)


@pytest.mark.parametrize("name", [n for n in CASES if n in (
    "metrics_strings", "two_binary_accuracies", "metrics_and_weighted_metrics_same_name",
    "multi_output", "custom_loss_rank_mismatch", "evaluate_forms")])
def test_metrics_names_label_evaluate_list(name):
    """metrics_names names evaluate's list, in its order (Keras 3 itself says
    ['loss', 'compile_metrics'] there; the list's order is checked against Keras above)."""
    found = list(_with_names(nhanh_result(name)))
    assert found
    for result in found:
        names = result["_metrics_names"]
        as_list = next(result[k] for k in ("evaluate_list", "_evaluate_list", "list")
                       if k in result)
        as_list = as_list if isinstance(as_list, list) else [as_list]
        as_dict = result.get("evaluate", result.get("dict"))
        assert len(names) == len(as_list), (names, as_list)
        assert dict(zip(names, as_list)) == pytest.approx(as_dict), (names, as_list, as_dict)
