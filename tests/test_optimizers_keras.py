"""Keras 3's optimizers, base features and schedules, checked step by step against real Keras 3
(imported once, on JAX) applied to the same weights and gradients, and against torch.optim where
PyTorch has the same rule. Plus PyTorch's in-place fast paths against the plain path, and every
optimizer inside fit's compiled / captured step against Keras's own fit."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
import jax  # noqa: E402  (Keras's side runs on JAX: its reference steps are compiled once)

import nhanh  # noqa: E402
from nhanh import ops, optimizers  # noqa: E402
from nhanh.optimizers import schedules  # noqa: E402
from nhanh.variables import StatelessScope, Variable  # noqa: E402

SHAPES = [(3, 4), (5,), (2, 3, 4)]
NAMES = ["dense/kernel", "dense/bias", "conv/kernel"]
STEPS = 6
RTOL, ATOL = 2e-5, 2e-6


def problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    w0 = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[(rng.choice([-1.0, 1.0], size=s) * rng.uniform(0.3, 1.5, size=s)).astype("float32")
              for s in SHAPES] for _ in range(STEPS)]
    return w0, grads


def _key(kwargs: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in kwargs.items()))


_KERAS_COND_ARGS = {"gradient_accumulation_steps", "ema_overwrite_frequency", "clipnorm",
                    "loss_scale_factor"}


@functools.lru_cache(maxsize=None)
def _keras_history(name: str, key: tuple, exclude: tuple, seed: int):
    kwargs = {k: eval(v) for k, v in key}  # the reprs of plain numbers, bools and None
    w0, grads = problem(seed)
    opt = getattr(keras.optimizers, name)(**kwargs)
    ws = [keras.Variable(w, name=n.split("/")[1]) for w, n in zip(w0, NAMES)]
    if exclude:
        opt.exclude_from_weight_decay(var_names=list(exclude))
    opt.build(ws)
    history, values, slots = [], [w.value for w in ws], [v.value for v in opt.variables]
    # Eager Keras on JAX recompiles every ops.cond (gradient accumulation, EMA overwrite,
    # clipping) at every step; those run as Keras's own stateless step, compiled once.
    step_fn = jax.jit(opt.stateless_apply) if set(kwargs) & _KERAS_COND_ARGS else None
    for step in grads:
        step = [keras.ops.convert_to_tensor(g) for g in step]
        if step_fn is None:
            opt.apply(step, ws)
            values, slots = [w.value for w in ws], [v.value for v in opt.variables]
        else:
            values, slots = step_fn(slots, step, values)
        history.append([np.asarray(w) for w in values])
    averages = None
    if kwargs.get("use_ema"):
        where = {id(v): i for i, v in enumerate(opt.variables)}
        averages = [np.asarray(slots[where[id(a)]]) for a in opt._model_variables_moving_average]
    return history, averages, [tuple(v.shape) for v in opt.variables]


def keras_history(name, kwargs, exclude=(), seed=0):
    return _keras_history(name, _key(kwargs), tuple(exclude), seed)


def run_eager(opt, w0, grads):
    ws = [Variable(w.copy(), name=n.split("/")[1]) for w, n in zip(w0, NAMES)]
    history = []
    for step in grads:
        opt.apply(step, ws)
        history.append([w.numpy() for w in ws])
    return history, ws


def run_in_training_step(opt, w0, grads):
    """apply() as fit's step runs it: in a donated scope that owns the state's buffers, where
    PyTorch's in-place multi-tensor rules are used."""
    ws = [Variable(w.copy(), name=n.split("/")[1]) for w, n in zip(w0, NAMES)]
    opt.build(ws)
    state_vars = ws + opt.variables
    state = [nhanh.backend.get().copy(v.value) for v in state_vars]
    history = []
    for step in grads:
        with StatelessScope(dict(zip(state_vars, state)), donated=True) as scope:
            opt.apply([ops.convert_to_tensor(g) for g in step], ws)
            state = [scope.get(v) for v in state_vars]
        history.append([ops.convert_to_numpy(s) for s in state[: len(ws)]])
    for v, value in zip(state_vars, state):
        v.assign(value)
    return history, ws


