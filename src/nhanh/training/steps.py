"""The pure training, evaluation and prediction steps of a compiled model, and loops of them.

`train(state, batch) -> (state, logs)`: the state is every Variable that training changes,
passed in as arrays; the model's own (object-oriented) code runs inside a StatelessScope that
maps those Variables to the arrays, so the step is a pure function the engine compiles once
per input signature (JAX: jit, with the old state's buffers donated; PyTorch: a captured graph
that updates the state's buffers in place).

When the data is in memory, the loops below run a whole stretch of steps as one compiled
program on JAX: each step gathers its batch from the device-resident arrays by index, so a
stretch costs one dispatch however many steps it holds, and the trip count is a run-time value,
so one compilation serves every stretch length. On PyTorch the same loops are Python around
the captured steps.

A model's own step runs inside the same compiled step in either of Keras's forms (see
step_api.py): `train_step(data)` under the StatelessScope, or Keras's JAX form
`train_step(state, data)` given the state's values in Keras's order (trainable,
non-trainable, optimizer, metrics variables), which are exactly this class's `groups()`.
Keras's PyTorch form (zero_grad, loss.backward(), optimizer.apply) cannot be a pure step: its
zero_grad() says so from inside the scope, and from then on that model's train step runs
eagerly on the Variables themselves (`_train_in_place`), as Keras's PyTorch trainer runs it.
On PyTorch, trainable Variables keep their storage for life (Parameters, which torch
optimizers hold): the steps get aliases of it and update it in place, and `scatter` writes a
new value into it instead of replacing it.
"""

from __future__ import annotations

import functools
import logging

from nhanh import backend as _backend
from nhanh import ops
from nhanh.distribution import placement
from nhanh.training.data import slice_rows, take_rows
from nhanh.training.step_api import takes_state
from nhanh.variables import StatelessScope, Variable

log = logging.getLogger("nhanh")


def _unique(variables: list[Variable]) -> list[Variable]:
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


