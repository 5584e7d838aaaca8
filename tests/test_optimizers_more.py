"""Muon, ScheduleFreeAdamW, LossScaleOptimizer, MultiOptimizer / OptimizerMap and
optimizers.legacy, checked step by step against real Keras 3 (on JAX, through Keras's own
stateless_apply, what its trainer runs) on the same weights and gradients, in eager apply()
and inside a training step's donated scope; Muon also against torch.optim.Muon; and every one
inside fit on each engine against Keras's fit. Plus global_clipnorm and PiecewiseConstantDecay
against Keras inside a training step."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
jax = pytest.importorskip("jax")  # Keras runs on JAX here, as the reference

import nhanh  # noqa: E402
from nhanh import ops  # noqa: E402
from nhanh.optimizers import SGD, Adam, RMSprop, schedules  # noqa: E402
from nhanh.optimizers import legacy  # noqa: E402
from nhanh.optimizers.loss_scale_optimizer import LossScaleOptimizer  # noqa: E402
from nhanh.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap  # noqa: E402
from nhanh.optimizers.muon import Muon  # noqa: E402
from nhanh.optimizers.schedule_free_adamw import ScheduleFreeAdamW  # noqa: E402
from nhanh.variables import StatelessScope, Variable  # noqa: E402
from helpers import keras_once  # noqa: E402

# Names are Keras variable names (Keras's path of a standalone Variable) and nhanh's names.
# Muon: the (3, 4) and tall (6, 3) matrices take Newton-Schulz, the rest Adam: a vector, a 3-D
# kernel, an embedding, and "head_kernel" when exclude_layers names it.
SHAPES = {"kernel": (3, 4), "bias": (5,), "conv_kernel": (2, 3, 4), "embeddings": (6, 3),
          "tall_kernel": (6, 3), "head_kernel": (4, 2)}
NAMES = list(SHAPES)
STEPS = 5
RTOL, ATOL = 2e-5, 2e-6


def problem(seed=0, bad_steps=()):
    """Initial weights and per-step gradients; steps in `bad_steps` hold an inf or a NaN."""
    rng = np.random.default_rng(seed)
    w0 = [rng.normal(size=s).astype("float32") for s in SHAPES.values()]
    grads = [[(rng.choice([-1.0, 1.0], size=s) * rng.uniform(0.3, 1.5, size=s))
              .astype("float32") for s in SHAPES.values()] for _ in range(STEPS)]
    for k, step in enumerate(bad_steps):
        grads[step][k % len(SHAPES)].flat[1] = np.inf if k % 2 == 0 else np.nan
    return w0, grads


def _key(kwargs):
    return tuple(sorted((k, repr(v)) for k, v in kwargs.items()))


def keras_make(name, kwargs):
    kwargs = dict(kwargs)
    if name == "LossScaleOptimizer":
        inner = kwargs.pop("inner")
        return keras.optimizers.LossScaleOptimizer(getattr(keras.optimizers, inner[0])(
            **inner[1]), **kwargs)
    if name == "MultiOptimizer":
        default, mapping = kwargs.pop("map")
        return keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
            getattr(keras.optimizers, default[0])(**default[1]),
            {k: getattr(keras.optimizers, n)(**kw) for k, (n, kw) in mapping.items()}),
            **kwargs)
    return getattr(keras.optimizers, name)(**kwargs)


def nhanh_make(name, kwargs):
    from nhanh import optimizers as O
    kwargs = dict(kwargs)
    if name == "LossScaleOptimizer":
        inner = kwargs.pop("inner")
        return LossScaleOptimizer(getattr(O, inner[0])(**inner[1]), **kwargs)
    if name == "MultiOptimizer":
        default, mapping = kwargs.pop("map")
        return MultiOptimizer(OptimizerMap(
            getattr(O, default[0])(**default[1]),
            {k: getattr(O, n)(**kw) for k, (n, kw) in mapping.items()}), **kwargs)
    return getattr(O, name)(**kwargs)


@functools.lru_cache(maxsize=None)
def _keras_history(name, key, bad_steps):
    kwargs = {k: eval(v) for k, v in key}
    w0, grads = problem(bad_steps=bad_steps)
    opt = keras_make(name, kwargs)
    ws = [keras.Variable(w, name=n) for w, n in zip(w0, NAMES)]
    opt.build(ws)
    state, values = [v.value for v in opt.variables], [w.value for w in ws]
    history, scales = [], []
    apply = jax.jit(opt.stateless_apply)  # as Keras's JAX trainer runs it (and fast)
    for step in grads:
        values, state = apply(state, step, values)
        history.append([np.asarray(v) for v in values])
        if name == "LossScaleOptimizer":  # its own scale and counter come first
            named = {v.path.split("/")[-1]: s for v, s in zip(opt.variables[:4], state)}
            scales.append((float(named["dynamic_scale"]), float(named["step_counter"])))
        else:
            scales.append(None)
    return history, scales, [tuple(v.shape) for v in opt.variables]


def keras_history(name, kwargs, bad_steps=()):
    return _keras_history(name, _key(kwargs), tuple(bad_steps))


def _scale(opt):
    if not isinstance(opt, LossScaleOptimizer):
        return None
    return float(opt.dynamic_scale.numpy()), float(opt.step_counter.numpy())


def run_eager(opt, w0, grads):
    ws = [Variable(w.copy(), name=n) for w, n in zip(w0, NAMES)]
    history, scales = [], []
    for step in grads:
        opt.apply(step, ws)
        history.append([w.numpy() for w in ws])
        scales.append(_scale(opt))
    return history, scales


def run_in_training_step(opt, w0, grads):
    """apply() as fit's step runs it: in a donated scope owning the state's buffers (PyTorch's
    in-place rules may run there)."""
    ws = [Variable(w.copy(), name=n) for w, n in zip(w0, NAMES)]
    opt.build(ws)
    state_vars = ws + opt.variables
    state = [nhanh.backend.get().copy(v.value) for v in state_vars]
    history, scales = [], []
    for step in grads:
        with StatelessScope(dict(zip(state_vars, state)), donated=True) as scope:
            opt.apply([ops.convert_to_tensor(g) for g in step], ws)
            state = [scope.get(v) for v in state_vars]
        history.append([ops.convert_to_numpy(s) for s in state[: len(ws)]])
        for v, value in zip(state_vars, state):
            v.assign(value)
        scales.append(_scale(opt))
    return history, scales


RUNNERS = {"eager": run_eager, "training-step": run_in_training_step}


def assert_history(got, want, rtol=RTOL, atol=ATOL):
    for t, (g_step, w_step) in enumerate(zip(got, want)):
        for i, (g, w) in enumerate(zip(g_step, w_step)):
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol,
                                       err_msg=f"step {t + 1}, variable {NAMES[i]}")


CASES = [
    ("Muon", {"learning_rate": 0.05}, ()),
    ("Muon", {"learning_rate": 0.05, "nesterov": False, "rms_rate": None, "momentum": 0.8,
              "ns_steps": 3, "exclude_layers": ["head"], "exclude_embeddings": False,
              "adam_lr_ratio": 0.5, "weight_decay": None, "adam_weight_decay": 0.1,
              "adam_beta_1": 0.7, "adam_beta_2": 0.9, "epsilon": 1e-3}, ()),
    ("Muon", {"learning_rate": 0.05, "weight_decay": 0.2, "gradient_accumulation_steps": 2,
              "use_ema": True, "muon_a": 3.0, "muon_b": -3.2, "muon_c": 1.2}, ()),
    ("ScheduleFreeAdamW", {"learning_rate": 0.05}, ()),
    ("ScheduleFreeAdamW", {"learning_rate": 0.05, "beta_1": 0.6, "beta_2": 0.8,
                           "epsilon": 1e-3, "warmup_steps": 3, "weight_decay": 0.1}, ()),
    ("ScheduleFreeAdamW", {"learning_rate": 0.05, "gradient_accumulation_steps": 2}, ()),
    # Steps 2 and 4 overflow (an inf, then a NaN): skipped, scale halved; growth every 2 steps.
    ("LossScaleOptimizer", {"inner": ("SGD", {"learning_rate": 0.1, "momentum": 0.5}),
                            "initial_scale": 8.0, "dynamic_growth_steps": 2}, (1, 3)),
    ("LossScaleOptimizer", {"inner": ("Adam", {"learning_rate": 0.05, "use_ema": True,
                                               "weight_decay": 0.1}),
                            "initial_scale": 4.0, "dynamic_growth_steps": 1}, (2,)),
    ("LossScaleOptimizer", {"inner": ("Adam", {"learning_rate": 0.05,
                                               "gradient_accumulation_steps": 2}),
                            "initial_scale": 2.0, "dynamic_growth_steps": 3}, (0,)),
    ("MultiOptimizer", {"map": (("SGD", {"learning_rate": 0.1, "momentum": 0.5}),
                                {"bias": ("Adam", {"learning_rate": 0.05}),
                                 ".*_kernel": ("RMSprop", {"learning_rate": 0.01})})}, ()),
    ("MultiOptimizer", {"map": (("Adam", {"learning_rate": 0.05, "weight_decay": 0.1}),
                                {"embeddings": ("Lion", {"learning_rate": 0.05})}),
                        "loss_scale_factor": 4.0}, ()),
]


def _ids(cases):
    return [f"{i}-{n}" for i, (n, _, _) in enumerate(cases)]


@pytest.mark.parametrize("run", RUNNERS.values(), ids=RUNNERS)
@pytest.mark.parametrize("name,kwargs,bad", CASES, ids=_ids(CASES))
def test_update_rule_matches_keras(name, kwargs, bad, run):
    w0, grads = problem(bad_steps=bad)
    want, want_scales, keras_shapes = keras_history(name, kwargs, bad)
    opt = nhanh_make(name, kwargs)
    got, scales = run(opt, w0, grads)
    assert_history(got, want)
    # The loss scale and its counter after each step, skipped steps included.
    assert scales == want_scales
    # The same state, in Keras's order and shapes (what a saved optimizer holds).
    assert [tuple(v.shape) for v in opt.variables] == keras_shapes


def test_muon_picks_newton_schulz_or_adam_as_keras():
    v = {n: Variable(np.zeros(s, "float32"), name=n) for n, s in SHAPES.items()}
    layer = Variable(np.zeros((3, 3), "float32"), name="output_dense/kernel")
    opt = Muon(exclude_layers=["output_dense"])
    adam = [n for n in SHAPES if opt.uses_adam(v[n])]
    assert adam == ["bias", "conv_kernel", "embeddings"]
    assert opt.uses_adam(layer)
    assert not Muon(exclude_embeddings=False).uses_adam(v["embeddings"])
    opt.build(list(v.values()) + [layer])
    assert [n for n in SHAPES if "velocity" in opt._slots[v[n]]] == adam


def test_muon_orthogonalizes_the_momentum():
    """With many iterations the Newton-Schulz map sends every singular value of the matrix
    into Muon's band around 1 while keeping its singular vectors (checked with NumPy's SVD)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 4)).astype("float32")
    out = ops.convert_to_numpy(Muon(ns_steps=12).orthogonalize(ops.convert_to_tensor(x)))
    u, s, vt = np.linalg.svd(x.astype(np.float64), full_matrices=False)
    s_out = np.linalg.svd(out.astype(np.float64), compute_uv=False)
    assert np.all((s_out > 0.6) & (s_out < 1.25)), s_out
    projected = u.T @ out @ vt.T  # diagonal when the singular vectors are kept
    np.testing.assert_allclose(projected - np.diag(np.diag(projected)), 0.0, atol=1e-4)


