"""PyTorch's in-place multi-tensor rules for Adadelta, Ftrl, Lamb, Adafactor, Muon and
ScheduleFreeAdamW (backend/torch/update_rules.py) against each optimizer's own update_step:
step by step inside a donated scope (the rule must write into the buffers it was given), and
inside fit's captured step against the same fit with the rule taken out, and against Keras 3's
fit. Every test counts the kernel's calls, so a rule that silently stopped running would fail."""

from __future__ import annotations

import functools
import logging
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import nhanh  # noqa: E402
from nhanh import ops  # noqa: E402
from nhanh.variables import StatelessScope, Variable  # noqa: E402

CASES = [
    ("Adadelta", {"learning_rate": 0.5, "rho": 0.8, "epsilon": 1e-3, "weight_decay": 0.1}),
    ("Ftrl", {"learning_rate": 0.1, "learning_rate_power": -0.3,
              "initial_accumulator_value": 0.5, "l1_regularization_strength": 0.05,
              "l2_regularization_strength": 0.1, "l2_shrinkage_regularization_strength": 0.2,
              "beta": 0.5}),
    ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01}),
    ("Lamb", {"learning_rate": 0.05, "beta_1": 0.6, "beta_2": 0.8, "weight_decay": 0.1}),
    ("Adafactor", {"learning_rate": 0.5, "beta_2_decay": -0.5, "epsilon_2": 0.1,
                   "clip_threshold": 0.5}),
    ("Adafactor", {"learning_rate": 0.05, "beta_2_decay": -0.6, "clip_threshold": 10.0}),
    ("Muon", {"learning_rate": 0.05, "exclude_layers": ["head"], "weight_decay": 0.2,
              "adam_weight_decay": 0.1}),
    ("Muon", {"learning_rate": 0.05, "nesterov": False, "rms_rate": None, "momentum": 0.8,
              "ns_steps": 3, "adam_lr_ratio": 0.5, "weight_decay": None}),
    ("ScheduleFreeAdamW", {"learning_rate": 0.05, "beta_1": 0.6, "warmup_steps": 3,
                           "weight_decay": 0.1}),
]
IDS = [f"{i}-{name}" for i, (name, _) in enumerate(CASES)]
# A matrix, a zero bias (Lamb's ratio and Adafactor's scale at ||w|| = 0), a 3-D kernel (Adam in
# Muon, a stack of factored moments in Adafactor) and a tall matrix Muon's `exclude_layers` hits.
SHAPES = {"hidden/kernel": (3, 4), "hidden/bias": (5,), "conv/kernel": (2, 3, 4),
          "head/kernel": (6, 2)}
STEPS = 5


def _counted(monkeypatch, name: str) -> list:
    """The calls of the rules `name` uses, counted: its own kernel, and Muon's Adam one."""
    rules = nhanh.backend.get().update_rules
    calls: list = []
    for key in {"Muon": ("muon", "adam")}.get(name, (_rule(name),)):
        kernel = rules[key]
        monkeypatch.setitem(rules, key, lambda *a, _k=kernel, _n=key, **kw: (
            calls.append(_n), _k(*a, **kw)))
    return calls


def _rule(name: str) -> str:
    return {"ScheduleFreeAdamW": "schedule_free_adamw"}.get(name, name.lower())


def _problem(seed: int = 3):
    rng = np.random.default_rng(seed)
    w0 = [rng.normal(size=s).astype("float32") for s in SHAPES.values()]
    w0[1][:] = 0.0
    grads = [[(rng.choice([-1.0, 1.0], size=s) * rng.uniform(0.3, 1.5, size=s)).astype("float32")
              for s in SHAPES.values()] for _ in range(STEPS)]
    return w0, grads


def _variables(w0):
    return [Variable(w.copy(), name=n) for w, n in zip(w0, SHAPES)]


