"""Where Variables, the training state and batches go under the current distribution.

Every function here is a no-op (one global read) when no distribution is set, so the
single-device path pays nothing. Variables are laid out when they are made (directly into
their shards); a model built before the distribution was set is laid out when its training
steps are made (Steps, training/steps.py), so fit() never meets state on the wrong devices.
Inside a step, the batch is constrained to the data layout, and the new state to the
variables' layouts, so the compiler keeps every buffer where it was.
"""

from __future__ import annotations

import types

import numpy as np

from nhanh import backend as _backend
from nhanh.distribution import distribution_lib
from nhanh.distribution.distribution_lib import TensorLayout, distribution


def _engine():
    return _backend.get().distribution


def variable_layout(path: str, shape: tuple, layout=None) -> TensorLayout | None:
    """The layout for a Variable about to be made at `path` with `shape` (None without a
    distribution), checked against the shape: a layout that does not divide it fails here,
    before anything is allocated."""
    dist = distribution()
    if dist is None:
        return None
    layout = dist.get_variable_layout(types.SimpleNamespace(path=path, shape=tuple(shape),
                                                            _layout=layout))
    if layout.device_mesh is None:
        layout.device_mesh = dist.device_mesh
    layout.check_shape(shape, f"variable {path!r}")
    return layout


def make_value(make, layout: TensorLayout):
    """`make()`'s value, created directly in the layout's shards."""
    return _engine().create(make, layout)


def place_value(value, layout: TensorLayout):
    return _engine().distribute_value(value, layout)


def whole(value):
    """A Variable's value as eager code reads it: whole (PyTorch gathers a split one)."""
    return _engine().whole(value)


def place_as(value, old, dtype: str):
    """`value` (assigned to a Variable whose value is `old`) laid out as old is, when old
    spans several devices: host data goes straight into its shards. None otherwise."""
    if not distribution_lib.ever_set():  # (the common case: one look at a flag)
        return None
    engine = _engine()
    sharding = engine.sharding_of(old)
    if sharding is None:
        return None
    backend = _backend.get()
    if not backend.is_tensor(value):
        try:
            value = np.asarray(value).astype(backend.dtype_of(old), copy=False)
        except TypeError:  # a dtype NumPy does not name (bfloat16): converted on a device
            value = backend.convert_to_tensor(value, dtype)
    return engine.place_like(value, sharding)


def adopt_layouts(variables, optimizer) -> None:
    """Give Variables made before the distribution was set their layouts now, and an
    optimizer's slots their variable's layout (a slot of the variable's shape is split the
    same way, so the update needs no communication)."""
    dist = distribution()
    if dist is None:
        return
    for v in variables:
        if v._layout is None:
            v._layout = _layout_of(dist, v)
    for v, slots in getattr(optimizer, "_slots", {}).items():
        for slot in slots.values():
            if slot._layout is None and slot.shape == v.shape:
                slot._layout = v._layout


class StatePlacement:
    """The layouts of a step's state Variables (none without a distribution): the state is
    laid out with them before a step, and the step's new state pinned to them inside it.
    Where the engine keeps a split variable as this process's shard (PyTorch), a step is
    given the shards and gathers the whole values first (`whole`)."""

    def __init__(self, variables):
        dist = distribution()
        self.layouts = {} if dist is None else {id(v): _layout_of(dist, v) for v in variables}
        if dist is not None:  # PyTorch: every process starts from process 0's values
            engine = _engine()
            engine.synchronize([v._value for v in variables])
            for v in variables:  # (made before the distribution: cut into its shards now)
                storage = engine.relayout(v._value, self.layouts[id(v)])
                if storage is not None:
                    v._value = storage

    def place(self, variables, values) -> list:
        """Values of `variables` moved to (outside a step) or constrained to (inside) their
        layouts."""
        if not self.layouts:
            return values
        engine = _engine()
        return [engine.state_value(x, self.layouts[id(v)], v.shape)
                for v, x in zip(variables, values)]

    def place_state(self, groups, state) -> tuple:
        if not self.layouts:
            return state
        return tuple(self.place(group, values) for group, values in zip(groups, state))

    def keeps_shards(self) -> bool:
        """Whether this process holds only shards of some variables (PyTorch's ModelParallel):
        code that runs on the Variables themselves, outside a step, cannot train them."""
        engine = _engine()
        return any(engine.keeps_shards(layout) for layout in self.layouts.values())

    def whole(self, variables, values) -> list:
        """Inside a step: the whole values of `variables` from what the step was given."""
        if not self.layouts:
            return values
        engine = _engine()
        return [engine.gather_shards(x, self.layouts[id(v)]) for v, x in zip(variables, values)]

    def whole_state(self, groups, state) -> tuple:
        if not self.layouts:
            return state
        return tuple(self.whole(group, values) for group, values in zip(groups, state))


