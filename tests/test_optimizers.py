"""Optimizers against independent references: Keras's formulas in plain float64 NumPy, and
torch.optim configured to match. Plus the Keras 2 spellings, clipping, constraints, the
stateless/compiled path, schedules, configs and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import nhanh
from nhanh import ops, optimizers
from nhanh.optimizers import schedules
from nhanh.variables import StatelessScope, Variable

SHAPES = [(3, 4), (5,)]
# Step sizes shrink so that AMSGrad's running maximum differs from v (with beta_2=0.5).
SCALES = [2.0, 1.0, 0.5, 0.25, 0.1]


def to_numpy(x):
    return ops.convert_to_numpy(x)


def make_problem(rng):
    """Initial weights and a gradient sequence; gradient magnitudes are kept away from zero so
    the epsilon-placement differences between Keras and torch stay tiny."""
    w0 = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = []
    for scale in SCALES:
        grads.append([(scale * rng.choice([-1.0, 1.0], size=s) * rng.uniform(0.5, 1.5, size=s))
                      .astype("float32") for s in SHAPES])
    return w0, grads


def run_nhanh(opt, w0, grads):
    ws = [Variable(w.copy()) for w in w0]
    history = []
    for step in grads:
        opt.apply(step, ws)
        history.append([w.numpy() for w in ws])
    return history


def run_in_training_step(opt, w0, grads):
    """apply() as a training step runs it: inside a donated scope that owns the buffers, where
    an engine with in-place update rules (PyTorch's foreach kernels) uses them."""
    ws = [Variable(w.copy()) for w in w0]
    opt.build(ws)
    state_vars = ws + opt.variables
    state = [nhanh.backend.get().copy(v.value) for v in state_vars]
    history = []
    for step in grads:
        with StatelessScope(dict(zip(state_vars, state)), donated=True) as scope:
            opt.apply([ops.convert_to_tensor(g) for g in step], ws)
            state = [scope.get(v) for v in state_vars]
        history.append([to_numpy(s) for s in state[: len(ws)]])
    return history


RUNNERS = {"eager": run_nhanh, "training-step": run_in_training_step}


# --- Keras's update rules, written out in float64 NumPy -----------------------------------

def keras_reference(name, kwargs, w0, grads):
    lr = kwargs["learning_rate"]
    ws = [w.astype(np.float64) for w in w0]
    state = [{} for _ in ws]
    history = []
    for t, step in enumerate(grads):  # t: iterations before this step
        for i, g in enumerate(step):
            g, s = g.astype(np.float64), state[i]
            if name == "SGD":
                mu = kwargs.get("momentum", 0.0)
                if mu == 0:
                    ws[i] = ws[i] - lr * g
                else:
                    s["m"] = mu * s.get("m", 0.0) - lr * g
                    ws[i] = ws[i] + (mu * s["m"] - lr * g if kwargs.get("nesterov") else s["m"])
            elif name == "Adam":
                b1, b2 = kwargs.get("beta_1", 0.9), kwargs.get("beta_2", 0.999)
                eps = kwargs.get("epsilon", 1e-7)
                s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
                s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - b2)
                v = s["v"]
                if kwargs.get("amsgrad"):
                    s["vhat"] = np.maximum(s.get("vhat", 0.0), s["v"])
                    v = s["vhat"]
                alpha = lr * np.sqrt(1 - b2 ** (t + 1)) / (1 - b1 ** (t + 1))
                ws[i] = ws[i] - s["m"] * alpha / (np.sqrt(v) + eps)
            elif name == "RMSprop":
                rho, mu = kwargs.get("rho", 0.9), kwargs.get("momentum", 0.0)
                eps = kwargs.get("epsilon", 1e-7)
                s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
                if kwargs.get("centered"):
                    s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
                    denominator = s["v"] - s["a"] ** 2 + eps
                else:
                    denominator = s["v"] + eps
                increment = lr * g / np.sqrt(denominator)
                if mu > 0:
                    s["m"] = mu * s.get("m", 0.0) + increment
                    ws[i] = ws[i] - s["m"]
                else:
                    ws[i] = ws[i] - increment
            elif name == "Adagrad":
                eps = kwargs.get("epsilon", 1e-7)
                s["acc"] = s.get("acc", kwargs.get("initial_accumulator_value", 0.1)) + g * g
                ws[i] = ws[i] - lr * g / np.sqrt(s["acc"] + eps)
        history.append([w.copy() for w in ws])
    return history


