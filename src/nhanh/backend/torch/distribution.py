"""Distribution on PyTorch: one process per device, joined by torch.distributed.

PyTorch runs one program per process (torchrun's model), so a mesh's devices are processes
(their ranks): 'cpu:0'..'cpu:N-1' on the gloo backend, 'gpu:0'.. on NCCL. Under DataParallel
every process holds all the variables (process 0's values, broadcast when they are made) and
takes its rows of each global batch. A training step then computes on those rows; the hooks
below make it give the numbers of one device on the whole batch:

- the gradients are averaged over processes before the optimizer sees them (one flat,
  bucketed all-reduce, as DDP does);
- batch-normalization statistics are sums over every process's rows (a differentiable
  all-reduce; PyTorch's CPU build has no SyncBatchNorm);
- metric accumulators add every process's update (an all-reduce of the step's change);
- predictions are gathered from every process.

The collectives are PyTorch's functional ones, so a step that holds them is captured and
replayed like any other (backend/torch/capture.py).

A batch that does not split evenly (an epoch's short last batch) is computed whole by every
process, and the hooks do nothing for it.

ModelParallel: a variable whose layout splits it over processes is a DTensor (Shard placements
on torch's DeviceMesh), so each process keeps only its shard, and so do the optimizer's slots,
which take their variable's layout. This is FSDP2's model rather than tensor parallelism: a
step is given the local shards, gathers each whole value inside the captured graph (a
functional all-gather over the mesh axis it is split on), computes as one device would, and
keeps the local shard of the new value. Rows of a batch are split over the batch axis only:
processes that differ along the model axis compute the same rows, so every reduction above is
over the processes of the batch axis (the mesh's sub-group), and they draw the same random
stream.
"""

from __future__ import annotations

import functools
import itertools
import os

import numpy as np
import torch
import torch.distributed as dist
# PyTorch's functional collectives: unlike dist.all_reduce, they return new tensors, so the
# captured training steps (make_fx) record them like any other op.
import torch.distributed._functional_collectives as _functional

from nhanh.backend.torch import core

# Whether the running step's batch is split over processes, and if so the processes it is
# split over (the batch axis's group: all of them unless a model axis has size > 1), their
# number, and this process's place among them.
_local = {"split": False, "group": None, "size": 1, "index": 0}


MORE_DEVICES = ("On PyTorch each device of a mesh is a process: launch one per device "
                "(torchrun --nproc-per-node=N script.py) and call "
                "nhanh.distribution.initialize() first.")


def _initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def num_processes() -> int:
    return dist.get_world_size() if _initialized() else 1


def process_id() -> int:
    return dist.get_rank() if _initialized() else 0


def _kind() -> str:
    return "gpu" if _initialized() and dist.get_backend() == "nccl" else "cpu"


def list_devices(kind: str | None = None) -> list[str]:
    """In a multi-process run, one device per process ('cpu:<rank>' or 'gpu:<rank>');
    otherwise this process's devices."""
    if _initialized():
        found = _kind()
        return [f"{found}:{r}" for r in range(num_processes())] if kind in (None, found) else []
    gpus = torch.cuda.device_count()
    if kind == "gpu" or (kind is None and gpus):
        return [f"gpu:{i}" for i in range(gpus)]
    return ["cpu:0"] if kind in (None, "cpu") else []


def to_backend_mesh(mesh):
    """torch's DeviceMesh over the processes (a one-process run makes none: nothing to
    split)."""
    ranks = np.vectorize(lambda name: int(name.split(":")[1]))(mesh.devices)
    if mesh.devices.size > 1 and mesh.devices.size != num_processes():
        raise ValueError(f"{mesh}: this run has {num_processes()} process(es) for "
                         f"{mesh.devices.size} devices. {MORE_DEVICES}")
    if mesh.devices.size == 1:
        return None
    from torch.distributed.device_mesh import DeviceMesh

    device_type = "cuda" if _kind() == "gpu" else "cpu"
    return DeviceMesh(device_type, torch.as_tensor(ranks), mesh_dim_names=mesh.axis_names)


def to_backend_layout(layout):
    """The layout itself, checked against the processes (variables split along their
    layout's axes, batches along the batch axis)."""
    mesh = layout.device_mesh
    mesh.backend_mesh  # noqa: B018 - checks the mesh against the processes
    return layout


def _splits_variable(layout) -> bool:
    mesh = layout.device_mesh
    return any(axis is not None and mesh.axis_size(axis) > 1 for axis in layout.axes)


