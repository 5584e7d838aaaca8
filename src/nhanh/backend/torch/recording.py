"""A training step run for real once while every ATen op it calls is written down as an fx graph.

Capturing with make_fx traces on fake tensors, and its first use in a process imports
torch._dynamo, torch._inductor's config and sympy: about 0.9 s on a CPU, most of a small
model's first fit. Recording needs none of that: a TorchDispatchMode sees each op below autograd
(the forward pass, the backward pass torch.autograd.grad runs, the optimizer's in-place update)
with the real tensors, runs it, and adds a node for it. The step's own result is the first
step's result, and the graph replays from the second call on.

What a real run could hide is refused, and the step goes to make_fx (then, failing that, runs
eagerly) as before recording existed:
- a value read on the host (`item()`, `bool(t)`, `.numpy()`, `.tolist()`) or a result whose
  shape depends on the data (`unique`, `nonzero`): the first step's value or shape would be
  frozen into the graph (make_fx's fake tensors keep a scalar that only feeds ops symbolic);
- a branch on a tensor (`ops.cond`): make_fx records both branches, a real run only one.
Inputs written in place are copied just before their first write, so that a refused recording
can put them back and the step can run again from the same state.
"""

from __future__ import annotations

import operator
import threading
from typing import Callable, NamedTuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class Refused(Exception):
    """The step did something a recording cannot replay faithfully."""


_recording = threading.local()  # .active: this thread is running a step under a Recorder


def active() -> bool:
    return getattr(_recording, "active", False)


class _HostReadGuard:
    """While recording on this thread, Tensor.numpy / tolist raise (they read memory without
    going through the dispatcher, so the Recorder would not see them)."""

    _lock = threading.Lock()
    _depth = 0
    _saved: dict = {}

    def __enter__(self):
        with self._lock:
            if _HostReadGuard._depth == 0:
                for name in ("numpy", "tolist"):
                    original = getattr(torch.Tensor, name)
                    _HostReadGuard._saved[name] = original
                    setattr(torch.Tensor, name, _guarded(name, original))
            _HostReadGuard._depth += 1

    def __exit__(self, *exc):
        with self._lock:
            _HostReadGuard._depth -= 1
            if _HostReadGuard._depth == 0:
                for name, original in _HostReadGuard._saved.items():
                    if name in torch.Tensor.__dict__:
                        delattr(torch.Tensor, name)
                    if getattr(torch.Tensor, name) is not original:  # defined on Tensor itself
                        setattr(torch.Tensor, name, original)
                _HostReadGuard._saved.clear()


def _guarded(name: str, original: Callable) -> Callable:
    def method(self, *args, **kwargs):
        if active():
            raise Refused(f"Tensor.{name}() reads a value on the host")
        return original(self, *args, **kwargs)
    return method


# Ops whose output shape depends on the values (unique, nonzero) or that hand a value to the host
# (item, equal): a recording would keep the first step's shape or value for good.
_DATA_DEPENDENT = {torch.Tag.dynamic_output_shape, torch.Tag.data_dependent_output}


class _Described(NamedTuple):
    """What graph_rewrites reads of a result: its shape, dtype and device."""
    shape: torch.Size
    dtype: torch.dtype
    device: torch.device

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def numel(self) -> int:
        return self.shape.numel()


def _storage(t: torch.Tensor):
    try:
        return t.untyped_storage()._cdata
    except (RuntimeError, NotImplementedError):  # no storage (a sparse tensor, say)
        return None