CASES = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"learning_rate": 0.05}),
    ("Adam", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.5}),
    ("Adam", {"learning_rate": 0.05, "beta_2": 0.5, "amsgrad": True}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5}),
]
# A large epsilon makes its placement (inside or outside the square root) visible; torch places
# it differently by construction, so these are checked against Keras's formula only.
EPSILON_CASES = [
    ("Adam", {"learning_rate": 0.05, "epsilon": 0.5}),
    ("RMSprop", {"learning_rate": 0.01, "epsilon": 0.5}),
    ("RMSprop", {"learning_rate": 0.01, "epsilon": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.1, "epsilon": 0.5}),
]


def _ids(cases):
    return [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items() if k != 'learning_rate')}"
            for n, kw in cases]


IDS = _ids(CASES)


@pytest.mark.parametrize("run", RUNNERS.values(), ids=RUNNERS)
@pytest.mark.parametrize("name,kwargs", CASES + EPSILON_CASES, ids=_ids(CASES + EPSILON_CASES))
def test_matches_keras_formula(name, kwargs, run, np_rng):
    w0, grads = make_problem(np_rng)
    got = run(getattr(optimizers, name)(**kwargs), w0, grads)
    want = keras_reference(name, kwargs, w0, grads)
    for step, (g, w) in enumerate(zip(got, want)):
        for a, b in zip(g, w):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


def test_options_change_the_reference(np_rng):
    """Guards the cases above: each option really changes the trajectory on this problem, so
    an implementation that ignored it would fail."""
    w0, grads = make_problem(np_rng)
    pairs = [("SGD", {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}),
             ("Adam", {"beta_2": 0.5}, {"beta_2": 0.5, "amsgrad": True}),
             ("RMSprop", {}, {"centered": True}), ("RMSprop", {}, {"momentum": 0.5})]
    for name, base, option in pairs:
        a = keras_reference(name, {"learning_rate": 0.05, **base}, w0, grads)[-1][0]
        b = keras_reference(name, {"learning_rate": 0.05, **option}, w0, grads)[-1][0]
        assert np.abs(a - b).max() > 1e-3, (name, option)


def torch_reference(name, kwargs, w0, grads):
    torch = pytest.importorskip("torch")
    params = [torch.nn.Parameter(torch.tensor(w, dtype=torch.float64)) for w in w0]
    lr = kwargs["learning_rate"]
    if name == "SGD":
        # Same algorithm: torch's buffer is Keras's momentum divided by -lr.
        opt = torch.optim.SGD(params, lr=lr, momentum=kwargs.get("momentum", 0.0),
                              nesterov=kwargs.get("nesterov", False))
    elif name == "Adam":
        # torch adds eps to sqrt(v)/sqrt(1-beta_2^t), Keras to sqrt(v): Keras's eps is larger by
        # 1/sqrt(1-beta_2^t), a difference of order eps/sqrt(v) relative to each step.
        opt = torch.optim.Adam(params, lr=lr, betas=(kwargs.get("beta_1", 0.9),
                                                     kwargs.get("beta_2", 0.999)),
                               eps=1e-7, amsgrad=kwargs.get("amsgrad", False))
    elif name == "RMSprop":
        # torch's default alpha (rho) is 0.99, Keras's 0.9: set it. torch adds eps after the
        # square root, Keras inside it: a relative difference of about eps/(2v) per step.
        opt = torch.optim.RMSprop(params, lr=lr, alpha=kwargs.get("rho", 0.9), eps=1e-7,
                                  momentum=kwargs.get("momentum", 0.0),
                                  centered=kwargs.get("centered", False))
    else:
        # torch's accumulator starts at 0 by default, Keras's at 0.1: set it. eps placement
        # differs as for RMSprop; with the accumulator >= 0.1 that is below 1e-6 relative.
        opt = torch.optim.Adagrad(params, lr=lr, eps=1e-7, initial_accumulator_value=kwargs.get(
            "initial_accumulator_value", 0.1))
    history = []
    for step in grads:
        for p, g in zip(params, step):
            p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