def test_muon_matches_torch_optim_muon():
    """torch.optim.Muon (Moonlight's scaling): its momentum buffer is (1 - momentum) times
    Keras's, which the normalization removes, and it orthogonalizes in bfloat16 (hence the
    tolerance)."""
    torch = pytest.importorskip("torch")
    if not hasattr(torch.optim, "Muon"):
        pytest.skip("this torch has no optim.Muon")
    rng = np.random.default_rng(4)
    shapes = [(3, 4), (6, 3)]
    w0 = [rng.normal(size=s).astype("float32") for s in shapes]
    grads = [[rng.normal(size=s).astype("float32") for s in shapes] for _ in range(4)]
    for nesterov in (True, False):
        ws = [Variable(w.copy(), name=f"dense_{i}/kernel") for i, w in enumerate(w0)]
        opt = Muon(learning_rate=0.05, weight_decay=0.1, momentum=0.9, nesterov=nesterov)
        params = [torch.tensor(w, requires_grad=True) for w in w0]
        ref = torch.optim.Muon(params, lr=0.05, weight_decay=0.1, momentum=0.9,
                               nesterov=nesterov, adjust_lr_fn="match_rms_adamw")
        for step in grads:
            opt.apply(step, ws)
            for p, g in zip(params, step):
                p.grad = torch.tensor(g)
            ref.step()
            for w, p in zip(ws, params):
                np.testing.assert_allclose(w.numpy(), p.detach().numpy(), atol=2e-3)