RUNNERS = {"eager": run_eager, "training-step": run_in_training_step}

CASES = [
    ("AdamW", {"learning_rate": 0.05}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.3, "amsgrad": True, "beta_2": 0.5}),
    ("Adamax", {"learning_rate": 0.05}),
    ("Adamax", {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.6, "epsilon": 0.1}),
    ("Nadam", {"learning_rate": 0.05}),
    ("Nadam", {"learning_rate": 0.05, "beta_1": 0.7, "beta_2": 0.9}),
    ("Adadelta", {"learning_rate": 0.5}),
    ("Adadelta", {"learning_rate": 0.5, "rho": 0.5, "epsilon": 1e-3}),
    ("Ftrl", {"learning_rate": 0.1}),
    ("Ftrl", {"learning_rate": 0.1, "learning_rate_power": -0.3, "initial_accumulator_value": 0.5,
              "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.1,
              "l2_shrinkage_regularization_strength": 0.2, "beta": 0.5}),
    ("Lion", {"learning_rate": 0.05}),
    ("Lion", {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.7}),
    ("Lamb", {"learning_rate": 0.05}),
    ("Lamb", {"learning_rate": 0.05, "beta_1": 0.6, "beta_2": 0.8, "epsilon": 0.1}),
    ("Adafactor", {"learning_rate": 0.05}),
    ("Adafactor", {"learning_rate": 0.5, "beta_2_decay": -0.5, "epsilon_2": 0.1,
                   "clip_threshold": 0.5}),
]
DECAYED = [(name, {**kw, "weight_decay": 0.2}) for name, kw in CASES[::2] if name != "AdamW"]


def _ids(cases):
    return [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items() if k != 'learning_rate')}"
            for n, kw in cases]


def assert_history(got, want, rtol=RTOL, atol=ATOL):
    for t, (g_step, w_step) in enumerate(zip(got, want)):
        for i, (g, w) in enumerate(zip(g_step, w_step)):
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol,
                                       err_msg=f"step {t + 1}, variable {NAMES[i]}")


@pytest.mark.parametrize("run", RUNNERS.values(), ids=RUNNERS)
@pytest.mark.parametrize("name,kwargs", CASES + DECAYED, ids=_ids(CASES + DECAYED))
def test_update_rule_matches_keras(name, kwargs, run):
    w0, grads = problem()
    want, _, keras_shapes = keras_history(name, kwargs)
    opt = getattr(optimizers, name)(**kwargs)
    got, _ = run(opt, w0, grads)
    assert_history(got, want)
    # The same state, in Keras's order and shapes (what a saved optimizer holds).
    assert [tuple(v.shape) for v in opt.variables] == keras_shapes


# --- torch.optim, configured to agree with Keras's formulas --------------------------------

def _torch_history(make, w0, grads):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in w0]
    opt = make(torch.optim, params)
    history = []
    for step in grads:
        for p, g in zip(params, step):
            p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


TORCH_CASES = {
    # torch adds epsilon to sqrt(v_hat), Keras to sqrt(v): with a tiny epsilon they agree.
    "AdamW": (dict(learning_rate=0.05, weight_decay=0.1, epsilon=1e-10),
              lambda o, p: o.AdamW(p, lr=0.05, weight_decay=0.1, eps=1e-10)),
    "Adamax": (dict(learning_rate=0.05, epsilon=1e-10),
               lambda o, p: o.Adamax(p, lr=0.05, eps=1e-10)),
    # torch's momentum schedule is 0.96 ** (t * momentum_decay); Keras's is 0.96 ** t.
    "Nadam": (dict(learning_rate=0.05, epsilon=1e-10, weight_decay=0.1),
              lambda o, p: o.NAdam(p, lr=0.05, eps=1e-10, momentum_decay=1.0, weight_decay=0.1,
                                   decoupled_weight_decay=True)),
    "Adadelta": (dict(learning_rate=0.5, rho=0.9, epsilon=1e-6),
                 lambda o, p: o.Adadelta(p, lr=0.5, rho=0.9, eps=1e-6)),
}