@pytest.mark.parametrize("run", RUNNERS.values(), ids=RUNNERS)
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_matches_torch_optim(name, kwargs, run, np_rng):
    w0, grads = make_problem(np_rng)
    want = torch_reference(name, kwargs, w0, grads)
    got = run(getattr(optimizers, name)(**kwargs), w0, grads)
    # SGD and Adagrad are the same algorithm up to float32 rounding; Adam and RMSprop differ
    # by epsilon placement (see torch_reference), below 1e-5 on this problem.
    atol = 1e-5 if name in ("Adam", "RMSprop") else 1e-6
    for step, (g, w) in enumerate(zip(got, want)):
        for a, b in zip(g, w):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=atol, err_msg=f"step {step}")


# --- Keras 2 spellings, learning rate ------------------------------------------------------

def test_lr_alias_sets_learning_rate():
    assert float(to_numpy(optimizers.SGD(lr=0.5).learning_rate)) == 0.5
    assert float(to_numpy(optimizers.Adam(lr=0.02).learning_rate)) == pytest.approx(0.02)
    assert float(to_numpy(optimizers.SGD(learning_rate=0.3, lr=0.3).learning_rate)) == \
        pytest.approx(0.3)
    assert float(to_numpy(optimizers.SGD(0.3).lr)) == pytest.approx(0.3)  # Keras 2 attribute
    with pytest.raises(ValueError, match="lr.*learning_rate|learning_rate.*lr"):
        optimizers.SGD(learning_rate=0.1, lr=0.2)


def test_decay_gives_inverse_time_learning_rates():
    opt = optimizers.SGD(lr=0.1, decay=0.5)
    w = Variable(np.zeros(2, "float32"))
    previous = np.zeros(2)
    for t in range(4):
        opt.apply([np.ones(2, "float32")], [w])
        step = previous - w.numpy()
        np.testing.assert_allclose(step, 0.1 / (1 + 0.5 * t), rtol=1e-6)
        previous = w.numpy()
    assert int(to_numpy(opt.iterations)) == 4


def test_decay_composes_with_a_schedule():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = optimizers.SGD(schedule, decay=1.0)
    w = Variable(np.zeros(1, "float32"))
    total = 0.0
    for t in range(3):
        opt.apply([np.ones(1, "float32")], [w])
        total += 0.1 * 0.5 ** (t / 2) / (1 + t)
        np.testing.assert_allclose(w.numpy(), [-total], rtol=1e-6)


def test_setting_learning_rate_takes_effect():
    opt = optimizers.SGD(0.1)
    w = Variable(np.zeros(1, "float32"))
    opt.apply([np.ones(1, "float32")], [w])
    opt.learning_rate = 0.01
    opt.apply([np.ones(1, "float32")], [w])
    opt.lr = np.float32(0.001)
    opt.apply([np.ones(1, "float32")], [w])
    np.testing.assert_allclose(w.numpy(), [-0.111], rtol=1e-6)
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -1.0
    scheduled = optimizers.SGD(schedules.InverseTimeDecay(0.1, 1, 1.0))
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        scheduled.learning_rate = 0.5