def test_schedule_free_adamw_starts_z_at_the_weights():
    w = Variable(np.arange(4, dtype="float32"), name="dense/bias")
    opt = ScheduleFreeAdamW()
    opt.build([w])
    np.testing.assert_array_equal(opt.slot(w, "momentum").numpy(), w.numpy())
    opt.apply([np.ones(4, "float32")], [w])  # the slot is its own buffer: w is not moved twice
    np.testing.assert_allclose(opt.slot(w, "momentum").numpy(), np.arange(4) - 0.0025,
                               rtol=1e-6, atol=1e-7)


def test_loss_scale_optimizer_scales_the_loss_and_delegates():
    inner = SGD(0.1, loss_scale_factor=8.0)
    opt = LossScaleOptimizer(inner, initial_scale=16.0)
    assert inner.loss_scale_factor is None  # no double unscaling, as Keras
    assert float(ops.convert_to_numpy(opt.scale_loss(2.0))) == 32.0
    w = Variable(np.zeros(3, "float32"), name="w")
    opt.build([w])
    assert opt.iterations is inner.iterations
    opt.learning_rate = 0.5
    assert float(inner.learning_rate.numpy()) == 0.5
    opt.apply([np.full(3, 16.0, "float32")], [w])
    np.testing.assert_allclose(w.numpy(), -0.5)  # grads / 16 * 0.5
    assert float(ops.convert_to_numpy(opt.scale_loss(1.0))) == 16.0