@pytest.mark.parametrize("run", RUNNERS.values(), ids=RUNNERS)
@pytest.mark.parametrize("name", TORCH_CASES)
def test_update_rule_matches_torch_optim(name, run):
    kwargs, make = TORCH_CASES[name]
    w0, grads = problem(1)
    got, _ = run(getattr(optimizers, name)(**kwargs), w0, grads)
    assert_history(got, _torch_history(make, w0, grads), rtol=1e-4, atol=1e-5)


# --- PyTorch's in-place multi-tensor rules ------------------------------------------------

IN_PLACE = [("AdamW", {"learning_rate": 0.05}), ("Adamax", {"learning_rate": 0.05}),
            ("Nadam", {"learning_rate": 0.05}), ("Lion", {"learning_rate": 0.05}),
            ("Nadam", {"learning_rate": 0.05, "weight_decay": 0.2, "use_ema": True}),
            ("Lion", {"learning_rate": 0.05, "weight_decay": 0.2})]


@pytest.mark.engines("torch")
@pytest.mark.parametrize("name,kwargs", IN_PLACE, ids=_ids(IN_PLACE))
def test_in_place_rules_equal_the_plain_path(name, kwargs, monkeypatch):
    rules = nhanh.backend.get().update_rules
    rule = "adam" if name == "AdamW" else name.lower()
    calls = []
    for key in (rule, "weight_decay"):
        kernel = rules[key]
        monkeypatch.setitem(rules, key, lambda *a, _k=kernel, _n=key, **kw: (calls.append(_n),
                                                                          _k(*a, **kw)))
    w0, grads = problem(2)
    plain, plain_ws = run_eager(getattr(optimizers, name)(**kwargs), w0, grads)
    assert calls == []
    opt = getattr(optimizers, name)(**kwargs)
    fast, fast_ws = run_in_training_step(opt, w0, grads)
    assert calls.count(rule) == STEPS  # the fast path really ran, every step
    assert calls.count("weight_decay") == (STEPS if "weight_decay" in kwargs or
                                           name == "AdamW" else 0)
    assert_history(fast, plain, rtol=1e-6, atol=1e-7)


# --- base features: weight decay, EMA, gradient accumulation, loss scale ------------------

FEATURES = [
    ("SGD", {"learning_rate": 0.1, "weight_decay": 0.3}, ()),
    ("Adam", {"learning_rate": 0.05, "weight_decay": 0.3}, ("bias",)),
    ("Adam", {"learning_rate": 0.05, "weight_decay": 0.3}, ("bias", "kern")),
    ("Adam", {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.8}, ()),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "use_ema": True, "ema_momentum": 0.6,
             "ema_overwrite_frequency": 2}, ()),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "gradient_accumulation_steps": 3}, ()),
    ("Adam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2, "weight_decay": 0.2},
     ()),
    ("Nadam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2, "use_ema": True,
               "ema_overwrite_frequency": 2}, ()),
    ("RMSprop", {"learning_rate": 0.01, "loss_scale_factor": 8.0, "clipnorm": 1.0}, ()),
    ("Lion", {"learning_rate": 0.05, "global_clipnorm": 1.0, "weight_decay": 0.1,
              "use_ema": True}, ("bias",)),
]


@pytest.mark.parametrize("run", RUNNERS.values(), ids=RUNNERS)
@pytest.mark.parametrize("name,kwargs,exclude", FEATURES,
                         ids=[f"{i}-{n}" for i, (n, _, _) in enumerate(FEATURES)])