def _placements(layout) -> list:
    """DTensor placements: Shard(d) on the mesh axis tensor dimension d is split over,
    Replicate() on the others."""
    from torch.distributed.tensor import Replicate, Shard

    mesh = layout.device_mesh
    dims = {axis: d for d, axis in enumerate(layout.axes) if axis is not None}
    return [Shard(dims[name]) if name in dims else Replicate() for name in mesh.axis_names]


def _spec(layout) -> tuple:
    """(torch's DeviceMesh, DTensor placements) of a layout."""
    return layout.device_mesh.backend_mesh, _placements(layout)


def _block(x, spec: tuple, where) -> object:
    """The shard of a whole value x (a tensor or host array) that the process at mesh
    coordinate `where` holds: along each split dimension, the block at that coordinate."""
    mesh, placements = spec
    for i, placement in enumerate(placements):
        if placement.is_shard():
            d = placement.dim
            size = x.shape[d] // mesh.size(i)
            x = x[(slice(None),) * d + (slice(where[i] * size, (where[i] + 1) * size),)]
    return x


def _local_part(x, spec: tuple):
    """This process's shard of a whole value x."""
    return _block(x, spec, spec[0].get_coordinate())


def _sharded(x, spec: tuple):
    """A DTensor of whole value x (the same in every process), each process keeping its
    shard; host data is cut before it is converted, so only the shard reaches the device."""
    from torch.distributed.tensor import DTensor

    part = _local_part(x, spec)
    local = core.convert_to_tensor(np.ascontiguousarray(part)) if isinstance(
        part, np.ndarray) else part.contiguous().clone()
    return DTensor.from_local(local, *spec, run_check=False)  # (layouts divide evenly)


def distribute_value(x, layout):
    """A batch laid out along the batch axis: this process's rows (when the batch divides);
    a variable's layout that splits it: a DTensor holding this process's shard; a
    replicated value: as it is (every process holds the same)."""
    mesh = layout.device_mesh
    first = layout.axes[0] if layout.axes else None
    if first is not None and all(a is None for a in layout.axes[1:]) and mesh.axis_size(
            first) > 1 and first == _batch_axis():
        if isinstance(x, np.ndarray):  # host data (a batch, or an array kept for the call)
            x = core.convert_to_tensor(x)
        size, n = x.shape[0] // mesh.axis_size(first), mesh.axis_size(first)
        if x.shape[0] % n:
            return x
        rank = process_id() % n if n == num_processes() else _coordinate(mesh, first)
        return x[rank * size:(rank + 1) * size]
    if _splits_variable(layout):
        kind = core.dtensor_type()
        return x if kind is not None and isinstance(x, kind) else _sharded(x, _spec(layout))
    return core.convert_to_tensor(x) if isinstance(x, np.ndarray) else x


def state_value(x, layout, shape: tuple):
    """A step's state value as the step takes and returns it: a split variable's local
    shard (x may be the DTensor, the shard already, or the whole value of `shape`)."""
    if not _splits_variable(layout):
        return distribute_value(x, layout)
    kind = core.dtensor_type()
    if kind is not None and isinstance(x, kind):
        return x._local_tensor
    return _local_part(x, _spec(layout)) if tuple(x.shape) == tuple(shape) else x


keeps_shards = _splits_variable  # a split variable is this process's shard (a DTensor)


def gather_shards(x, layout):
    """Inside a step: a split variable's whole value from the local shards (an all-gather
    over each axis it is split on); anything else as it is."""
    if not _splits_variable(layout):
        return x
    mesh = layout.device_mesh
    for d, axis in enumerate(layout.axes):
        if axis is not None and mesh.axis_size(axis) > 1:
            group = mesh.backend_mesh.get_group(axis)
            x = _functional.wait_tensor(_functional.all_gather_single(x.contiguous(), d, group))
    return x


def _batch_axis():
    from nhanh.distribution.distribution_lib import distribution

    current = distribution()
    return None if current is None else current.batch_dim_name


def _coordinate(mesh, axis: str) -> int:
    """This process's index along mesh axis `axis`."""
    where = np.argwhere(np.vectorize(lambda n: int(n.split(":")[1]))(mesh.devices)
                        == process_id())[0]
    return int(where[mesh.axis_names.index(axis)])