@pytest.mark.engines("torch")
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_in_place_rule_equals_update_step_and_writes_the_given_buffers(name, kwargs,
                                                                       monkeypatch):
    calls = _counted(monkeypatch, name)
    w0, grads = _problem()
    plain_opt, plain = getattr(nhanh.optimizers, name)(**kwargs), _variables(w0)
    want = []
    for step in grads:  # eager apply(): no donated scope, so update_step runs
        plain_opt.apply(step, plain)
        want.append([w.numpy() for w in plain])
    assert calls == []

    opt, ws = getattr(nhanh.optimizers, name)(**kwargs), _variables(w0)
    opt.build(ws)
    state_vars = ws + opt.variables
    state = [nhanh.backend.get().copy(v.value) for v in state_vars]
    slots = {id(opt.slot(w, n)) for w in ws for group in opt.slot_groups() for n in group
             if opt.has_slot(n, w)}
    written = [i for i, v in enumerate(state_vars) if i < len(ws) or id(v) in slots]
    for t, step in enumerate(grads):
        with StatelessScope(dict(zip(state_vars, state)), donated=True) as scope:
            opt.apply([ops.convert_to_tensor(g) for g in step], ws)
            new = [scope.get(v) for v in state_vars]
        for i in written:  # the weights and their slots
            assert new[i] is state[i], f"step {t + 1}: {state_vars[i].name} got a new buffer"
        state = new
        for n, got, expected in zip(SHAPES, state, want[t]):
            np.testing.assert_allclose(ops.convert_to_numpy(got), expected, rtol=2e-5,
                                       atol=2e-6, err_msg=f"step {t + 1}, {n}")
    kernels = {"Muon": ["muon", "adam"]}.get(name, [_rule(name)])
    assert sorted(calls) == sorted(kernels * STEPS)  # every step, each group once


# --- inside fit's captured step ------------------------------------------------------------

FIT_X = np.random.default_rng(5).normal(size=(48, 3)).astype("float32")
FIT_Y = (FIT_X @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")


def _fit(L, name, kwargs):
    model = L.Sequential([L.Input((3,)), L.layers.Dense(4, activation="tanh", name="hidden"),
                          L.layers.Dense(1, name="head")])
    rng = np.random.default_rng(11)
    model.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5
                       for w in model.get_weights()])
    model.compile(optimizer=getattr(L.optimizers, name)(**kwargs), loss="mse")
    history = model.fit(FIT_X, FIT_Y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    return [np.asarray(w) for w in model.get_weights()], history.history["loss"]


@functools.lru_cache(maxsize=None)
def _keras_fit(index: int):
    return _fit(keras, *CASES[index])


@pytest.mark.engines("torch")
@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_fit_with_the_rule_equals_fit_without_it_and_keras(index, monkeypatch, caplog):
    name, kwargs = CASES[index]
    calls = _counted(monkeypatch, name)
    with caplog.at_level(logging.WARNING, logger="nhanh"):
        fast, fast_loss = _fit(nhanh, name, kwargs)
    assert not [r for r in caplog.records if "could not be captured" in r.getMessage()]
    assert calls, "the in-place rule never ran inside fit"  # traced into the captured graph
    monkeypatch.delitem(nhanh.backend.get().update_rules, _rule(name))
    plain, plain_loss = _fit(nhanh, name, kwargs)
    for got, want in zip(fast, plain):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fast_loss, plain_loss, rtol=1e-5, atol=1e-7)
    want_weights, want_loss = _keras_fit(index)
    for got, want in zip(fast, want_weights):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fast_loss, want_loss, rtol=1e-4, atol=1e-6)
    assert fast_loss[-1] < fast_loss[0]  # it trains


@pytest.mark.engines("torch")
def test_a_muon_subclass_with_its_own_step_is_not_bypassed(monkeypatch):
    class HalfMuon(nhanh.optimizers.Muon):
        def _muon_step(self, grad, variable, learning_rate):
            super()._muon_step(grad, variable, learning_rate * 0.5)

    calls = _counted(monkeypatch, "Muon")
    w0, grads = _problem()
    ws, half = _variables(w0[:1]), _variables(w0[:1])
    opt, reference = HalfMuon(0.1, weight_decay=None), nhanh.optimizers.Muon(
        0.05, weight_decay=None)
    opt.build(ws)
    state_vars = ws + opt.variables
    state = [nhanh.backend.get().copy(v.value) for v in state_vars]
    for step in grads:
        with StatelessScope(dict(zip(state_vars, state)), donated=True) as scope:
            opt.apply([ops.convert_to_tensor(step[0])], ws)
            state = [scope.get(v) for v in state_vars]
        reference.apply(step[:1], half)
    assert calls == []
    np.testing.assert_allclose(ops.convert_to_numpy(state[0]), half[0].numpy(), rtol=1e-5,
                               atol=1e-6)