def test_loss_scale_optimizer_arguments_and_config():
    with pytest.raises(TypeError, match="inner_optimizer"):
        LossScaleOptimizer("adam")
    with pytest.raises(ValueError, match="dynamic=False"):
        LossScaleOptimizer(SGD(), dynamic=False)
    with pytest.raises(ValueError, match="clipnorm.*inner optimizer"):
        LossScaleOptimizer(SGD(), clipnorm=1.0)
    with pytest.raises(ValueError, match="dynamic_growth_steps"):
        LossScaleOptimizer(SGD(), dynamic_growth_steps=0)
    with pytest.raises(ValueError, match="initial_scale"):
        LossScaleOptimizer(SGD(), initial_scale=-1.0)
    LossScaleOptimizer(SGD(), clipnorm=None, use_ema=False)  # old configs' defaults pass
    opt = LossScaleOptimizer(Adam(0.01), initial_scale=64.0, dynamic_growth_steps=10)
    want = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01), initial_scale=64.0,
                                               dynamic_growth_steps=10).get_config()
    config = opt.get_config()
    assert set(config) == set(want)
    assert config["inner_optimizer"]["config"]["learning_rate"] == pytest.approx(0.01)
    from nhanh import optimizers as O
    again = O.deserialize(O.serialize(opt))
    assert type(again) is LossScaleOptimizer and again.get_config() == config
    with pytest.raises(ValueError, match="wraps other optimizers"):
        O.get("LossScaleOptimizer")