def test_base_features_match_keras(name, kwargs, exclude, run):
    w0, grads = problem()
    want, averages, keras_shapes = keras_history(name, kwargs, exclude)
    opt = getattr(optimizers, name)(**kwargs)
    if exclude:
        opt.exclude_from_weight_decay(var_names=list(exclude))
    got, ws = run(opt, w0, grads)
    assert_history(got, want)
    assert [tuple(v.shape) for v in opt.variables] == keras_shapes
    if averages is not None:
        opt.finalize_variable_values(ws)
        for w, a in zip(ws, averages):
            np.testing.assert_allclose(w.numpy(), a, rtol=RTOL, atol=ATOL)


def test_exclude_from_weight_decay_by_variable():
    w0, grads = problem()
    ws = [Variable(w.copy(), name=n.split("/")[1]) for w, n in zip(w0, NAMES)]
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[ws[1]])
    opt.apply(grads[0], ws)
    for i, (w, g) in enumerate(zip(w0, grads[0])):
        decay = 0.0 if i == 1 else 0.5
        np.testing.assert_allclose(ws[i].numpy(), w - 0.1 * decay * w - 0.1 * g, rtol=1e-6)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["bias"])


def test_gradient_accumulation_updates_every_n_steps_with_the_mean():
    w0, grads = problem()
    ws = [Variable(w.copy()) for w in w0]
    opt = optimizers.SGD(0.1, gradient_accumulation_steps=3)
    for k in range(2):
        start = [w.numpy() for w in ws]
        for j in range(3):
            opt.apply(grads[3 * k + j], ws)
            if j < 2:  # nothing moves until the third step
                for w, s in zip(ws, start):
                    np.testing.assert_array_equal(w.numpy(), s)
        mean = [np.mean([grads[3 * k + j][i] for j in range(3)], axis=0) for i in range(3)]
        for w, s, m in zip(ws, start, mean):
            np.testing.assert_allclose(w.numpy(), s - 0.1 * m, rtol=1e-5, atol=1e-6)
    assert int(opt.iterations.numpy()) == 6


def test_base_arguments_are_checked():
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optimizers.Adam(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.Adam(use_ema=True, ema_momentum=1.5)
    with pytest.raises(TypeError, match="ema_overwrite_frequency"):
        optimizers.Adam(use_ema=True, ema_overwrite_frequency=2.5)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.SGD(weight_decay=-0.1)
    with pytest.raises(ValueError, match="loss_scale_factor"):
        optimizers.SGD(loss_scale_factor=0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="learning_rate_power"):
        optimizers.Ftrl(learning_rate_power=0.5)


@pytest.mark.parametrize("name,kwargs", CASES, ids=_ids(CASES))
def test_config_matches_keras_and_round_trips(name, kwargs):
    kwargs = {**kwargs, "use_ema": True, "ema_momentum": 0.9, "gradient_accumulation_steps": 4,
              "loss_scale_factor": 2.0, "clipnorm": 1.0}
    opt = getattr(optimizers, name)(**kwargs)
    config = opt.get_config()
    want = getattr(keras.optimizers, name)(**kwargs).get_config()
    assert set(config) == set(want)
    for key, value in want.items():
        if key != "name":
            assert config[key] == pytest.approx(value), key
    restored = optimizers.deserialize(optimizers.serialize(opt))
    assert type(restored) is type(opt) and restored.get_config() == config
    assert type(optimizers.get(name.lower())) is type(opt)


# --- schedules ------------------------------------------------------------------------------

SCHEDULES = [
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 10}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.2}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 10, "warmup_target": 0.5,
                     "warmup_steps": 5}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "alpha": 0.1,
                     "warmup_target": 0.3, "warmup_steps": 4}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 4}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 3,
                             "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.1}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5,
                             "t_mul": 1.5, "m_mul": 0.8}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 6,
                         "end_learning_rate": 0.01, "power": 2.0}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 6,
                         "end_learning_rate": 0.01, "power": 0.5, "cycle": True}),
    ("PiecewiseConstantDecay", {"boundaries": [3, 8], "values": [0.1, 0.05, 0.01]}),
]


