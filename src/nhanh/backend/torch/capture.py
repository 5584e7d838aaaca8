"""Training steps on PyTorch as captured graphs: traced once per input signature, replayed after.

Eager PyTorch pays Python for every op of nhanh's layers, losses, metrics and optimizer, on
every step: for a small model that overhead is most of the step. nhanh's steps are pure
functions of (state, batch) (that is how JAX compiles them), so the same function can be traced
once with fake tensors by `make_fx`, which records the ATen ops it runs (the forward pass, the
backward pass torch.autograd.grad produces, the in-place optimizer update) as one straight-line
graph. Later calls with the same signature replay the graph. With `jit_compile=True` the graph
also goes through `torch.compile` (Inductor), which fuses its elementwise ops.

A step that cannot be traced (it reads a device value on the host, or branches on one) runs
eagerly instead, and the reason is logged on the "nhanh" logger at debug level.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import torch
from torch.fx.experimental.proxy_tensor import make_fx

from nhanh.backend.torch.graph_rewrites import tidy

log = logging.getLogger("nhanh")

_EAGER = object()  # a signature whose step runs eagerly


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
        except TypeError:  # an unhashable constant argument: nothing to key a graph on
            return self.eager(*args)
        if entry is None:
            entry = self._graphs[key] = self._capture(structure, leaves)
        if entry is _EAGER:
            return self.eager(*args)
        replay, out_structure = entry
        return _build(out_structure, iter(replay(*leaves)))

    def _capture(self, structure, leaves: list):
        out: dict = {}

        def flat(*tensors):
            outputs: list = []
            out["structure"] = _flatten(self.fn(*_build(structure, iter(tensors))), outputs)
            return outputs

        try:
            graph = make_fx(flat, tracing_mode="fake", _allow_non_fake_inputs=True)(*leaves)
        except Exception as error:  # anything make_fx cannot follow: run it as Python
            log.debug("nhanh: %s runs eagerly on PyTorch, it could not be captured: %s: %s",
                      getattr(self.fn, "__name__", "a step"), type(error).__name__, error)
            return _EAGER
        tidy(graph)
        run = torch.compile(graph, dynamic=False) if self.jit_compile else _to_python(graph)
        return run, out["structure"]


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
            fn = render(target._op if isinstance(target, torch._ops.OpOverload) else target)
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