class Steps:
    """Compiled step functions over a fixed list of state Variables."""

    def __init__(self, model):
        self.model = model
        self.trainable = list(model.trainable_variables)
        self.non_trainable = _unique(model.non_trainable_variables + model.state_variables)
        placement.adopt_layouts(self.trainable + self.non_trainable, None)
        model.optimizer.build(self.trainable)
        placement.adopt_layouts((), model.optimizer)
        self.optimizer = list(model.optimizer.variables)
        self.metrics = [v for m in model.metrics for v in m.variables]
        self.seeds = _seed_states(model, self.non_trainable)
        # Under a distribution, where each Variable's value lives (a model built before the
        # distribution was set is laid out here, before its first step).
        self.placement = placement.StatePlacement(
            [v for group in self.groups() for v in group])
        self.key = Steps.key_of(model)
        self.forms = step_forms(model)
        self.log_names = [m.name for m in model.metrics]  # the order _results gives
        self.trace_counts = {k: 0 for k in ("train", "test", "predict", "train_loop",
                                            "test_loop", "predict_loop")}
        self.mode = compile_mode(model)
        b = _backend.get()
        self.train = b.compile_step(self._counted("train", self._train), donate_state=True,
                                    mode=self.mode)
        self.test = b.compile_step(self._counted("test", self._test), donate_state=True,
                                   mode=self.mode)
        self.predict = b.compile_step(self._counted("predict", self._predict), mode=self.mode)
        # One step on rows of device-resident data, gathered inside the compiled step.
        self.train_rows = b.compile_step(self._counted("train", self._train_rows),
                                         donate_state=True, mode=self.mode)
        form_step = getattr(b, "TorchFormStep", None)
        if self.forms["train"] == "data" and form_step is not None:
            self.train, self.train_rows = _torch_form_aware(self, form_step)
        self._loops: dict = {}
        self._owned: dict[int, object] = {}  # id -> buffer, for the state the steps returned
        self.stretch_size = 1  # steps per compiled stretch while a progress bar is drawn

    def loop(self, kind: str, batch_size: int, count: int | None = None):
        """The compiled loop of `kind` ('train', 'test', 'predict') for this batch size."""
        key = (kind, batch_size, count)
        if key not in self._loops:
            fn = functools.partial(getattr(self, f"_{kind}_loop"), batch_size, count) \
                if kind == "predict" else functools.partial(getattr(self, f"_{kind}_loop"),
                                                            batch_size)
            b = _backend.get()
            if b.compiled_loops:  # elsewhere the loop is Python: only its steps compile
                fn = self._counted(f"{kind}_loop", fn)
            self._loops[key] = b.compile_loop(fn, donate_state=kind != "predict",
                                              mode=self.mode)
        return self._loops[key]

    def on_rows(self, kind: str):
        """The compiled `kind` step ('test' or 'predict') on rows of device-resident arrays,
        gathered inside it: a short last batch costs that one program, not an eager gather
        per array besides (on JAX each is a small program to compile)."""
        key = (kind, "rows")
        if key not in self._loops:
            self._loops[key] = _backend.get().compile_step(
                self._counted(kind, getattr(self, f"_{kind}_rows")),
                donate_state=kind == "test", mode=self.mode)
        return self._loops[key]
    @staticmethod
    def key_of(model) -> tuple:
        """Identity of the state lists; a change (a layer frozen, a new compile) needs new steps."""
        return (id(model.optimizer), tuple(id(v) for v in model.trainable_variables),
                tuple(id(v) for v in model.non_trainable_variables),
                tuple(id(m) for m in model.metrics), placement.key())

    def _counted(self, kind: str, fn):
        """fn, counting and logging each call: the engine calls it only when it compiles.
        (An engine that falls back to running fn as Python calls `traced.__wrapped__`.)"""
        @functools.wraps(fn)
        def traced(*args):
            self.trace_counts[kind] += 1
            if self.mode != "eager":
                log.debug("nhanh: compiling the %s step of %s (compilation #%d)", kind,
                          self.model.name, self.trace_counts[kind])
            return fn(*args)
        return traced

    # --- state in and out of the Variables --------------------------------------------------
    def groups(self):
        return (self.trainable, self.non_trainable, self.optimizer, self.metrics)

    def gather(self) -> tuple:
        """The state, as buffers the steps own: the engines update them in place (PyTorch) or
        donate them (JAX), so a value that came from outside (set_weights() on PyTorch's CPU,
        a shared array) is copied first, once. Buffers the steps returned, and buffers a
        Variable made itself from host data (metric resets each epoch), are taken as they are."""
        taken: set[int] = set()
        return self.placement.place_state(self.groups(), tuple(
            [self._own(v, taken) for v in group] for group in self.groups()))

    def _own(self, variable: Variable, taken: set[int]):
        """The Variable's buffer, copied first unless the steps may donate it: one that came
        from outside, or one a second Variable also holds (assign(other.value) shares it;
        donating it twice would fail on JAX, updating it in place would change both)."""
        value = variable._value
        view = _view(variable)
        if view is not None:  # storage the Variable keeps (PyTorch's Parameters): updated there
            return view
        if id(value) in taken or (self._owned.get(id(value)) is not value
                                  and not variable._unshared):
            value = variable._value = _backend.get().copy(value)
        taken.add(id(value))
        return value

    def scatter(self, state) -> None:
        owned: dict[int, object] = {}
        for group, values in zip(self.groups(), state):
            for v, value in zip(group, values):
                if _view(v) is not None:  # a Parameter keeps its identity (torch.optim's)
                    v._backend.write_storage(v._value, value)
                    continue
                v._value, v._unshared = value, False  # from here on, _owned vouches for it
                # A buffer the step returned for two Variables is owned by neither.
                owned[id(value)] = None if id(value) in owned else value
        self._owned = owned

    def gather_metrics(self) -> list:
        """What evaluation carries from batch to batch: the metrics' state, then the seed
        generators' (so each batch, and each evaluate(), draws anew, as in Keras). The seeds
        are copies: this state is donated, and the weights passed beside it hold them too."""
        copy, carried = _backend.get().copy, self.metrics + self.seeds
        return self.placement.place(carried, [v._value for v in self.metrics] +
                                    [copy(v._value) for v in self.seeds])

    def scatter_metrics(self, values) -> None:
        for v, value in zip(self.metrics + self.seeds, values):
            v._value, v._unshared = value, False

    def gather_seeds(self) -> list:
        return self.placement.place(self.seeds, [v._value for v in self.seeds])

    def scatter_seeds(self, values) -> None:
        for v, value in zip(self.seeds, values):
            v._value, v._unshared = value, False

    # --- the pure steps --------------------------------------------------------------------
    def _scope(self, state) -> StatelessScope:
        mapping = {}
        for group, values in zip(self.groups(), state):
            mapping.update(zip(group, values))
        return StatelessScope(mapping, donated=True)

    def _logs(self, logs: dict) -> list:
        """A step's logs dict as a list (engines may reorder dict keys); names kept aside."""
        self.log_names = list(logs)
        return list(logs.values())

    def _train(self, state, data):
        data = placement.constrain_batch(data)
        state = self.placement.whole_state(self.groups(), state)
        metrics_before = placement.metrics_before(state[3])
        with self._scope(state) as scope:
            if self.forms["train"] == "state":  # Keras's JAX form: the state in, the state out
                logs, new_state = self.model.train_step(tuple(list(g) for g in state),
                                                        _pack(data))
                new_state = _check_state(new_state, state, "train_step", _TRAIN_STATE)
            else:
                logs = self.model.train_step(_pack(data))
                new_state = tuple([scope.get(v) for v in group] for group in self.groups())
        if metrics_before is not None:  # the processes' updates summed, and the logs anew
            new_state = (*new_state[:3], placement.reduce_metric_updates(metrics_before,
                                                                         new_state[3]))
            logs = self._global_logs(logs, new_state[3])
        self.model._clear_call_losses()
        return self.placement.place_state(self.groups(), new_state), self._logs(logs)

    def _train_rows(self, state, arrays, rows):
        return self._train(state, take_rows(arrays, rows))

    def _test_rows(self, metric_state, weights, arrays, rows):
        return self._test(metric_state, weights, take_rows(arrays, rows))

    def _predict_rows(self, weights, seeds, x, rows):
        return self._predict(weights, seeds, take_rows(x, rows))

    def _train_in_place(self, state, data):
        """Keras's PyTorch form of train_step (zero_grad, loss.backward(), optimizer.apply):
        run eagerly with autograd on, on the Variables themselves (their Parameters get the
        gradients), as Keras's PyTorch trainer runs it; the state is read back after."""
        if self.placement.keeps_shards():
            raise NotImplementedError(
                f"{type(self.model).__name__}.train_step is Keras's PyTorch form (zero_grad, "
                "loss.backward(), optimizer.apply), which trains the Variables themselves; "
                "under this ModelParallel layout each process holds only shards of them. "
                "Write train_step with self.value_and_grad (it works on every engine and "
                "layout), or use DataParallel.")
        self.scatter(state)
        with _backend.get().enable_grad():
            logs = self.model.train_step(_pack(data))
        self.model._clear_call_losses()
        return tuple([v._value for v in group] for group in self.groups()), self._logs(logs)

    def _test(self, metric_state, weights, data):
        carried, data = self.metrics + self.seeds, placement.constrain_batch(data)
        n = len(self.metrics)
        metrics_before = placement.metrics_before(metric_state[:n])
        weights = self.placement.whole(self.trainable + self.non_trainable, weights)
        mapping = dict(zip(self.trainable + self.non_trainable, weights))
        mapping.update(zip(carried, metric_state))
        with StatelessScope(mapping) as scope:
            if self.forms["test"] == "state":
                n = len(self.trainable)
                given = (list(weights[:n]), list(weights[n:]), list(metric_state[:len(
                    self.metrics)]))
                logs, new_state = self.model.test_step(given, _pack(data))
                _, non_trainable, metrics = _check_state(new_state, given, "test_step",
                                                         _TEST_STATE)
                new_metrics = metrics + self._seeds_among(non_trainable)
            else:
                logs = self.model.test_step(_pack(data))
                new_metrics = [scope.get(v) for v in carried]
        if metrics_before is not None:
            new_metrics = placement.reduce_metric_updates(metrics_before, new_metrics[:n]) + \
                new_metrics[n:]
            logs = self._global_logs(logs, new_metrics[:n])
        self.model._clear_call_losses()
        return self.placement.place(carried, new_metrics), self._logs(logs)

    def _global_logs(self, logs: dict, metric_values: list) -> dict:
        """A split step's logs with each metric's result read from the accumulators summed
        over processes (the step computed them from its own rows only)."""
        names = [m.name for m in self.model.metrics]
        return {**logs, **dict(zip(names, self._results(metric_values)))}

    def _seeds_among(self, non_trainable: list) -> list:
        """The seed generators' states among values in the order of `self.non_trainable`."""
        position = {id(v): i for i, v in enumerate(self.non_trainable)}
        return [non_trainable[position[id(v)]] for v in self.seeds]

    def _predict(self, weights, seeds, x):
        """(outputs, the seed generators' new states): each batch draws anew."""
        weights = self.placement.whole(self.trainable + self.non_trainable, weights)
        mapping = dict(zip(self.trainable + self.non_trainable, weights))
        mapping.update(zip(self.seeds, seeds))
        x = placement.constrain_batch(x)
        with StatelessScope(mapping) as scope:
            form = self.forms["predict"]
            if form == "state":
                n = len(self.trainable)
                given = (list(weights[:n]), list(weights[n:]))
                out, non_trainable = self.model.predict_step(given, (x,))
                _check_state((None, non_trainable), given, "predict_step", _PREDICT_STATE)
                return placement.gather_outputs(out), self._seeds_among(list(non_trainable))
            out = self.model.predict_step((x,)) if form == "data" else \
                self.model(x, training=False)
            return placement.gather_outputs(out), [scope.get(v) for v in self.seeds]

    def weights(self) -> list:
        out, variables = [], self.trainable + self.non_trainable
        for v in variables:
            view = _view(v)
            out.append(v._value if view is None else view)
        return self.placement.place(variables, out)

    # --- loops of steps over device-resident data ------------------------------------------
    def _results(self, metric_values) -> list:
        with StatelessScope(zip(self.metrics, metric_values)):  # (seed states after them)
            return [m.result() for m in self.model.metrics]

    def results_now(self) -> list:
        """The metrics' results from their Variables as they stand (an epoch that resumed
        after its last step has no step to return them)."""
        return self._results([v.value for v in self.metrics])

    def _train_loop(self, batch_size, state, arrays, order, start, count):
        def body(i, state):
            batch = take_rows(arrays, ops.slice(order, (i * batch_size,), (batch_size,)))
            return self.train(state, batch)[0]

        state = ops.fori_loop(start, start + count, body, self.placement.place_state(
            self.groups(), state))
        state = self.placement.place_state(self.groups(), state)  # (the loop's carry too)
        return state, self._results(state[3])

    def _test_loop(self, batch_size, metric_state, weights, arrays, start, count):
        def body(i, metric_state):
            batch = slice_rows(arrays, i * batch_size, batch_size)
            return self.test(metric_state, weights, batch)[0]

        metric_state = ops.fori_loop(start, start + count, body, metric_state)
        return metric_state, self._results(metric_state)

    def _predict_loop(self, batch_size, count, weights, seeds, x):
        """(Outputs of `count` full batches, written into one preallocated buffer per output;
        the seed states after them)."""
        first, seeds = self.predict(weights, seeds, slice_rows(x, 0, batch_size))
        single = not isinstance(first, (list, tuple))
        first = [first] if single else list(first)
        buffers = [ops.slice_update(ops.zeros((count * batch_size, *ops.shape(f)[1:]),
                                              ops.dtype(f)), (0,) * ops.ndim(f), f)
                   for f in first]

        def body(i, carry):
            buffers, seeds = carry
            out, seeds = self.predict(weights, seeds, slice_rows(x, i * batch_size, batch_size))
            out = [out] if single else list(out)
            return [ops.slice_update(b, (i * batch_size,) + (0,) * (ops.ndim(o) - 1), o)
                    for b, o in zip(buffers, out)], seeds

        buffers, seeds = ops.fori_loop(1, count, body, (buffers, seeds))
        return (buffers[0] if single else buffers), seeds