def test_schedule_learning_rate_is_read_at_the_current_step():
    opt = optimizers.SGD(schedules.PiecewiseConstantDecay([1], [0.5, 0.1]))
    w = Variable(np.zeros(1, "float32"))
    values = []
    for _ in range(3):
        values.append(float(to_numpy(opt.learning_rate)))
        opt.apply([np.ones(1, "float32")], [w])
    assert values == pytest.approx([0.5, 0.5, 0.1])
    np.testing.assert_allclose(w.numpy(), [-1.1], rtol=1e-6)


# --- clipping and constraints --------------------------------------------------------------

def _sgd_step(opt, grads):
    ws = [Variable(np.zeros(np.shape(g), "float32")) for g in grads]
    opt.apply([np.asarray(g, "float32") for g in grads], ws)
    return [-w.numpy() for w in ws]  # lr 1: the applied gradients


def test_clipnorm_clips_each_gradient_on_its_own():
    big, small = np.array([3.0, 4.0]), np.array([0.3, 0.4])
    out = _sgd_step(optimizers.SGD(1.0, clipnorm=1.0), [big, small])
    np.testing.assert_allclose(out[0], big / 5.0, rtol=1e-6)
    np.testing.assert_allclose(out[1], small, rtol=1e-6)


def test_global_clipnorm_clips_all_gradients_together():
    a, b = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    out = _sgd_step(optimizers.SGD(1.0, global_clipnorm=2.5), [a, b])
    np.testing.assert_allclose(out[0], a * 0.5, rtol=1e-6)
    np.testing.assert_allclose(out[1], b * 0.5, rtol=1e-6)
    out = _sgd_step(optimizers.SGD(1.0, global_clipnorm=10.0), [a, b])
    np.testing.assert_allclose(out[0], a, rtol=1e-6)


def test_clipvalue_clips_elementwise():
    g = np.array([-3.0, -0.2, 0.1, 2.0])
    out = _sgd_step(optimizers.SGD(1.0, clipvalue=0.5), [g])
    np.testing.assert_allclose(out[0], np.clip(g, -0.5, 0.5), rtol=1e-6)


def test_clipvalue_then_clipnorm_compose():
    g = np.array([3.0, 0.4, -2.0])
    clipped = np.clip(g, -1.0, 1.0)
    want = clipped / max(1.0, np.linalg.norm(clipped) / 0.5)
    out = _sgd_step(optimizers.SGD(1.0, clipvalue=1.0, clipnorm=0.5), [g])
    np.testing.assert_allclose(out[0], want, rtol=1e-6)


def test_clipping_applies_before_adam_update(np_rng):
    w0, grads = make_problem(np_rng)
    got = run_nhanh(optimizers.Adam(0.05, global_clipnorm=1.0), w0, grads)
    clipped = []
    for step in grads:
        norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in step))
        clipped.append([g * min(1.0, 1.0 / norm) for g in step])
    want = keras_reference("Adam", {"learning_rate": 0.05}, w0, clipped)
    np.testing.assert_allclose(got[-1][0], want[-1][0], rtol=1e-5, atol=1e-6)


def test_constraint_is_applied_after_the_update():
    w = Variable(np.array([-1.0, 2.0], "float32"), constraint=lambda x: ops.maximum(x, 0.0))
    optimizers.SGD(1.0).apply([np.array([1.0, -1.0], "float32")], [w])
    # update first: [-2, 3] -> [0, 3]; constraining first would give [-1, 3]
    np.testing.assert_allclose(w.numpy(), [0.0, 3.0])


# --- state, stateless scope, compiled step -------------------------------------------------