SCHEDULE_STEPS = list(range(0, 40))


@functools.lru_cache(maxsize=None)
def _keras_schedule_values(index: int) -> list[float]:
    name, kwargs = SCHEDULES[index]
    return _keras_schedule(getattr(keras.optimizers.schedules, name)(**kwargs), SCHEDULE_STEPS)


def _keras_schedule(schedule, steps) -> list[float]:
    """Keras's schedule at each step, compiled once: eager, its ops.cond recompiles per call."""
    compiled = jax.jit(schedule)
    return [float(compiled(np.int32(s))) for s in steps]


@pytest.mark.parametrize("index", range(len(SCHEDULES)),
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_schedule_matches_keras(index):
    name, kwargs = SCHEDULES[index]
    ours = getattr(schedules, name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    got = [float(ops.convert_to_numpy(ours(ops.convert_to_tensor(s, dtype="int32"))))
           for s in SCHEDULE_STEPS]
    want = _keras_schedule_values(index)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    # Config: Keras's keys and values; serialize/deserialize by name.
    assert ours.get_config() == theirs.get_config()
    again = schedules.deserialize(schedules.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    assert type(getattr(schedules, name).from_config(theirs.get_config())) is type(ours)


def test_schedule_drives_the_optimizer_inside_a_training_step():
    schedule = schedules.CosineDecay(0.0, 4, warmup_target=0.4, warmup_steps=2)
    w0, grads = problem()
    got, _ = run_in_training_step(optimizers.SGD(schedule), w0, grads)
    w = w0[0].astype(np.float64)
    rates = _keras_schedule(keras.optimizers.schedules.CosineDecay(
        0.0, 4, warmup_target=0.4, warmup_steps=2), range(len(grads)))
    for t, step in enumerate(grads):
        w = w - rates[t] * step[0]
        np.testing.assert_allclose(got[t][0], w, rtol=1e-5, atol=1e-6)


# --- every optimizer inside fit, against Keras's fit ----------------------------------------

FIT_CASES = [(name, kw) for name, kw in CASES[::2]] + [
    ("Adam", {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.7}),
    ("SGD", {"learning_rate": 0.1, "gradient_accumulation_steps": 2, "momentum": 0.5}),
    ("SGD", {"learning_rate": 0.1, "loss_scale_factor": 16.0}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.5, "use_ema": True,
               "gradient_accumulation_steps": 2}),
]
FIT_X = np.random.default_rng(5).normal(size=(48, 3)).astype("float32")
FIT_Y = (FIT_X @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")


def _fit(L, name, kwargs):
    model = L.Sequential([L.Input((3,)), L.layers.Dense(4, activation="tanh"),
                          L.layers.Dense(1)])
    rng = np.random.default_rng(11)
    model.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5
                       for w in model.get_weights()])
    model.compile(optimizer=getattr(L.optimizers, name)(**kwargs), loss="mse")
    history = model.fit(FIT_X, FIT_Y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    return [np.asarray(w) for w in model.get_weights()], history.history["loss"]


@functools.lru_cache(maxsize=None)
def _keras_fit(name, key):
    return _fit(keras, name, {k: eval(v) for k, v in key})


@pytest.mark.parametrize("name,kwargs", FIT_CASES, ids=_ids(FIT_CASES))
def test_fit_matches_keras_fit(name, kwargs):
    want_weights, want_loss = _keras_fit(name, _key(kwargs))
    got_weights, got_loss = _fit(nhanh, name, kwargs)
    for g, w in zip(got_weights, want_weights):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-4, atol=1e-6)