def test_optimizer_map_lookup_as_keras():
    adam, sgd, rms = Adam(), SGD(), RMSprop()
    ours = OptimizerMap(rms)
    ours["encoder/layer_0/dense"] = adam
    ours["encoder/.*"] = sgd
    ours["decoder"] = adam
    theirs = keras.optimizers.OptimizerMap(keras.optimizers.RMSprop())
    theirs["encoder/layer_0/dense"] = keras.optimizers.Adam()
    theirs["encoder/.*"] = keras.optimizers.SGD()
    theirs["decoder"] = keras.optimizers.Adam()
    for key in ["decoder", "encoder/layer_0/dense", "encoder/layer_0/attention/query",
                "decoder/layer_0/dense", "encoder"]:
        assert type(ours[key]).__name__ == type(theirs[key]).__name__, key
    with pytest.raises(ValueError, match="already maps"):
        ours["decoder"] = sgd
    ours["enc.*"] = adam
    with pytest.raises(ValueError, match="several patterns"):
        ours["encoder/x"]
    with pytest.raises(ValueError, match="cannot be a LossScaleOptimizer"):
        ours["x"] = LossScaleOptimizer(SGD())
    with pytest.raises(TypeError, match="default_optimizer"):
        OptimizerMap("sgd")


def test_multi_optimizer_with_a_callable_and_its_errors():
    w0, grads = problem()
    made = {}

    def choose(variable):  # a fresh optimizer per weight, as in Keras's docstring
        made[variable.name] = Adam(0.05) if "kernel" in variable.name else SGD(0.1)
        return made[variable.name]

    got, _ = run_eager(MultiOptimizer(choose), w0, grads)
    for i, name in enumerate(NAMES):  # each weight as its own optimizer alone moves it
        w = Variable(w0[i].copy(), name=name)
        solo = Adam(0.05) if "kernel" in name else SGD(0.1)
        for step in grads:
            solo.apply([step[i]], [w])
        np.testing.assert_allclose(got[-1][i], w.numpy(), rtol=1e-6, atol=1e-7)
    opt = MultiOptimizer(OptimizerMap(SGD()))
    with pytest.raises(AttributeError, match="inner optimizers"):
        opt.learning_rate
    with pytest.raises(ValueError, match="cannot be a MultiOptimizer"):
        MultiOptimizer(lambda v: opt).build([Variable(np.zeros(2), name="w")])
    with pytest.raises(TypeError, match="optimizer_map"):
        MultiOptimizer("sgd")


def test_multi_optimizer_config_round_trips():
    from nhanh import optimizers as O
    opt = MultiOptimizer(OptimizerMap(SGD(0.1), {".*bias": Adam(0.02)}), loss_scale_factor=2.0)
    config = opt.get_config()
    assert set(config) == {"optimizer_map", "loss_scale_factor", "name"}
    again = O.deserialize(O.serialize(opt))
    assert type(again) is MultiOptimizer and again.get_config() == config
    assert [type(o).__name__ for o in again.optimizers] == ["Adam", "SGD"]
    assert all(o.loss_scale_factor == 2.0 for o in again.optimizers)


