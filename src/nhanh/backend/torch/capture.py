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
        _tidy(graph)
        run = torch.compile(graph, dynamic=False) if self.jit_compile else _to_python(graph)
        return run, out["structure"]


# --- tidying a captured graph ----------------------------------------------------------------
# Layers, losses and metrics are written for every engine, so a captured step holds ops that do
# nothing (x * 1.0 for a loss weight of one), the same op twice, and arithmetic on constants.
# Replaying costs a few microseconds per op, so they are worth removing once.

_aten = torch.ops.aten
_IDENTITY_SCALAR = {  # op -> the scalar second argument that makes it return its first
    _aten.mul.Tensor: 1, _aten.mul.Scalar: 1, _aten.div.Tensor: 1, _aten.div.Scalar: 1,
    _aten.add.Tensor: 0, _aten.add.Scalar: 0, _aten.sub.Tensor: 0, _aten.sub.Scalar: 0,
    _aten.pow.Tensor_Scalar: 1,
}
_FOLD_LIMIT = 4096  # elements: larger constants stay computed, not stored in the graph


def _val(node):
    return node.meta.get("val") if isinstance(node, torch.fx.Node) else None


def _functional(node) -> bool:
    target = node.target
    return (node.op == "call_function" and isinstance(target, torch._ops.OpOverload)
            and not target._schema.is_mutable
            and torch.Tag.nondeterministic_seeded not in target.tags)


def _aliases(node) -> bool:
    """Whether node's result may share memory with its inputs (a view, an in-place op's
    return, an item of a list)."""
    target = node.target
    if isinstance(target, torch._ops.OpOverload):
        return any(r.alias_info is not None for r in target._schema.returns)
    return node.op == "call_function"  # operator.getitem and the like: assume so


def _changing(g: torch.fx.Graph) -> set:
    """Nodes whose memory some op writes in place (the optimizer's state, backward passes'
    masked_fill_), and every node sharing memory with one: their value depends on when it is
    read, so the rewrites below leave them and their readers alone."""
    changing = set()
    for node in g.nodes:
        if node.op == "call_function" and not _functional(node):
            changing.add(node)
            changing.update(node.all_input_nodes)
    grew = True
    while grew:
        grew = False
        for node in g.nodes:
            if node.op == "call_function" and _aliases(node):
                group = {node, *node.all_input_nodes}
                if group & changing and not group <= changing:
                    changing |= group
                    grew = True
    return changing


def _tidy(graph: torch.fx.GraphModule) -> None:
    g = graph.graph
    for node in list(g.nodes):
        if node.op == "call_function" and node.target is _aten.detach.default:
            node.replace_all_uses_with(node.args[0])  # replay records nothing for autograd
            g.erase_node(node)
    outputs = set(next(iter(reversed(g.nodes))).all_input_nodes)
    changing = _changing(g)
    seen: dict = {}
    for node in list(g.nodes):
        if not _functional(node) or node in changing or \
                any(n in changing for n in node.all_input_nodes):
            continue
        if _drop_identity(node):
            continue
        if node.target in _FILLED_LIKE and _filled_constant(graph, node, outputs):
            continue
        if _fold_constant(graph, node, outputs):
            continue
        key = (node.target, _hashable(node.args), _hashable(node.kwargs))
        if key[1] is not None and key[2] is not None:
            if key in seen:  # the same op on the same inputs: reuse the first result
                node.replace_all_uses_with(seen[key])
                g.erase_node(node)
                continue
            seen[key] = node
    g.eliminate_dead_code()
    graph.recompile()


def _drop_identity(node) -> bool:
    scalar = _IDENTITY_SCALAR.get(node.target)
    if scalar is None or len(node.args) != 2 or node.kwargs.get("alpha", 1) != 1:
        return False
    first, second = node.args
    if isinstance(second, bool) or not isinstance(second, (int, float)) or second != scalar:
        return False
    before, after = _val(first), _val(node)
    if before is None or after is None or before.dtype != after.dtype \
            or before.shape != after.shape:
        return False
    node.replace_all_uses_with(first)
    node.graph.erase_node(node)
    return True


_FILLED_LIKE = {_aten.ones_like.default: 1, _aten.zeros_like.default: 0}


def _filled_constant(graph: torch.fx.GraphModule, node, outputs: set) -> bool:
    """ones_like / zeros_like depend on their input's shape only: make them constants."""
    val = _val(node)
    if val is None or val.numel() > _FOLD_LIMIT or node in outputs \
            or any(not _functional(user) for user in node.users):
        return False
    name = f"_filled_{node.name}"
    graph.register_buffer(name, torch.full(val.shape, _FILLED_LIKE[node.target],
                                           dtype=val.dtype, device=val.device),
                          persistent=False)
    with graph.graph.inserting_before(node):
        filled = graph.graph.get_attr(name)
    filled.meta["val"] = val
    node.replace_all_uses_with(filled)
    graph.graph.erase_node(node)
    return True


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return None
    return value


def _fold_constant(graph: torch.fx.GraphModule, node, outputs: set) -> bool:
    """Compute now an op whose inputs are all constants, unless its result is handed out
    (a graph output, or written in place later): then the stored tensor could change."""
    inputs = node.all_input_nodes
    if any(n.op != "get_attr" for n in inputs) or node in outputs:
        return False
    if any(not _functional(user) for user in node.users):
        return False
    val = _val(node)
    if not isinstance(val, torch.Tensor) or val.numel() > _FOLD_LIMIT:
        return False
    constants = {n: getattr(graph, n.target) for n in inputs}
    args = torch.fx.node.map_arg(node.args, lambda n: constants[n])
    kwargs = torch.fx.node.map_arg(node.kwargs, lambda n: constants[n])
    value = node.target(*args, **kwargs)
    name = f"_folded_{node.name}"
    graph.register_buffer(name, value, persistent=False)
    with graph.graph.inserting_before(node):
        folded = graph.graph.get_attr(name)
    folded.meta["val"] = val
    node.replace_all_uses_with(folded)
    graph.graph.erase_node(node)
    return True


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