def _layout_of(dist, variable) -> TensorLayout:
    layout = dist.get_variable_layout(variable)
    if layout.device_mesh is None:
        layout.device_mesh = dist.device_mesh
    layout.check_shape(variable.shape, f"variable {variable.path!r}")
    return layout


def key() -> int:
    """Identity of the current distribution (compiled steps are made per distribution)."""
    return id(distribution())


def constrain_batch(data):
    """Inside a step: every array of the batch split over the batch axis along its first
    dimension, when that divides; a batch that does not (an epoch's short last batch) is
    computed whole on each device, which gives the same numbers."""
    dist = distribution()
    if dist is None:
        return data
    engine = _engine()
    if data_is_process_local() and engine.PROCESS_PER_DEVICE:
        engine.begin_step(True)  # the batch already is this process's rows
        return data
    rows = _rows(data)
    split = rows is not None and dist.splits_batch(rows)
    engine.begin_step(split)  # (PyTorch's hooks below act on split steps only)
    if not split:
        return data
    return _map(data, lambda x: engine.distribute_value(x, dist.get_data_layout(
        tuple(x.shape))) if getattr(x, "shape", ()) else x)


def _rows(data):
    """The batch's number of rows (its first array's first dimension), or None."""
    if isinstance(data, (tuple, list)):
        data = next((d for d in data if _rows(d) is not None), None)
        return None if data is None else _rows(data)
    if isinstance(data, dict):
        return _rows(list(data.values()))
    shape = tuple(getattr(data, "shape", ()))
    return shape[0] if shape else None


# --- what a step does with its results when its batch was split over processes (PyTorch;
# on JAX the compiler does all of it inside the step, and these return their input) --------
def reduce_gradients(grads: list) -> list:
    """Gradients averaged over the processes that each computed them on their rows."""
    return grads if distribution() is None else _engine().reduce_gradients(grads)


def metrics_before(values: list):
    """Copies of the metric accumulators before a split step changes them (in place on
    PyTorch), for reduce_metric_updates; None where nothing is to be summed."""
    return None if distribution() is None else _engine().metrics_before(values)


def reduce_metric_updates(before, new: list) -> list:
    """The accumulators after adding every process's update to `before`."""
    return new if before is None else _engine().reduce_metric_updates(before, new)


def sum_over_replicas(x):
    """x summed over the processes of a split step (batch statistics of the global batch)."""
    return x if distribution() is None else _engine().sum_over_replicas(x)


def batch_split_over_processes() -> bool:
    return distribution() is not None and _engine().step_is_split()


def gather_outputs(out):
    return out if distribution() is None else _map(out, _engine().gather_outputs)



def batch_input(x):
    """A host batch array as a step takes it: in its shards of the data layout (whole on
    each device when it does not divide). In a multi-process run every process passes the
    same global batch and holds only its shard; with auto_shard_dataset=False each process
    passes its own share and the global batch is their concatenation."""
    dist = distribution()
    if dist is None:
        return _backend.get().batch_input(x)
    engine = _engine()
    shape = tuple(x.shape)
    if dist.num_processes > 1 and not dist.auto_shard_dataset:
        return engine.process_local(x, dist.get_data_layout(shape))
    if shape and dist.splits_batch(shape[0]):
        return engine.distribute_value(x, dist.get_data_layout(shape))
    return engine.distribute_value(x, replicated(dist, len(shape)))


def data_is_process_local() -> bool:
    """Each process of a multi-process run was given its own share of the data
    (auto_shard_dataset=False): batches are then formed batch by batch from every process's
    rows, never kept whole on the devices."""
    dist = distribution()
    return dist is not None and dist.num_processes > 1 and not dist.auto_shard_dataset


def resident(x):
    """A whole data array kept on the devices for a call (the fused loops gather batches
    from it): a copy on each device of the mesh, so that gathering rows needs no transfer."""
    dist = distribution()
    if dist is None:
        return None
    return _engine().distribute_value(x, replicated(dist, len(tuple(x.shape))))


def replicated(dist, ndim: int) -> TensorLayout:
    return TensorLayout((None,) * ndim, dist.device_mesh)


def writes_files() -> bool:
    """Whether this process writes checkpoints, logs and saved models: process 0 only."""
    return _engine().process_id() == 0


def check_batch_size(batch_size: int, what: str = "batch_size") -> None:
    dist = distribution()
    if dist is not None:  # (each process's own rows: the global batch is all of theirs)
        dist.check_batch_size(batch_size * (dist.num_processes if data_is_process_local()
                                            else 1), what)


def _map(value, fn):
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return type(value)(_map(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: _map(v, fn) for k, v in value.items()}
    return fn(value)
