"""Rewrites of a captured PyTorch graph that keep its values and make replaying it cheaper.

Layers, losses and metrics are written once for every engine, so a captured step holds ops that
do nothing (x * 1.0 for a loss weight of one), the same op twice, and arithmetic on constants.
Replaying costs a few microseconds per op, so they are worth removing once, at capture. Ops that
write memory in place (the optimizers' updates, masked_fill_ in backward passes) and everything
sharing memory with them are left exactly where they are.
"""

from __future__ import annotations

import torch

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


def tidy(graph: torch.fx.GraphModule) -> None:
    """Rewrite `graph` in place (see the module docstring) and recompile it."""
    g = graph.graph
    for node in list(g.nodes):
        if node.op == "call_function" and node.target is _aten.detach.default:
            node.replace_all_uses_with(node.args[0])  # replay records nothing for autograd
            g.erase_node(node)
    _fuse_bias_adds(g)
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


def _fuse_bias_adds(g: torch.fx.Graph) -> None:
    """mm(x, w) + b, with b a vector along the last axis, as one addmm (Dense's matmul and
    bias in one kernel, as nn.Linear does), when nothing is written in place in between."""
    position = {node: i for i, node in enumerate(g.nodes)}
    writes = [position[n] for n in g.nodes if n.op == "call_function" and not _functional(n)]
    for node in list(g.nodes):
        if node.target is not _aten.add.Tensor or len(node.args) != 2 or node.kwargs:
            continue
        for mm, bias in (node.args, node.args[::-1]):
            if isinstance(mm, torch.fx.Node) and mm.target is _aten.mm.default \
                    and len(mm.users) == 1 and isinstance(bias, torch.fx.Node):
                break
        else:
            continue
        out, b = _val(node), _val(bias)
        if out is None or b is None or b.ndim != 1 or b.dtype != out.dtype \
                or out.shape != _val(mm).shape or b.shape[0] != out.shape[-1] \
                or any(position[mm] < i < position[node] for i in writes):
            continue
        with g.inserting_before(node):
            fused = g.call_function(_aten.addmm.default, (bias, *mm.args))
        fused.meta["val"] = out
        node.replace_all_uses_with(fused)
        g.erase_node(node)
        g.erase_node(mm)


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
    val = _frozen_val(node, outputs)
    if val is None:
        return False
    _replace_with_constant(graph, node, torch.full(val.shape, _FILLED_LIKE[node.target],
                                                   dtype=val.dtype, device=val.device))
    return True


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return None
    return value


def _fold_constant(graph: torch.fx.GraphModule, node, outputs: set) -> bool:
    """Compute now an op whose inputs are all constants."""
    inputs = node.all_input_nodes
    if any(n.op != "get_attr" for n in inputs) or _frozen_val(node, outputs) is None:
        return False
    constants = {n: getattr(graph, n.target) for n in inputs}
    args = torch.fx.node.map_arg(node.args, lambda n: constants[n])
    kwargs = torch.fx.node.map_arg(node.kwargs, lambda n: constants[n])
    _replace_with_constant(graph, node, node.target(*args, **kwargs))
    return True


def _frozen_val(node, outputs: set):
    """node's (fake) value if its result may be stored in the graph as a constant: small, and
    not handed out (a graph output, or written in place later), where the stored tensor could
    change; else None."""
    val = _val(node)  # (a fake tensor from make_fx, or recording's description of a result)
    if not callable(getattr(val, "numel", None)) or val.numel() > _FOLD_LIMIT \
            or node in outputs or any(not _functional(user) for user in node.users):
        return None
    return val


def _replace_with_constant(graph: torch.fx.GraphModule, node, value: torch.Tensor) -> None:
    name = f"_constant_{node.name}"
    graph.register_buffer(name, value, persistent=False)
    with graph.graph.inserting_before(node):
        constant = graph.graph.get_attr(name)
    constant.meta["val"] = node.meta["val"]
    node.replace_all_uses_with(constant)
    graph.graph.erase_node(node)