@pytest.mark.parametrize("name", ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"])
def test_legacy_optimizers_refuse_like_keras(name):
    with pytest.raises(ImportError):
        getattr(keras.optimizers.legacy, name)(learning_rate=0.1)
    with pytest.raises(ImportError, match=f"nhanh.optimizers.{name}"):
        getattr(legacy, name)(learning_rate=0.1)
    from nhanh import optimizers as O
    assert O.legacy is legacy


# --- global_clipnorm and PiecewiseConstantDecay inside a training step, against Keras -------

@pytest.mark.parametrize("run", RUNNERS.values(), ids=RUNNERS)
def test_global_clipnorm_and_piecewise_decay_match_keras(run):
    w0, grads = problem(1)
    boundaries, values = [1, 3], [0.1, 0.05, 0.02]
    ours = Adam(schedules.PiecewiseConstantDecay(boundaries, values), global_clipnorm=0.7)

    def keras_side():  # (compiled once per process, not once per runner and engine)
        theirs = keras.optimizers.Adam(keras.optimizers.schedules.PiecewiseConstantDecay(
            boundaries, values), global_clipnorm=0.7)
        ws = [keras.Variable(w, name=n) for w, n in zip(w0, NAMES)]
        theirs.build(ws)
        state, vals, history = [v.value for v in theirs.variables], [w.value for w in ws], []
        apply = jax.jit(theirs.stateless_apply)
        for step in grads:
            vals, state = apply(state, step, vals)
            history.append([np.asarray(v) for v in vals])
        return history

    want = keras_once("global_clipnorm_piecewise", keras_side)
    got, _ = run(ours, w0, grads)
    assert_history(got, want)


# --- every new optimizer inside fit, against Keras's fit ------------------------------------

FIT_CASES = [
    ("Muon", {"learning_rate": 0.05, "exclude_layers": ["dense_1"]}),
    ("ScheduleFreeAdamW", {"learning_rate": 0.05, "warmup_steps": 2}),
    # 2**127 overflows the first step's gradients: it is skipped (7 of 8 steps count) and the
    # scale halves, then doubles back after 4 finite steps.
    ("LossScaleOptimizer", {"inner": ("Adam", {"learning_rate": 0.05}),
                            "initial_scale": 2.0 ** 127, "dynamic_growth_steps": 4}),
    ("MultiOptimizer", {"map": (("SGD", {"learning_rate": 0.1}),
                                {".*bias": ("Adam", {"learning_rate": 0.05})})}),
]
FIT_X = np.random.default_rng(5).normal(size=(48, 3)).astype("float32")
FIT_Y = (FIT_X @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")


def _fit(L, make, name, kwargs):
    model = L.Sequential([L.Input((3,)), L.layers.Dense(4, activation="tanh", name="dense"),
                          L.layers.Dense(1, name="dense_1")])
    rng = np.random.default_rng(11)
    model.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5
                       for w in model.get_weights()])
    opt = make(name, kwargs)
    model.compile(optimizer=opt, loss="mse")
    history = model.fit(FIT_X, FIT_Y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    scale = None
    if name == "LossScaleOptimizer":
        named = {v.path if L is keras else v.name: v for v in opt.variables}
        scale = (float(np.asarray(named[f"{opt.name}/dynamic_scale" if L is keras
                                        else "dynamic_scale"].value)),
                 int(np.asarray(opt.iterations.value)))
    return [np.asarray(w) for w in model.get_weights()], history.history["loss"], scale


@functools.lru_cache(maxsize=None)
def _keras_fit(name, key):
    return _fit(keras, keras_make, name, {k: eval(v) for k, v in key})


@pytest.mark.parametrize("name,kwargs", FIT_CASES,
                         ids=[f"{i}-{n}" for i, (n, _) in enumerate(FIT_CASES)])
def test_fit_matches_keras_fit(name, kwargs):
    want_weights, want_loss, want_scale = _keras_fit(name, _key(kwargs))
    got_weights, got_loss, got_scale = _fit(nhanh, nhanh_make, name, kwargs)
    for g, w in zip(got_weights, want_weights):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-4, atol=1e-6)
    assert got_scale == want_scale  # (loss scale, steps not skipped) for LossScaleOptimizer
    if name == "LossScaleOptimizer":
        assert got_scale == (2.0 ** 127, 7)
    assert np.all(np.isfinite(got_loss)) and got_loss[-1] < got_loss[0]  # it trains