class Recorder(TorchDispatchMode):
    """Runs ops for real and writes them down; see the module docstring."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # (True wraps the hook in torch._dynamo.disable, importing dynamo)

    def __init__(self, inputs: list):
        super().__init__()
        self.graph = torch.fx.Graph()
        self.constants: dict[str, torch.Tensor] = {}
        self.nodes: dict[int, tuple[object, torch.fx.Node]] = {}
        self.inputs = inputs
        self.input_storage: dict = {}
        for i, t in enumerate(inputs):
            node = self.graph.placeholder(f"a{i}")
            self._bind(t, node)
            self.input_storage.setdefault(_storage(t), []).append(i)
        self.older: set = set()  # storages of the constants: tensors made before the step
        self.made: set = set()  # storages of what the step's ops made
        # values before the step's first write: of inputs (by position), of other older tensors
        self.saved: dict[int, torch.Tensor] = {}
        self.saved_older: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    # --- tensors <-> nodes ------------------------------------------------------------------
    def _bind(self, t: torch.Tensor, node: torch.fx.Node) -> None:
        # Keyed by the C++ tensor, weakly: intermediates die as in eager code (a Python
        # reference, even a weak one, keeps a tensor's memory while the step runs), the tensor
        # object is not reused while the weak reference exists, and a tensor that comes back
        # to Python as a new object (autograd's saved tensors) is still found.
        self.nodes[t._cdata] = (torch._C._WeakTensorRef(t), node)
        # What graph_rewrites reads. (Not a tensor, not even on the meta device: a tensor object
        # per op, kept while the step runs, made its peak memory up to twice eager code's.)
        node.meta["val"] = _Described(t.shape, t.dtype, t.device)

    def node_of(self, value):
        if isinstance(value, torch.Tensor):
            known = self.nodes.get(value._cdata)
            if known is not None and not known[0].expired():
                return known[1]
            name = f"_constant{len(self.constants)}"  # made before the step: kept as it is
            self.constants[name] = value
            self.older.add(_storage(value))
            node = self.graph.get_attr(name)
            self._bind(value, node)
            return node
        if isinstance(value, (list, tuple)):
            return type(value)(self.node_of(v) for v in value)
        if isinstance(value, dict):  # keyword-only tensors: `out=`
            return {k: self.node_of(v) for k, v in value.items()}
        return value

    # --- the dispatch hook --------------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.namespace == "prim":  # metadata (a tensor's device): nothing to replay
            return func(*args, **kwargs)
        if _DATA_DEPENDENT.intersection(func.tags):  # (before it runs: nothing to put back)
            raise Refused(f"{func}'s result (its shape, or a value read on the host) depends "
                          "on the data")
        if func._schema.is_mutable:
            self._save_before_writing(func, args, kwargs)
        out = func(*args, **kwargs)
        node = self.graph.call_function(func, self.node_of(args), self.node_of(kwargs))
        if isinstance(out, torch.Tensor):
            self._bind_made(out, node)
        elif isinstance(out, (tuple, list)):
            for i, item in enumerate(out):
                if isinstance(item, torch.Tensor):
                    self._bind_made(item, self.graph.call_function(operator.getitem, (node, i)))
                elif item is not None:
                    raise Refused(f"{func} returned a {type(item).__name__} to the host")
        elif out is not None:
            raise Refused(f"{func} returned a {type(out).__name__} to the host")
        return out

    def _bind_made(self, t: torch.Tensor, node: torch.fx.Node) -> None:
        storage = _storage(t)
        if storage not in self.input_storage and storage not in self.older:
            self.made.add(storage)
        self._bind(t, node)

    def _save_before_writing(self, func, args, kwargs) -> None:
        """Copy what `func` is about to write, unless the step itself made it."""
        written = []
        for position, arg in enumerate(func._schema.arguments):
            if arg.alias_info is not None and arg.alias_info.is_write:
                value = args[position] if position < len(args) else kwargs.get(arg.name)
                written.extend(value if isinstance(value, (list, tuple)) else [value])
        for t in written:
            if not isinstance(t, torch.Tensor):
                continue
            storage = _storage(t)
            positions = self.input_storage.get(storage, ())
            for i in positions:
                if i not in self.saved:
                    self.saved[i] = self.inputs[i].detach().clone()
            if not positions and storage not in self.made and id(t) not in self.saved_older:
                self.saved_older[id(t)] = (t, t.detach().clone())

    def restore(self) -> None:
        """Put what the step wrote, of the inputs and of older tensors, back as it was."""
        with torch.no_grad():
            for i, value in self.saved.items():
                self.inputs[i].copy_(value)
            for t, value in reversed(self.saved_older.values()):
                t.copy_(value)
        self.saved.clear()
        self.saved_older.clear()

    def module(self, outputs: list) -> torch.fx.GraphModule:
        self.graph.output([self.node_of(t) for t in outputs])
        return torch.fx.GraphModule(self.constants, self.graph)


def record(fn: Callable[..., list], inputs: list) -> tuple[torch.fx.GraphModule, list]:
    """Run fn(*inputs) (which returns a flat list of tensors) once, recording it: (the graph,
    fn's outputs). On Refused or any other error the inputs fn wrote are put back first."""
    recorder = Recorder(inputs)
    _recording.active = True
    try:
        with _HostReadGuard(), recorder:
            outputs = fn(*inputs)
        graph = recorder.module(outputs)
    except BaseException:
        _recording.active = False
        recorder.restore()
        raise
    _recording.active = False
    return graph, outputs