def test_build_creates_slots_once_in_keras_order():
    w1, w2 = Variable(np.zeros((2, 3), "float32"), name="w1"), Variable(np.zeros(4, "float32"),
                                                                        name="w2")
    opt = optimizers.Adam(amsgrad=True)
    assert [v.name for v in opt.variables] == ["iteration", "learning_rate"]
    assert opt.iterations.shape == () and opt.iterations.dtype == "int32"
    opt.build([w1, w2])
    first = opt.variables
    opt.build([w1, w2])
    assert opt.variables == first
    assert [v.name for v in first] == [
        "iteration", "learning_rate", "w1_momentum", "w1_velocity", "w2_momentum",
        "w2_velocity", "w1_velocity_hat", "w2_velocity_hat"]
    assert all(not v.trainable for v in first)
    assert first[2].shape == (2, 3) and first[4].shape == (4,)
    acc = optimizers.Adagrad(initial_accumulator_value=0.25)
    acc.build([w2])
    np.testing.assert_allclose(acc.variables[-1].numpy(), np.full(4, 0.25))
    assert len(optimizers.SGD().variables) == 2 and not optimizers.SGD().built
    sgd = optimizers.SGD()
    sgd.build([w1])
    assert len(sgd.variables) == 2  # no momentum, no slot


