"""The host/device boundary of a model that starts with host-side layers (strings in).

Strings never reach a device. A model whose leading layers are `HostLayer`s
(TextVectorization, StringLookup, Hashing, ...) is split in two at the *boundary*: the host
prefix is the largest part of the graph that `HostLayer`s compute from the model's inputs
alone; the rest is the device part, which the engine compiles (and fuses) as for any model.

Where the prefix runs:

- `fit` / `evaluate` / `predict` / `*_on_batch` on arrays or lists: once per call, on the
  whole array, when the data adapter (training/data.py's ArrayData) takes the data. Host layers
  are deterministic, so each sample's encoding is the same every epoch; computing it once lets
  the numbers live on the device and the whole-epoch loops stay fused. Measured on 2 CPU cores
  (JAX; TextVectorization of 20k texts of 12 words, an Embedding-pooling-Dense model, batch
  32): the prefix costs 0.31 s on the whole array and 0.31 s per epoch in 625 batches; fit
  for 5 epochs takes 0.81 s with the prefix run once (0.30 s on ready-made token ids), 2.4 s
  fed batch by batch. The token ids take less memory than the strings they replace; a
  TextVectorization without `output_sequence_length` pads to the longest text of the data
  (one shape, one compilation) rather than of each batch.
- Arrays whose encoding would pass `WHOLE_LIMIT` bytes (estimated from the first rows; a
  multi_hot or tf_idf encoding of a large vocabulary, say) are encoded batch by batch
  instead, as each batch is taken (`HostRows`): memory stays bounded, at the cost of the
  fused loops (and, for a TextVectorization without `output_sequence_length`, of one
  compilation per distinct padded length).
- Generators, DataLoaders and PyDatasets: per batch, as each batch is taken.
- `model(x)` eagerly: on the host, before the device layers run.

How it is wired: fit / evaluate / predict run inside `feeding(model)` (set by
training/adapters.py's `closes_sources`), and every ArrayData made meanwhile passes its x
through `prepare_x`; the `*_on_batch` methods call `prepared`. The device part receives the
boundary values as one dict `{"__host_boundary_0": ..., ...}`
(numeric arrays, one per boundary tensor): a compiled step sees only numbers, and the model's
`call` recognises the dict and starts after the prefix. A subclassed model has no graph to
split; its host layers must be applied in the data pipeline (e.g. `dataset.map(layer)`).
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from nhanh.layers.host_layer import HostLayer
from nhanh.layers.symbolic import flatten, is_symbolic, map_structure

KEY = "__host_boundary_"


class MisplacedHostLayer(ValueError):
    """A host layer that needs a device layer's output: it cannot run before the step."""


class HostPlan:
    """The prefix of one model: its host layers, and the tensors that cross the boundary."""

    def __init__(self, host_layers: list, misplaced: tuple | None = None):
        self.host_layers = host_layers
        self.misplaced = misplaced  # (host layer, the device layer before it)

    @property
    def empty(self) -> bool:
        return not self.host_layers

    def check(self) -> None:
        if self.misplaced is not None:
            host, device = self.misplaced
            raise MisplacedHostLayer(
                f"Layer {host.name!r} ({type(host).__name__}) computes on the host, but it "
                f"comes after layer {device.name!r} ({type(device).__name__}), which computes "
                "on the device; host layers can only run before the compiled step, on the "
                f"model's inputs. Move {host.name!r} to the start of the model (or into the "
                "data pipeline, e.g. `dataset.map(layer)`), before the device layers.")

    def fed(self, values: list) -> dict:
        return {f"{KEY}{i}": v for i, v in enumerate(values)}


class SequentialPlan(HostPlan):
    """A Sequential model's prefix: its leading HostLayers."""

    def __init__(self, stack: list):
        count = 0
        while count < len(stack) and isinstance(stack[count], HostLayer):
            count += 1
        later = next((i for i in range(count, len(stack)) if isinstance(stack[i], HostLayer)),
                     None)
        misplaced = None if later is None else (stack[later], stack[later - 1])
        super().__init__(stack[:count], misplaced)

    def preprocess(self, model, x) -> dict:
        if not model.built:
            model.build((None, *np.shape(x)[1:]))
        for layer in self.host_layers:
            x = layer(x)
        return self.fed([x])

    def device_layers(self, stack: list) -> list:
        return stack[len(self.host_layers):]


class FunctionalPlan(HostPlan):
    """A functional model's prefix: the host nodes computed from inputs and host nodes only;
    the boundary is every input or host-node output that a device node (or the model's
    output) uses."""

    def __init__(self, model):
        host_ids = {id(t) for t in model.inputs}
        host_nodes, device_nodes, misplaced = [], [], None
        for node in model._nodes:
            if isinstance(node.layer, HostLayer) and all(
                    id(t) in host_ids for t in node.input_tensors):
                host_nodes.append(node)
                host_ids.update(id(t) for t in node.output_tensors)
            else:
                if isinstance(node.layer, HostLayer) and misplaced is None:
                    needed = {id(t) for t in node.input_tensors}
                    before = next((n.layer for n in reversed(device_nodes) if any(
                        id(o) in needed for o in n.output_tensors)), node.layer)
                    misplaced = (node.layer, before)
                device_nodes.append(node)
        super().__init__([n.layer for n in host_nodes], misplaced)
        self.host_nodes, self.device_nodes = host_nodes, device_nodes
        used = [t for n in device_nodes for t in n.input_tensors] + list(model.outputs)
        seen, boundary = set(), []
        for t in used:
            if id(t) in host_ids and id(t) not in seen:
                seen.add(id(t))
                boundary.append(t)
        self.boundary = boundary if host_nodes else []

    def preprocess(self, model, x) -> dict:
        values = {id(t): _match_rank(v, t) for t, v in zip(model.inputs, model._match_inputs(x))}
        for node in self.host_nodes:
            def real(t):
                return values[id(t)] if hasattr(t, "_node") and id(t) in values else t

            out = node.layer(*map_structure(real, node.args), **map_structure(real, node.kwargs))
            for t, value in zip(node.output_tensors, flatten(out)):
                values[id(t)] = value
        return self.fed([values[id(t)] for t in self.boundary])

    def seed(self, fed: dict) -> dict:
        """The device part's starting values, by tensor id, from a fed dict."""
        return {id(t): fed[f"{KEY}{i}"] for i, t in enumerate(self.boundary)}