def _torch_form_aware(steps: Steps, form_step: type):
    """steps.train / train_rows that switch, for good, to `_train_in_place` the first time
    the model's train_step turns out to be Keras's PyTorch form (its zero_grad() raises
    `form_step` inside the stateless step; nothing was changed yet)."""
    compiled_train, compiled_rows = steps.train, steps.train_rows

    def train(state, data):
        if not steps.in_place:
            try:
                return compiled_train(state, data)
            except form_step:
                steps.in_place = True
        return steps._train_in_place(state, data)

    def train_rows(state, arrays, rows):
        if not steps.in_place:
            try:
                return compiled_rows(state, arrays, rows)
            except form_step:
                steps.in_place = True
        return steps._train_in_place(state, take_rows(arrays, rows))

    steps.in_place = False
    return train, train_rows


def _view(variable):
    """A plain alias of the storage a Variable keeps for its whole life (PyTorch's
    Parameters, see backend/torch/core.py), which steps update in place; else None."""
    view = getattr(variable._backend, "state_view", None)
    return None if view is None else view(variable._value)


def step_forms(model) -> dict[str, str]:
    """For 'train', 'test', 'predict': 'state' (Keras's JAX form, `step(state, data)`),
    'data' (an override taking the batch) or 'base' (nhanh's own step)."""
    from nhanh.training.step_api import StepAPI

    forms = {}
    for kind in ("train", "test", "predict"):
        name = f"{kind}_step"
        forms[kind] = "state" if takes_state(model, name) else \
            "base" if getattr(type(model), name) is getattr(StepAPI, name) else "data"
    return forms


