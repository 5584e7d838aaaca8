"""Training steps on PyTorch as captured graphs: traced once per input signature, replayed after.

Eager PyTorch pays Python for every op of nhanh's layers, losses, metrics and optimizer, on
every step: for a small model that overhead is most of the step. nhanh's steps are pure
functions of (state, batch) (that is how JAX compiles them), so the same function can be traced
once with fake tensors by `make_fx`, which records the ATen ops it runs (the forward pass, the
backward pass torch.autograd.grad produces, the in-place optimizer update) as one straight-line
graph. Later calls with the same signature replay the graph. With `jit_compile=True` the graph
also goes through `torch.compile` (Inductor), which fuses its elementwise ops.

Capturing leans on PyTorch internals (make_fx on real inputs, OpOverload._op, op schemas), so
every stage may fail on some model or some PyTorch version: tracing (a step that reads a device
value on the host, or branches on one), tidying the graph, generating its code, torch.compile,
or the first replay. Any such failure runs that signature's step as eager PyTorch instead, and
says so once per model, at WARNING level on the "nhanh" logger: a silent 5x slowdown is a bug
the user cannot see. The first replay of a graph runs on a copy of the inputs it writes in
place, so a failure there leaves the state as it was. A user's own mistake fails the eager run
too, and that error, not the engine's, is what the user sees. PyTorch's own logging is
silenced while a step is traced or compiled: a failed trace is expected, not news.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import weakref
from typing import Any, Callable

import torch
from torch.fx.experimental.proxy_tensor import make_fx

from nhanh.backend.torch import recording
from nhanh.backend.torch.graph_rewrites import tidy

log = logging.getLogger("nhanh")

_EAGER = object()  # a signature whose step runs eagerly
_TRACE = object()  # _record's answer for a step that make_fx must try instead
_tracing = contextvars.ContextVar("nhanh_torch_tracing", default=None)


def tracing() -> str | None:
    """None, or what the step being traced now becomes: "graph" (replayed) or "jit" (through
    torch.compile). Code that would read a device value on the host (rnn.py's packed sequences)
    takes a path without the read instead."""
    return _tracing.get()


# --- flattening nested (state, batch) arguments --------------------------------------------
# A small flattener for the tuples, lists and dicts the steps take and return. It is on the
# path of every step, so it is kept lean: tensors become leaves, a list of tensors is one
# entry, and anything else (None, a number) is part of the structure, so a different constant
# is a different signature.

_Tensor = torch.Tensor


def _flatten(tree, leaves: list) -> Any:
    """Append tree's tensors to `leaves`; return a hashable description of the rest."""
    kind = type(tree)
    if kind is _Tensor or isinstance(tree, _Tensor):
        leaves.append(tree)
        return None
    if kind is list or kind is tuple:
        if all(type(t) is _Tensor for t in tree):
            leaves.extend(tree)
            return (kind, len(tree))
        return (kind, tuple([_flatten(t, leaves) for t in tree]))
    if kind is dict:
        return (dict, tuple(tree), tuple([_flatten(t, leaves) for t in tree.values()]))
    return ("constant", tree, type(tree))


def _build(structure, leaves):
    """The tree `structure` describes, with its tensors taken from the iterator `leaves`."""
    if structure is None:
        return next(leaves)
    kind = structure[0]
    if kind == "constant":
        return structure[1]
    if kind is dict:
        return {k: _build(s, leaves) for k, s in zip(structure[1], structure[2])}
    children = structure[1]
    if type(children) is int:
        return kind([next(leaves) for _ in range(children)])
    return kind([_build(s, leaves) for s in children])


# --- the captured step ---------------------------------------------------------------------

class _Fresh:
    """A graph not replayed yet: `written` are the positions of the inputs it writes in place,
    copied before its first replay so that a failure there can be undone."""

    __slots__ = ("run", "out", "written", "stage")

    def __init__(self, run, out, written, stage):
        self.run, self.out, self.written, self.stage = run, out, written, stage


class CapturedStep:
    """fn(*args) as graphs captured per input signature; see the module docstring."""

    def __init__(self, fn: Callable, jit_compile: bool = False):
        self.fn = fn
        self.eager = getattr(fn, "__wrapped__", fn)  # without the caller's trace counting
        self.jit_compile = jit_compile
        self._graphs: dict = {}

    def __call__(self, *args):
        leaves: list = []
        structure = _flatten(args, leaves)
        try:
            key = (structure, tuple([(leaf.shape, leaf.dtype) for leaf in leaves]))
            entry = self._graphs.get(key)
        except TypeError as error:  # an unhashable constant argument: nothing to key a graph on
            return self._fall_back(None, "keying the inputs", error, args)
        if type(entry) is tuple:  # the common case: a graph that replayed before
            run, out_structure = entry
            return _build(out_structure, iter(run(*leaves)))
        if entry is _EAGER:
            return self.eager(*args)
        if entry is None:
            if not self.jit_compile:
                result = self._record(key, structure, leaves, args)
                if result is not _TRACE:  # this call ran, for real: replays start next time
                    return result
                # (refused, with the inputs as they were: make_fx may still capture it)
            entry = self._capture(structure, leaves)
            if type(entry) is not _Fresh:
                return self._fall_back(key, *entry, args)
            self._graphs[key] = entry
        return self._first_replay(key, entry, leaves, args)

    def _flat(self, structure, out: dict) -> Callable:
        """The step as a function of its input tensors returning a flat list of tensors (what
        recording and make_fx take); the outputs' structure lands in out["structure"]."""
        def flat(*tensors):
            outputs: list = []
            out["structure"] = _flatten(self.fn(*_build(structure, iter(tensors))), outputs)
            return outputs
        return flat

    def _record(self, key, structure, leaves: list, args: tuple):
        """Run the step once under recording.Recorder (see recording.py) and return its result,
        its graph kept for the next call; _TRACE, with the inputs as they were, when it cannot
        be recorded (a host read, a branch on a tensor, an error: make_fx tries next)."""
        out: dict = {}
        flat = self._flat(structure, out)

        try:
            with _quiet_torch_logs():
                token = _tracing.set("graph")
                try:
                    graph, outputs = recording.record(flat, leaves)
                finally:
                    _tracing.reset(token)
        except Exception:
            return _TRACE
        result = _build(out["structure"], iter(outputs))
        stage = "graph tidying"
        try:
            tidy(graph)
            written = _written_inputs(graph)
            stage = "code generation"
            run = _to_python(graph)
        except Exception as error:  # the step itself ran: keep its result, run eagerly after
            self._graphs[key] = _EAGER
            _report(self, stage, error)
            return result
        self._graphs[key] = _Fresh(run, out["structure"], written, "replay")
        return result

    def _capture(self, structure, leaves: list):
        """A _Fresh graph, or (stage, error) when a stage failed."""
        out: dict = {}
        flat = self._flat(structure, out)

        stage = "tracing"
        try:
            with _quiet_torch_logs():
                token = _tracing.set("jit" if self.jit_compile else "graph")
                try:
                    graph = make_fx(flat, tracing_mode="fake", _allow_non_fake_inputs=True)(
                        *leaves)
                finally:
                    _tracing.reset(token)
            stage = "graph tidying"
            tidy(graph)
            written = _written_inputs(graph)
            grad_mode = _needs_grad_mode(graph)
            if self.jit_compile:
                stage = "torch.compile"
                run = _with_grad_mode(_inductor(graph)) if grad_mode else _inductor(graph)
            else:
                stage = "code generation"
                run = _to_python(graph)
        except Exception as error:  # anything capture cannot follow: run it as Python
            return stage, error
        return _Fresh(run, out["structure"], written, stage if self.jit_compile else "replay")

    def _first_replay(self, key, entry: _Fresh, leaves: list, args: tuple):
        """Replay a new graph on inputs whose written part is saved first; on failure put
        them back and run the step eagerly."""
        try:
            saved = [(leaves[i], leaves[i].clone()) for i in entry.written]
        except Exception:  # no memory for the copies: replay without a way back
            saved = None
        try:
            with _quiet_torch_logs() if self.jit_compile else contextlib.nullcontext():
                result = entry.run(*leaves)
        except Exception as error:
            if saved is None and entry.written:
                raise
            for leaf, copy in saved or ():
                leaf.copy_(copy)
            del saved
            return self._fall_back(key, entry.stage, error, args)
        self._graphs[key] = (entry.run, entry.out)
        return _build(entry.out, iter(result))

    def _fall_back(self, key, stage: str, error: Exception, args: tuple):
        """The step run eagerly. A user's own mistake fails here too and surfaces as it is;
        only when the eager step works is the engine's failure reported (once per model) and
        the signature remembered as eager."""
        result = self.eager(*args)
        if key is not None:
            self._graphs[key] = _EAGER
        _report(self, stage, error)
        return result


_reported: weakref.WeakSet = weakref.WeakSet()  # owners (a model's Steps) already told


def _report(step: CapturedStep, stage: str, error: Exception) -> None:
    owner = getattr(step.eager, "__self__", step)  # the Steps object: one report per model
    try:
        if owner in _reported:
            return
        _reported.add(owner)
    except TypeError:  # an owner without weak references: report per step
        if getattr(step, "_reported", False):
            return
        step._reported = True
    model = getattr(getattr(owner, "model", None), "name", None)
    name = getattr(step.eager, "__name__", "step").strip("_")
    reason = " ".join(str(error).split())
    reason = reason if len(reason) <= 300 else reason[:297] + "..."
    log.warning(
        "nhanh: the %s step%s could not be captured as a graph (%s failed: %s: %s), so it runs "
        "as eager PyTorch code, which is several times slower. compile(run_eagerly=True) "
        "chooses that on purpose and hides this message.", name,
        f" of model {model!r}" if model else "", stage, type(error).__name__, reason)


@contextlib.contextmanager
def _quiet_torch_logs():
    """PyTorch's loggers switched off for a while (a failed trace logs a traceback at ERROR
    level through torch's own stderr handlers), then put back as they were."""
    manager = logging.Logger.manager
    loggers = [logger for name, logger in list(manager.loggerDict.items())
               if isinstance(logger, logging.Logger)
               and (name == "torch" or name.startswith("torch."))]
    root = logging.getLogger("torch")
    saved = [(logger, logger.disabled) for logger in loggers]
    level = root.level
    for logger in loggers:
        logger.disabled = True
    root.setLevel(logging.CRITICAL + 1)  # loggers torch creates meanwhile inherit this
    try:
        yield
    finally:
        root.setLevel(level)
        for logger, disabled in saved:
            logger.disabled = disabled


def _inductor(graph: torch.fx.GraphModule) -> Callable:
    return torch.compile(graph, dynamic=False)


def _written_inputs(graph: torch.fx.GraphModule) -> list[int]:
    """Positions of the graph's inputs that an op writes in place, through any views of them
    (erring towards too many: a position too many only costs a copy at the first replay)."""
    nodes = list(graph.graph.nodes)
    todo = [source for node in nodes if node.op == "call_function"
            and not (isinstance(node.target, torch._ops.OpOverload)
                     and not node.target._schema.is_mutable)
            for source in node.all_input_nodes]
    seen: set = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.op == "call_function":
            target = node.target
            if not isinstance(target, torch._ops.OpOverload) or any(
                    r.alias_info is not None for r in target._schema.returns):
                todo.extend(node.all_input_nodes)  # a view, or an item of a list
    placeholders = [node for node in nodes if node.op == "placeholder"]
    return [i for i, node in enumerate(placeholders) if node in seen]


# Ops whose kernels look at torch's grad mode, not only at their arguments: oneDNN's LSTM
# layer (PyTorch's fused LSTM on a CPU) leaves out the workspace its backward op needs when
# grad mode is off. The trace ran with it on (inside torch.autograd.grad's forward), the replay
# runs under no_grad, so these run with grad mode on, as traced.
_GRAD_MODE_OPS = {op for op in (getattr(getattr(torch.ops.aten, name, None), "default", None)
                                for name in ("mkldnn_rnn_layer",)) if op is not None}


def _needs_grad_mode(graph: torch.fx.GraphModule) -> bool:
    return any(node.target in _GRAD_MODE_OPS for node in graph.graph.nodes)


def _with_grad_mode(fn: Callable) -> Callable:
    def call(*args, **kwargs):
        with torch.enable_grad():
            return fn(*args, **kwargs)
    return call


# --- replaying a graph -----------------------------------------------------------------------

def _to_python(graph: torch.fx.GraphModule) -> Callable:
    """The graph as one plain Python function that calls each op's C++ entry point directly
    and frees every intermediate after its last use. GraphModule's own code goes through
    nn.Module.__call__ and a Python-level __call__ per op, a tenth of a small step's time."""
    nodes = list(graph.graph.nodes)
    last_use = {}
    for i, node in enumerate(nodes):
        for source in node.all_input_nodes:
            last_use[source] = i
    env: dict = {}
    names: dict = {}
    params, lines = [], []

    def render(arg) -> str:
        if isinstance(arg, torch.fx.Node):
            return names[arg]
        if isinstance(arg, (list, tuple)):
            inner = ", ".join(render(a) for a in arg)
            return f"[{inner}]" if isinstance(arg, list) else f"({inner}{',' if arg else ''})"
        name = f"k{len(env)}"
        env[name] = arg
        return name

    for i, node in enumerate(nodes):
        if node.op == "placeholder":
            names[node] = f"a{len(params)}"
            params.append(names[node])
        elif node.op == "get_attr":
            names[node] = render(getattr(graph, node.target))
        elif node.op == "call_function":
            target = node.target
            op = target._op if isinstance(target, torch._ops.OpOverload) else target
            fn = render(_with_grad_mode(op) if target in _GRAD_MODE_OPS else op)
            args = [render(a) for a in node.args]
            args += [f"{k}={render(v)}" for k, v in node.kwargs.items()]
            names[node] = f"v{i}"
            lines.append(f"v{i} = {fn}({', '.join(args)})")
        elif node.op == "output":
            lines.append(f"return {render(node.args[0])}")
            break
        else:
            raise NotImplementedError(f"graph node {node.op}")
        dead = [names[n] for n in node.all_input_nodes
                if last_use[n] == i and n.op == "call_function"]
        if dead:
            lines.append(f"del {', '.join(dead)}")
    source = f"def replay({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in lines)
    exec(compile(source, "<nhanh captured step>", "exec"), env)
    return env["replay"]