def test_none_gradients_are_skipped():
    w1, w2 = Variable(np.ones(2, "float32")), Variable(np.ones(2, "float32"))
    optimizers.SGD(1.0).apply([None, np.ones(2, "float32")], [w1, w2])
    np.testing.assert_allclose(w1.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(w2.numpy(), [0.0, 0.0])


def test_apply_gradients_keras_spelling():
    w = Variable(np.ones(2, "float32"))
    opt = optimizers.SGD(0.5)
    iterations = opt.apply_gradients([(np.ones(2, "float32"), w)])
    np.testing.assert_allclose(w.numpy(), [0.5, 0.5])
    assert iterations is opt.iterations and int(to_numpy(iterations)) == 1


def _state_vars(opt, ws):
    opt.build(ws)
    return ws + opt.variables


def test_apply_in_stateless_scope_records_and_leaves_variables(np_rng):
    w0, grads = make_problem(np_rng)
    ws = [Variable(w.copy()) for w in w0]
    opt = optimizers.RMSprop(0.01, momentum=0.5, centered=True)
    state = _state_vars(opt, ws)
    before = [v.numpy() for v in state]
    with StatelessScope({v: v.value for v in state}) as scope:
        opt.apply(grads[0], ws)
    for v, b in zip(state, before):
        np.testing.assert_array_equal(v.numpy(), b)  # untouched
    assert set(state) - {opt.variables[1]} <= set(scope.assigned)  # all but learning_rate
    assert int(to_numpy(scope.assigned[opt.iterations])) == 1
    want = keras_reference("RMSprop", {"learning_rate": 0.01, "momentum": 0.5,
                                       "centered": True}, w0, grads[:1])[0]
    np.testing.assert_allclose(to_numpy(scope.assigned[ws[0]]), want[0], rtol=1e-5, atol=1e-6)


OPTIMIZER_FACTORIES = {
    "sgd-nesterov": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "adam-amsgrad-global-clip": lambda: optimizers.Adam(0.05, beta_2=0.5, amsgrad=True,
                                                        global_clipnorm=1.0),
    "rmsprop-centered-decay": lambda: optimizers.RMSprop(0.01, centered=True, momentum=0.5,
                                                         decay=0.1),
    "adagrad-schedule-clipvalue": lambda: optimizers.Adagrad(
        schedules.PiecewiseConstantDecay([1, 3], [0.1, 0.05, 0.01]), clipvalue=1.0),
    "sgd-exponential-clipnorm": lambda: optimizers.SGD(
        schedules.ExponentialDecay(0.1, 2, 0.5, staircase=True), clipnorm=1.0),
}


@pytest.mark.parametrize("factory", OPTIMIZER_FACTORIES.values(), ids=OPTIMIZER_FACTORIES)
def test_compiled_step_matches_eager(factory, np_rng):
    w0, grads = make_problem(np_rng)
    eager = run_nhanh(factory(), w0, grads)

    ws = [Variable(w.copy()) for w in w0]
    opt = factory()
    state_vars = _state_vars(opt, ws)

    def step(state, step_grads):
        with StatelessScope(dict(zip(state_vars, state))) as scope:
            opt.apply(step_grads, ws)
        return [scope.assigned.get(v, s) for v, s in zip(state_vars, state)]

    compiled = nhanh.backend.get().compile_step(step)
    state = [v.value for v in state_vars]
    for t, step_grads in enumerate(grads):
        state = compiled(state, [ops.convert_to_tensor(g) for g in step_grads])
        for got, want in zip(state[: len(ws)], eager[t]):
            np.testing.assert_allclose(to_numpy(got), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(ws[0].numpy(), w0[0])  # the Variables stay as they were
    assert int(to_numpy(state[len(ws)])) == len(grads)


def test_compiled_step_sees_a_new_learning_rate():
    w = Variable(np.zeros(1, "float32"))
    opt = optimizers.SGD(0.1)
    state_vars = _state_vars(opt, [w])

    def step(state, g):
        with StatelessScope(dict(zip(state_vars, state))) as scope:
            opt.apply([g], [w])
        return [scope.assigned.get(v, s) for v, s in zip(state_vars, state)]

    compiled = nhanh.backend.get().compile_step(step)
    g = ops.convert_to_tensor(np.ones(1, "float32"))
    state = compiled([v.value for v in state_vars], g)
    for v, s in zip(state_vars, state):
        v.assign(s)
    opt.learning_rate = 0.01  # as a callback would, between steps
    state = compiled([v.value for v in state_vars], g)
    np.testing.assert_allclose(to_numpy(state[0]), [-0.11], rtol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_training_step_updates_in_place_on_torch_only(name):
    """In a donated scope PyTorch writes the update into the buffers it was given (no new
    allocation per weight); JAX returns new arrays. Outside one, nothing is written in place."""
    w = Variable(np.ones(3, "float32"))
    opt = getattr(optimizers, name)(0.1)
    opt.build([w])
    state_vars = [w] + opt.variables
    g = ops.convert_to_tensor(np.full(3, 0.5, "float32"))
    for donated in (True, False):
        state = [nhanh.backend.get().copy(v.value) for v in state_vars]
        with StatelessScope(dict(zip(state_vars, state)), donated=donated) as scope:
            opt.apply([g], [w])
            new = scope.get(w)
        in_place = donated and nhanh.config.backend() == "torch"
        assert (new is state[0]) == in_place
        assert (to_numpy(state[0]) < 1).all() == in_place  # the given buffer changed or not
        assert (to_numpy(new) < 1).all()
    np.testing.assert_array_equal(w.numpy(), np.ones(3))


def test_a_subclass_with_its_own_rule_is_not_bypassed():
    class HalfSGD(optimizers.SGD):
        def update_step(self, grad, variable, learning_rate):
            variable.assign_sub(0.5 * learning_rate * grad)

    w0, grads = make_problem(np.random.default_rng(0))
    got = run_in_training_step(HalfSGD(0.1), w0, grads)
    want = keras_reference("SGD", {"learning_rate": 0.05}, w0, grads)
    np.testing.assert_allclose(got[-1][0], want[-1][0], rtol=1e-5, atol=1e-6)


def test_in_place_is_refused_for_a_buffer_another_variable_took():
    """A step that hands a weight's buffer to another Variable (here an EMA copy) before the
    update must leave that Variable's new value as it was handed over."""
    w, copy_of_w = Variable(np.ones(2, "float32")), Variable(np.zeros(2, "float32"))
    opt = optimizers.SGD(0.5)
    opt.build([w])
    state_vars = [w, copy_of_w] + opt.variables
    state = [nhanh.backend.get().copy(v.value) for v in state_vars]
    with StatelessScope(dict(zip(state_vars, state)), donated=True) as scope:
        copy_of_w.assign(w.value)
        opt.apply([np.ones(2, "float32")], [w])
        np.testing.assert_allclose(to_numpy(scope.get(copy_of_w)), [1.0, 1.0])
        np.testing.assert_allclose(to_numpy(scope.get(w)), [0.5, 0.5])


def test_stateless_apply_returns_new_values():
    w = Variable(np.ones(2, "float32"))
    opt = optimizers.SGD(0.5, momentum=0.5)
    opt.build([w])
    new_w, new_opt = opt.stateless_apply([v.value for v in opt.variables],
                                         [np.ones(2, "float32")], [w.value])
    np.testing.assert_allclose(to_numpy(new_w[0]), [0.5, 0.5])
    np.testing.assert_allclose(to_numpy(new_opt[2]), [-0.5, -0.5])  # momentum slot
    np.testing.assert_allclose(w.numpy(), [1.0, 1.0])
    assert int(to_numpy(opt.iterations)) == 0


# --- schedules -----------------------------------------------------------------------------

STEPS = [0, 1, 2, 5, 10, 11, 25]


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_and_inverse_time_decay(staircase):
    exp = schedules.ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5, staircase=staircase)
    inv = schedules.InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5, staircase=staircase)
    for step in STEPS:
        p = step / 5 if not staircase else step // 5
        s = ops.convert_to_tensor(np.array(step, "int32"))
        assert float(to_numpy(exp(s))) == pytest.approx(0.1 * 0.5 ** p, rel=1e-6)
        assert float(to_numpy(inv(s))) == pytest.approx(0.1 / (1 + 0.5 * p), rel=1e-6)


def test_piecewise_constant_decay_boundaries():
    schedule = schedules.PiecewiseConstantDecay([2, 10], [1.0, 0.5, 0.1])
    want = [1.0, 1.0, 1.0, 0.5, 0.5, 0.1, 0.1]  # a boundary step keeps the earlier value
    for step, value in zip([0, 1, 2, 3, 10, 11, 25], want):
        s = ops.convert_to_tensor(np.array(step, "int32"))
        assert float(to_numpy(schedule(s))) == pytest.approx(value)
    fractional = schedules.PiecewiseConstantDecay([2.5], [1.0, 0.5])
    assert float(to_numpy(fractional(ops.convert_to_tensor(np.array(2, "int32"))))) == 1.0
    assert float(to_numpy(fractional(ops.convert_to_tensor(np.array(3, "int32"))))) == 0.5


def test_schedule_errors():
    with pytest.raises(ValueError, match="one more entry"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="increasing"):
        schedules.PiecewiseConstantDecay([5, 2], [1.0, 0.5, 0.1])
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5)
    with pytest.raises(ValueError, match="Unknown learning rate schedule 'CosineDeca'"):
        schedules.deserialize({"class_name": "CosineDeca", "config": {}})