_TRAIN_STATE = ("trainable_variables", "non_trainable_variables", "optimizer_variables",
                "metrics_variables")
_TEST_STATE = ("trainable_variables", "non_trainable_variables", "metrics_variables")
_PREDICT_STATE = ("outputs", "non_trainable_variables")


def _check_state(new_state, given, method: str, names: tuple) -> tuple:
    """The state a Keras-form step returned, as a tuple of lists, checked against what it was
    given: the same groups (named by `names`), each with one value per entry."""
    what = "(outputs, non_trainable_variables)" if method == "predict_step" else \
        f"(logs, ({', '.join(names)}))"
    if not isinstance(new_state, (tuple, list)) or len(new_state) != len(names):
        raise ValueError(f"{method}(self, state, data) must return {what}, with the state as "
                         f"a tuple of {len(names)} lists in that order; got "
                         f"{type(new_state).__name__} {_describe(new_state)} as the state.")
    out = []
    for name, values, old in zip(names, new_state, given):
        if name == "outputs":
            out.append(values)
            continue
        if not isinstance(values, (tuple, list)) or len(values) != len(old):
            raise ValueError(f"{method}(self, state, data) returned `{name}` as "
                             f"{_describe(values)}; expected a list of {len(old)} values, one "
                             f"per entry of the {name} it was given, in the same order.")
        out.append(list(values))
    return tuple(out)


def _describe(value) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__


def _seed_states(model, non_trainable: list[Variable]) -> list[Variable]:
    """The seed generators' state Variables among the step's non-trainable state."""
    seeds = {id(v) for v in model.state_variables}
    return [v for v in non_trainable if id(v) in seeds]


def compile_mode(model) -> str:
    """compile_step's mode from Keras's compile() arguments: run_eagerly=True or
    jit_compile=False run the steps as Python, jit_compile=True asks for the strongest
    compiler, 'auto' for the engine's default."""
    if getattr(model, "run_eagerly", False) or getattr(model, "jit_compile", "auto") is False:
        return "eager"
    return "jit" if getattr(model, "jit_compile", "auto") is True else "auto"


def _pack(data: tuple) -> tuple:
    """(x, y, sample_weight) as Keras hands it to train_step: without a None sample_weight."""
    x, y, sample_weight = data
    return (x, y) if sample_weight is None else (x, y, sample_weight)