def create(make, layout):
    """make()'s value, the same in every process (process 0's, broadcast); when the layout
    splits it, a DTensor of this process's shard, which is all of it that reaches the device:
    the whole is made on the host and process 0 sends it one shard at a time."""
    if not _splits_variable(layout):
        value = make()
        if num_processes() > 1:
            dist.broadcast(value, src=0)
        return value
    from torch.distributed.tensor import DTensor

    with core.allocating_on_host():
        value = make()
    mesh, placements = spec = _spec(layout)
    mine, kept = mesh.get_coordinate(), None
    # Every distinct shard once (coordinates along the axes nothing is split over are 0).
    for where in itertools.product(*(range(mesh.size(i) if p.is_shard() else 1)
                                     for i, p in enumerate(placements))):
        part = _block(value, spec, where).to(core.DEVICE, memory_format=torch.contiguous_format,
                                             copy=True)
        dist.broadcast(part, src=0)  # (process 0's is the one sent)
        if all(w == m for w, m, p in zip(where, mine, placements) if p.is_shard()):
            kept = part
    return DTensor.from_local(kept, *spec, run_check=False)


def sharding_of(x):
    """A split variable's (mesh, placements), else None."""
    kind = core.dtensor_type()
    return (x.device_mesh, x.placements) if kind is not None and isinstance(x, kind) else None


def place_like(x, sharding):
    """x (host data or a whole tensor) in `sharding`'s shards (see sharding_of)."""
    return _sharded(x, sharding)


def relayout(storage, layout):
    """The storage of a Variable made before its splitting layout was known (a plain whole
    tensor, the same in every process) as the DTensor of its shard; None when the layout
    does not split it or it already is one."""
    kind = core.dtensor_type()
    if not _splits_variable(layout) or (kind is not None and isinstance(storage, kind)):
        return None
    return core.variable_storage(_sharded(storage.detach(), _spec(layout)),
                                 isinstance(storage, torch.nn.Parameter))


def process_local(x, layout):
    """This process's share of a batch, as it came (each process computes on its own)."""
    return torch.as_tensor(x)


whole = core.whole  # a split variable's whole value, read eagerly


def to_host(x) -> np.ndarray:
    return core.whole(x.detach()).cpu().numpy()


def initialize(coordinator: str | None, num_processes: int | None,
               process_id: int | None) -> None:
    """torch.distributed.init_process_group: NCCL where there are GPUs, else gloo; the
    coordinator, size and rank default to torchrun's environment (MASTER_ADDR, MASTER_PORT,
    WORLD_SIZE, RANK)."""
    if _initialized():
        return
    env = os.environ
    if coordinator:
        host, _, port = coordinator.rpartition(":")
        env["MASTER_ADDR"], env["MASTER_PORT"] = host, port
    world = num_processes if num_processes is not None else int(env.get("WORLD_SIZE", "1"))
    rank = process_id if process_id is not None else int(env.get("RANK", "0"))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(env.get("LOCAL_RANK", rank % torch.cuda.device_count())))
    dist.init_process_group(backend, world_size=world, rank=rank)


# --- the step's hooks (see the module docstring) --------------------------------------------
def begin_step(split: bool) -> None:
    _local["split"] = split = split and num_processes() > 1
    if split:
        _local["group"], _local["size"], _local["index"] = _batch_group()


def _batch_group() -> tuple:
    """(process group, size, this process's index) along the current batch axis."""
    from nhanh.distribution.distribution_lib import distribution

    current = distribution()
    mesh = None if current is None else current.device_mesh
    size = num_processes() if mesh is None else mesh.axis_size(current.batch_dim_name)
    if size == num_processes():
        return dist.group.WORLD, size, process_id()
    axis = current.batch_dim_name
    return mesh.backend_mesh.get_group(axis), size, _coordinate(mesh, axis)


def step_is_split() -> bool:
    return _local["split"]


def stream_id() -> int:
    """This process's random stream in a split step: its place along the batch axis (0
    elsewhere: one device's draws; processes computing the same rows draw the same)."""
    return _local["index"] if _local["split"] else 0


def synchronize(values) -> None:
    """Make every process hold process 0's values (state made before the distribution), given
    the Variables' storage."""
    if num_processes() > 1:
        kind = core.dtensor_type()
        for value in values:  # (a DTensor's shards were cut from process 0's value)
            if kind is None or not isinstance(value, kind):
                view = core.state_view(value)  # (a Parameter: its memory, without autograd)
                dist.broadcast(value if view is None else view, src=0)


def _all_reduce_flat(tensors: list) -> list:
    """The sum over the batch axis's processes of each tensor, through one all-reduce."""
    flat = torch.cat([t.reshape(-1).to(torch.float32 if t.is_floating_point() else t.dtype)
                      for t in tensors])
    flat = _functional.wait_tensor(_functional.all_reduce(flat, "sum", _local["group"]))
    out, at = [], 0
    for t in tensors:
        out.append(flat[at:at + t.numel()].reshape(t.shape).to(t.dtype))
        at += t.numel()
    return out


