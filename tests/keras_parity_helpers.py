"""Run the same training program on nhanh and on real Keras 3, and compare what a user sees.

A case is a function `case(L)` where `L` is a library namespace (nhanh or keras): both spell
`L.Sequential`, `L.layers.Dense`, `L.optimizers.SGD`, ... the same way, so one function body
runs on both. Initial weights come from a fixed NumPy generator, so the Keras side of a case
does not depend on nhanh's engine and is computed once per session (`keras_result`).

Keras is imported in this process, once, on JAX (unless something imported it before with
another engine: its numbers agree across engines within float tolerance, so either serves).
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")

N, FEATURES, CLASSES = 53, 3, 3
RTOL, ATOL = 1e-5, 1e-6


def data():
    """53 samples of 3 features: a regression target (n,1), binary (n,1), sparse and one-hot
    three-class targets, positive sample weights, and a held-out validation set of 16 (one
    batch shape keeps the number of compiled programs, hence the time, down)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(N + 16, FEATURES)).astype("float32")
    score = x @ np.array([1.0, -2.0, 0.5], "float32") + 0.1 * rng.normal(size=N + 16)
    y_reg = score[:, None].astype("float32")
    y_bin = (score > 0).astype("float32")[:, None]
    y_cls = np.digitize(score, [-1.0, 1.0]).astype("int32")
    one_hot = np.eye(CLASSES, dtype="float32")[y_cls]
    sw = rng.uniform(0.2, 2.0, size=N + 16).astype("float32")
    tr, va = slice(0, N), slice(N, None)
    d = dict(x=x[tr], reg=y_reg[tr], bin=y_bin[tr], cls=y_cls[tr], hot=one_hot[tr], sw=sw[tr])
    d.update({f"val_{k}": v[va] for k, v in
              dict(x=x, reg=y_reg, bin=y_bin, cls=y_cls, hot=one_hot, sw=sw).items()})
    return d


D = data()


def build(L, kind: str = "reg", seed: int = 0):
    """A tiny model whose weights are drawn from NumPy, the same on every library."""
    inp = L.Input((FEATURES,))
    hidden = L.layers.Dense(4, activation="tanh")(inp)
    if kind == "multi":
        a = L.layers.Dense(1, name="a")(hidden)
        b = L.layers.Dense(CLASSES, activation="softmax", name="b")(hidden)
        model = L.Model(inp, {"a": a, "b": b})
    else:
        if kind == "dropout":
            hidden = L.layers.Dropout(0.5)(hidden)
        units, act = {"reg": (1, None), "dropout": (1, None), "bin": (1, "sigmoid"),
                      "cls": (CLASSES, "softmax")}[kind]
        model = L.Model(inp, L.layers.Dense(units, activation=act)(hidden))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end")


def recorder(L):
    """A callback that records every hook: (hook, epoch or batch, {log name: value})."""

    def hook_fn(name):
        def note(self, index, logs):
            self.events.append((name, index, {k: _plain(v) for k, v in (logs or {}).items()}))

        if "batch" in name or "epoch" in name:
            return lambda self, index, logs=None: note(self, index, logs)
        return lambda self, logs=None: note(self, None, logs)

    cls = type("Recorder", (L.callbacks.Callback,), {h: hook_fn(h) for h in HOOKS})
    cb = cls()
    cb.events = []
    return cb


def _plain(v):
    """A log value as a float (or a nested structure of floats)."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    try:
        return float(np.asarray(v))
    except (TypeError, ValueError):
        return v


def plain(value):
    """Results as plain Python / NumPy, so nhanh's and Keras's compare with one function."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, bool, type(None))):
        return value
    arr = np.asarray(value)
    return float(arr) if arr.ndim == 0 else arr.astype("float64")


def diff(nh, ke, path: str = "result") -> tuple[list[str], list[str]]:
    """Differences between two results as readable lines 'path: nhanh ..., keras ...': those
    of values and of key sets, and (apart) those of only the order of a dict's keys."""
    values, order = [], []
    _diff(nh, ke, path, values, order)
    return values, order


def _diff(nh, ke, path, values, order):
    if isinstance(ke, dict):
        if not isinstance(nh, dict):
            values.append(f"{path}: nhanh {_short(nh)}, keras {_short(ke)}")
            return
        if set(nh) != set(ke):
            values.append(f"{path} keys: nhanh {list(nh)}, keras {list(ke)}")
        elif list(nh) != list(ke):
            order.append(f"{path} key order: nhanh {list(nh)}, keras {list(ke)}")
        for k in ke:
            if k in nh:
                _diff(nh[k], ke[k], f"{path}[{k!r}]", values, order)
    elif isinstance(ke, list):
        if not isinstance(nh, list):
            values.append(f"{path}: nhanh {_short(nh)}, keras {_short(ke)}")
            return
        if len(nh) != len(ke):
            first = next((i for i, (a, b) in enumerate(zip(nh, ke)) if diff(a, b)[0]),
                         min(len(nh), len(ke)))
            values.append(f"{path}: length nhanh {len(nh)}, keras {len(ke)}; first difference "
                          f"at [{first}]: nhanh {_short(nh[first:first + 3])}, keras "
                          f"{_short(ke[first:first + 3])}")
            return
        for i, (a, b) in enumerate(zip(nh, ke)):
            _diff(a, b, f"{path}[{i}]", values, order)
    elif isinstance(ke, (float, np.ndarray)) and not isinstance(nh, (str, dict, list, type(None))):
        a, b = np.asarray(nh, "float64"), np.asarray(ke, "float64")
        if a.shape != b.shape:
            values.append(f"{path}: shape nhanh {a.shape}, keras {b.shape}")
        elif not np.allclose(a, b, rtol=RTOL, atol=ATOL):
            values.append(f"{path}: nhanh {_short(a)}, keras {_short(b)}")
    elif nh != ke:
        values.append(f"{path}: nhanh {_short(nh)}, keras {_short(ke)}")


def _short(v):
    if isinstance(v, np.ndarray):
        return np.array2string(v.ravel()[:6], precision=6) + ("..." if v.size > 6 else "")
    text = repr(v)
    return text if len(text) < 400 else text[:400] + "..."