# --- lookup, configs, errors ---------------------------------------------------------------

def test_get_by_name_instance_and_config():
    adam = optimizers.get("ADAM")
    assert type(adam) is optimizers.Adam and adam.beta_1 == 0.9 and adam.epsilon == 1e-7
    assert optimizers.get("adam") is not optimizers.get("adam")  # fresh each time
    assert type(optimizers.get("rmsprop")) is optimizers.RMSprop
    assert type(optimizers.get("Adagrad")) is optimizers.Adagrad
    sgd = optimizers.get("sgd")
    assert float(to_numpy(sgd.learning_rate)) == pytest.approx(0.01)
    assert optimizers.get(sgd) is sgd
    restored = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.3,
                                                               "momentum": 0.9}})
    assert restored.momentum == 0.9 and float(to_numpy(restored.learning_rate)) == \
        pytest.approx(0.3)


def test_unknown_optimizer_name_lists_close_matches():
    with pytest.raises(ValueError, match="Unknown optimizer 'adm'.*'adam'"):
        optimizers.get("adm")
    with pytest.raises(ValueError, match="optimizer identifier"):
        optimizers.get(3)


@pytest.mark.parametrize("cls,kwargs", [
    (optimizers.Adam, {"learning_rate": 0.01, "beta_1": 0.8, "amsgrad": True, "clipnorm": 1.0,
                       "decay": 0.1, "name": "my_adam"}),
    (optimizers.SGD, {"learning_rate": schedules.ExponentialDecay(0.1, 3, 0.9),
                      "momentum": 0.5, "nesterov": True, "global_clipnorm": 2.0}),
    (optimizers.RMSprop, {"rho": 0.8, "centered": True, "clipvalue": 0.5}),
    (optimizers.Adagrad, {"initial_accumulator_value": 0.2, "epsilon": 1e-6}),
])
def test_config_round_trip(cls, kwargs):
    opt = cls(**kwargs)
    config = opt.get_config()
    for key, value in kwargs.items():
        if key == "learning_rate" and isinstance(value, schedules.LearningRateSchedule):
            assert config[key] == {"module": "keras.optimizers.schedules",
                                   "class_name": "ExponentialDecay",
                                   "config": value.get_config(), "registered_name": None}
        else:
            assert config[key] == pytest.approx(value), key
    again = cls.from_config(config)
    assert again.get_config() == config
    restored = optimizers.deserialize(optimizers.serialize(opt))
    assert type(restored) is cls and restored.get_config() == config