# Gradients are summed over processes in buckets while the backward pass goes on, as DDP
# does: a bucket's all-reduce starts once autograd has produced its last gradient (the
# buckets hold the parameters in reverse, the order backward reaches them), and the step
# waits for them all only when the optimizer asks (reduce_gradients). The first bucket is
# small so that communication starts early. In a captured step these are nodes of the graph
# in the order they ran, so a replay starts each all-reduce at the same point of backward.
_FIRST_BUCKET, _BUCKET = 1 << 18, 1 << 22  # float32 elements: 1 MiB, then 16 MiB
_pending: dict = {}  # id(gradient) -> (gradient, its bucket's all-reduce, start, end)


def reduce_during_backward(params: list) -> None:
    """Hooks on `params` (leaves about to be differentiated) that start each bucket's
    all-reduce as soon as its gradients exist; nothing unless the step is split."""
    _pending.clear()
    if not _local["split"]:
        return
    buckets, current, size = [], [], 0
    for p in reversed(params):
        if not p.is_floating_point():
            continue
        current.append(p)
        size += p.numel()
        if size >= (_FIRST_BUCKET if not buckets else _BUCKET):
            buckets.append(current)
            current, size = [], 0
    if current:
        buckets.append(current)
    for bucket in buckets:
        waiting = _Bucket(bucket)
        for p in bucket:
            p.register_hook(functools.partial(waiting.arrive, id(p)))


class _Bucket:
    """Parameters whose gradients are summed in one all-reduce, started when the last
    arrives."""

    def __init__(self, params: list):
        self.order = [id(p) for p in params]
        self.arrived: dict = {}

    def arrive(self, p_id: int, grad) -> None:
        self.arrived[p_id] = grad
        if len(self.arrived) < len(self.order):
            return
        grads = [self.arrived.pop(i) for i in self.order]
        flat = torch.cat([g.detach().reshape(-1).to(torch.float32) for g in grads])
        reduced, at = _functional.all_reduce(flat, "sum", _local["group"]), 0
        for g in grads:
            _pending[id(g)] = (g, reduced, at, at + g.numel())
            at += g.numel()


def reduce_gradients(grads: list) -> list:
    """The gradients averaged over processes (each computed them on its rows): those whose
    all-reduce started during backward are waited for, the others reduced together now."""
    if not _local["split"] or not grads:
        return grads
    n = _local["size"]
    started = [_pending.get(id(g)) for g in grads]
    _pending.clear()
    # (a hook's entry is for this very tensor, not one that reused a freed tensor's id)
    started = [s if s is not None and s[0] is g else None for g, s in zip(grads, started)]
    rest = [g.detach() for g, s in zip(grads, started) if s is None]
    rest = iter(_all_reduce_flat(rest) if rest else ())
    waited: dict = {}
    out = []
    for g, s in zip(grads, started):
        if s is None:
            out.append(next(rest) / n)
            continue
        _, reduced, start, end = s
        if id(reduced) not in waited:
            waited[id(reduced)] = _functional.wait_tensor(reduced)
        out.append((waited[id(reduced)][start:end].reshape(g.shape) / n).to(g.dtype))
    return out


def metrics_before(values: list):
    """Copies of the accumulators (a step updates them in place), when the step is split."""
    return [v.clone() for v in values] if _local["split"] and values else None


def reduce_metric_updates(old: list, new: list) -> list:
    """Metric accumulators after adding every process's update to them."""
    changes = _all_reduce_flat([n - o for o, n in zip(old, new)])
    return [o + c for o, c in zip(old, changes)]


class _SumOverProcesses(torch.autograd.Function):
    """y = the sum of x over processes; each x's gradient is the sum of every process's
    gradient of y (every process's loss depends on every x through y)."""

    @staticmethod
    def forward(ctx, x):
        return _functional.wait_tensor(_functional.all_reduce(x, "sum", _local["group"]))

    @staticmethod
    def backward(ctx, grad):
        return _functional.wait_tensor(_functional.all_reduce(grad, "sum", _local["group"]))


def sum_over_replicas(x):
    """The sum of x over processes, differentiable (batch statistics of the global batch)."""
    return _SumOverProcesses.apply(x) if _local["split"] else x


def gather_outputs(out):
    """Predictions of every process's rows, in order (the whole batch's)."""
    if not _local["split"]:
        return out
    return _functional.wait_tensor(_functional.all_gather_single(out.contiguous(), 0,
                                                                 _local["group"]))


PROCESS_PER_DEVICE = True  # torchrun's model: one process per device
