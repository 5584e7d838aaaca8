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
process, and the hooks do nothing for it. Layouts that split a variable over processes
(ModelParallel's model axis) need DTensor sharding, which nhanh does not do yet: they raise.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.distributed as dist
# PyTorch's functional collectives: unlike dist.all_reduce, they return new tensors, so the
# captured training steps (make_fx) record them like any other op.
import torch.distributed._functional_collectives as _functional

from nhanh.backend.torch import core

_local = {"split": False}  # whether the running step's batch is split over the processes


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
    """The layout itself: only replicated variables and batches split along their first
    dimension are supported (the placements DataParallel needs)."""
    mesh = layout.device_mesh
    mesh.backend_mesh  # noqa: B018 - checks the mesh against the processes
    return layout


def _splits_variable(layout) -> bool:
    mesh = layout.device_mesh
    return any(axis is not None and mesh.axis_size(axis) > 1 for axis in layout.axes)


def _check_variable_layout(layout) -> None:
    if _splits_variable(layout):
        raise NotImplementedError(
            f"{layout}: splitting a variable over processes (ModelParallel's model axis) "
            "needs DTensor sharding, which nhanh's PyTorch engine does not do yet. Use "
            "DataParallel, a mesh whose model axis has size 1, or the JAX engine.")


def distribute_value(x, layout):
    """A batch laid out along the batch axis: this process's rows (when the batch divides);
    a replicated value: as it is (every process holds the same)."""
    if isinstance(x, np.ndarray):  # host data (a batch, or an array kept for the call)
        x = core.convert_to_tensor(x)
    mesh = layout.device_mesh
    first = layout.axes[0] if layout.axes else None
    if first is not None and all(a is None for a in layout.axes[1:]) and mesh.axis_size(
            first) > 1 and first == _batch_axis():
        size, n = x.shape[0] // mesh.axis_size(first), mesh.axis_size(first)
        if x.shape[0] % n:
            return x
        rank = process_id() % n if n == num_processes() else _coordinate(mesh, first)
        return x[rank * size:(rank + 1) * size]
    _check_variable_layout(layout)
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
    """make()'s value, the same in every process (process 0's, broadcast)."""
    _check_variable_layout(layout)
    value = make()
    if num_processes() > 1:
        dist.broadcast(value, src=0)
    return value


def sharding_of(x):
    return None


def place_like(x, sharding):
    return x


def process_local(x, layout):
    """This process's share of a batch, as it came (each process computes on its own)."""
    return torch.as_tensor(x)


def to_host(x) -> np.ndarray:
    return x.detach().cpu().numpy()


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
    _local["split"] = split and num_processes() > 1


def step_is_split() -> bool:
    return _local["split"]


def stream_id() -> int:
    """This process's random stream in a split step (0 elsewhere: one device's draws)."""
    return process_id() if _local["split"] else 0


def synchronize(values) -> None:
    """Make every process hold process 0's values (state made before the distribution)."""
    if num_processes() > 1:
        for value in values:
            dist.broadcast(value, src=0)


def _all_reduce_flat(tensors: list) -> list:
    """The sum over processes of each tensor, through one all-reduce of them all."""
    flat = torch.cat([t.reshape(-1).to(torch.float32 if t.is_floating_point() else t.dtype)
                      for t in tensors])
    flat = _functional.wait_tensor(_functional.all_reduce(flat, "sum", dist.group.WORLD))
    out, at = [], 0
    for t in tensors:
        out.append(flat[at:at + t.numel()].reshape(t.shape).to(t.dtype))
        at += t.numel()
    return out


def reduce_gradients(grads: list) -> list:
    """The gradients averaged over processes (each computed them on its rows)."""
    if not _local["split"] or not grads:
        return grads
    n = num_processes()
    return [g / n for g in _all_reduce_flat([g.detach() for g in grads])]


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
        return _functional.wait_tensor(_functional.all_reduce(x, "sum", dist.group.WORLD))

    @staticmethod
    def backward(ctx, grad):
        return _functional.wait_tensor(_functional.all_reduce(grad, "sum", dist.group.WORLD))


def sum_over_replicas(x):
    """The sum of x over processes, differentiable (batch statistics of the global batch)."""
    return _SumOverProcesses.apply(x) if _local["split"] else x


def gather_outputs(out):
    """Predictions of every process's rows, in order (the whole batch's)."""
    if not _local["split"]:
        return out
    return _functional.wait_tensor(_functional.all_gather_single(out.contiguous(), 0,
                                                                 dist.group.WORLD))


PROCESS_PER_DEVICE = True  # torchrun's model: one process per device