def test_keras3_config_is_accepted():
    keras_config = {"name": "adam", "learning_rate": 0.001, "weight_decay": None,
                    "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                    "loss_scale_factor": None, "gradient_accumulation_steps": None,
                    "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}
    opt = optimizers.deserialize({"module": "keras.optimizers", "class_name": "Adam",
                                  "config": keras_config, "registered_name": None})
    assert type(opt) is optimizers.Adam
    assert optimizers.Adam(weight_decay=0.01).get_config()["weight_decay"] == 0.01


def test_unknown_argument_is_named():
    with pytest.raises(TypeError, match="'momentun'.*did you mean 'momentum'"):
        optimizers.SGD(momentun=0.9)
    with pytest.raises(TypeError, match="'betta_1'"):
        optimizers.Adam(betta_1=0.9)


@pytest.mark.parametrize("make,exc,pattern", [
    (lambda: optimizers.SGD(momentum=1.5), ValueError, r"`momentum` must be in \[0, 1\]"),
    (lambda: optimizers.SGD(learning_rate="fast"), TypeError, "`learning_rate` must be a number"),
    (lambda: optimizers.SGD(learning_rate=-0.1), ValueError, "`learning_rate` must be >= 0"),
    (lambda: optimizers.Adam(beta_1=1.0), ValueError, "beta_1"),
    (lambda: optimizers.RMSprop(rho=1.0), ValueError, "rho"),
    (lambda: optimizers.Adagrad(initial_accumulator_value=-1), ValueError,
     "initial_accumulator_value"),
    (lambda: optimizers.SGD(decay=-0.1), ValueError, "decay"),
    (lambda: optimizers.SGD(clipnorm=0), ValueError, "clipnorm"),
    (lambda: optimizers.SGD(clipvalue="big"), TypeError, "clipvalue"),
    (lambda: optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0), ValueError,
     "at most one of `clipnorm`"),
])
def test_bad_arguments_raise_clearly(make, exc, pattern):
    with pytest.raises(exc, match=pattern):
        make()


def test_bad_apply_changes_nothing():
    w1, w2 = Variable(np.ones(2, "float32"), name="w1"), Variable(np.ones(3, "float32"), name="w2")
    opt = optimizers.SGD(0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"'w2' has shape \(2,\), expected \(3,\)"):
        opt.apply([np.ones(2, "float32"), np.ones(2, "float32")], [w1, w2])
    np.testing.assert_array_equal(w1.numpy(), [1.0, 1.0])
    assert int(to_numpy(opt.iterations)) == 0
    with pytest.raises(ValueError, match="1 gradients for 2 variables"):
        opt.apply([np.ones(2, "float32")], [w1, w2])
    with pytest.raises(ValueError, match="no gradients"):
        opt.apply([None, None], [w1, w2])
    assert int(to_numpy(opt.iterations)) == 0