def _match_rank(value, tensor):
    """A column of scalars for an Input of shape (1,) gets its trailing axis (as Keras's
    functional models do): [a, b] -> [[a], [b]]."""
    shape = tuple(tensor.shape)
    if len(shape) == 2 and shape[-1] == 1 and np.ndim(value) == 1:
        return np.asarray(value)[:, None]
    return value


def plan(model) -> HostPlan | None:
    """The model's host prefix plan (cached until its layers change); None when it has none
    or is not a Sequential or functional model."""
    stack = getattr(model, "_stack", None)
    nodes = getattr(model, "_nodes", None)
    if stack is None and nodes is None:
        return None
    key = (tuple(id(layer) for layer in stack) if stack is not None else id(nodes))
    cached = model.__dict__.get("_host_plan_cache")
    if cached is not None and cached[0] == key:
        return cached[1]
    result = SequentialPlan(list(stack)) if stack is not None else FunctionalPlan(model)
    object.__setattr__(model, "_host_plan_cache", (key, result))
    return result


def is_fed(inputs) -> bool:
    """Whether inputs are the boundary values of a host prefix (see the module docstring)."""
    return isinstance(inputs, dict) and bool(inputs) and all(
        isinstance(k, str) and k.startswith(KEY) for k in inputs)


def to_boundary(model, inputs):
    """For an eager `model(inputs)`: raw inputs run through the host prefix; anything else
    (symbolic tensors, boundary values, a model without a prefix) passes unchanged."""
    if is_fed(inputs) or is_symbolic(inputs):
        return inputs
    p = plan(model)
    if p is None or p.empty:
        return inputs
    return p.preprocess(model, inputs)


# --- the data side: which model the data adapter is preparing data for -------------------------
class _Current(threading.local):
    models: list = []


_current = _Current()


def _active_plan(model) -> HostPlan | None:
    """The model's plan when it has a host prefix (raising for a misplaced host layer)."""
    p = plan(model) if model is not None else None
    if p is None:
        return None
    p.check()
    return None if p.empty else p


@contextlib.contextmanager
def feeding(model):
    """While fit/evaluate/predict of `model` runs, its data adapters apply its host prefix
    (a method of anything else, or a model without a prefix, changes nothing)."""
    p = _active_plan(model) if hasattr(model, "_nodes") or hasattr(model, "_stack") else None
    stack = _current.__dict__.setdefault("models", [])
    stack.append((model, p))
    try:
        yield
    finally:
        stack.pop()


def prepare_x(x):
    """x as the data adapter should hold it: through the prefix of the model being fed (if
    any), whole, or as HostRows when its encoding would pass WHOLE_LIMIT bytes; unchanged
    when there is no prefix or x already holds boundary values."""
    stack = _current.__dict__.get("models")
    if not stack or stack[-1][1] is None or x is None or is_fed(x):
        return x
    model, p = stack[-1]
    rows = HostRows(model, p, x)
    if len(rows) <= PROBE_ROWS:
        return p.preprocess(model, x)
    probe = p.preprocess(model, rows.raw_rows(np.arange(PROBE_ROWS)))
    per_row = sum(np.asarray(v).nbytes for v in probe.values()) / PROBE_ROWS
    return p.preprocess(model, x) if per_row * len(rows) <= WHOLE_LIMIT else rows


#: Encodings up to this size are computed once per call, whole; larger ones batch by batch.
WHOLE_LIMIT = 256 * 2 ** 20
PROBE_ROWS = 64


class HostRows:
    """Raw samples whose host prefix runs when a batch of them is taken: in-memory data whose
    encoding is too large to hold whole (ArrayData cuts it as it cuts arrays)."""

    def __init__(self, model, plan: HostPlan, raw, rows: np.ndarray | None = None):
        self.model, self.plan = model, plan
        if rows is None:
            raw = _raw_arrays(model, raw)
        self.raw = raw
        first = next(iter(raw.values())) if isinstance(raw, dict) else \
            raw[0] if isinstance(raw, list) else raw
        self.rows = np.arange(len(first)) if rows is None else rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index) -> "HostRows":
        return HostRows(self.model, self.plan, self.raw, self.rows[index])

    def raw_rows(self, index):
        rows = self.rows[index]
        if isinstance(self.raw, dict):
            return {k: v[rows] for k, v in self.raw.items()}
        if isinstance(self.raw, list):
            return [v[rows] for v in self.raw]
        return self.raw[rows]

    def encode(self) -> dict:
        """These rows through the host prefix: the boundary values of one batch."""
        return self.plan.preprocess(self.model, self.raw_rows(slice(None)))


def _raw_arrays(model, x):
    """x's leaves as NumPy arrays, in x's structure (one input, a list, or a dict)."""
    if isinstance(x, dict):
        return {k: np.asarray(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and len(getattr(model, "inputs", None) or [None]) > 1:
        return [np.asarray(v) for v in x]
    return np.asarray(x)


def prepared(model, x):
    """x through `model`'s host prefix, if it has one (the *_on_batch methods)."""
    p = _active_plan(model)
    return x if p is None or x is None or is_fed(x) else p.preprocess(model, x)
