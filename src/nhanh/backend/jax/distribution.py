"""Distribution on JAX: meshes and layouts become jax.sharding objects, and XLA does the rest.

A variable laid out by a distribution is a jax.Array with a NamedSharding; a batch is split
over the batch axis by a sharding constraint inside the compiled step. The step itself is
unchanged: given sharded inputs, XLA's partitioner (GSPMD) inserts the all-reduces of the
gradients, of batch statistics and of metric sums, inside the one compiled program, so the
fused training loop stays one program. Several processes (machines) join through
jax.distributed; every array is then global, and a host reads one through
multihost_utils.process_allgather.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec


MORE_DEVICES = ("For several processes, call nhanh.distribution.initialize() first; for test "
                "meshes on a CPU, set XLA_FLAGS=--xla_force_host_platform_device_count=N "
                "before JAX starts.")


def _platform(kind: str | None) -> str:
    return jax.default_backend() if kind is None else kind


def _devices(kind: str | None) -> list:
    try:
        return jax.devices(_platform(kind))
    except RuntimeError:  # no such platform here
        return []


def list_devices(kind: str | None = None) -> list[str]:
    """'cpu:0', 'cpu:1', ...: a device's number is its place in jax.devices(kind), which
    spans every process."""
    name = _platform(kind)
    return [f"{name}:{i}" for i in range(len(_devices(kind)))]


def _device(name: str):
    kind, index = name.split(":")
    return _devices(kind)[int(index)]


def to_backend_mesh(mesh) -> jax.sharding.Mesh:
    devices = np.vectorize(_device, otypes=[object])(mesh.devices)
    return jax.sharding.Mesh(devices, mesh.axis_names)


def to_backend_layout(layout) -> NamedSharding:
    if layout.device_mesh is None:
        raise ValueError(f"{layout} has no device mesh: store it in a LayoutMap, or give "
                         "TensorLayout a device_mesh.")
    return NamedSharding(layout.device_mesh.backend_mesh, PartitionSpec(*layout.axes))


def distribute_value(x, layout):
    """Inside a compiled step, a constraint XLA follows; outside, the array in its shards
    (from host data, each device receives only its shard)."""
    sharding = layout.backend_layout
    if isinstance(x, jax.core.Tracer):
        return jax.lax.with_sharding_constraint(x, sharding)
    if isinstance(x, jax.Array) and x.sharding == sharding:
        return x
    return jax.device_put(x, sharding)


def state_value(x, layout, shape: tuple):
    """A step's state value in its layout (every device holds its shard of a global array)."""
    return distribute_value(x, layout)


def keeps_shards(layout) -> bool:
    return False  # (every array is global)


def gather_shards(x, layout):
    return x  # (a global array: XLA gathers what a computation needs)


def relayout(storage, layout):
    return None  # (distribute_value moves a value made before the distribution)


def whole(x):
    return x  # (a global array)


def create(make, layout):
    """The value `make()` computes, made directly in its shards (jit with out_shardings): a
    large variable never exists whole on one device."""
    return jax.jit(make, out_shardings=layout.backend_layout)()


def sharding_of(x):
    """x's sharding when it spans several devices, else None (a plain, one-device array)."""
    sharding = getattr(x, "sharding", None)
    if sharding is None or isinstance(x, jax.core.Tracer) or len(sharding.device_set) < 2:
        return None
    return sharding


def place_like(x, sharding):
    """x (host data or an array) laid out with `sharding`."""
    if isinstance(x, jax.Array) and x.sharding == sharding:
        return x
    return jax.device_put(x, sharding)


def process_local(x, layout):
    """A global array of which this process holds the rows `x` (its share of the batch)."""
    return jax.make_array_from_process_local_data(layout.backend_layout, np.asarray(x))


def to_host(x) -> np.ndarray:
    """x's whole value on this host, gathered from every process when it spans several."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        if x.sharding.is_fully_replicated:  # this process holds a whole copy: no collective
            return np.asarray(x.addressable_shards[0].data)
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def num_processes() -> int:
    return jax.process_count()


def process_id() -> int:
    return jax.process_index()


def initialize(coordinator: str | None, num_processes: int | None,
               process_id: int | None) -> None:
    """jax.distributed.initialize, with gloo for the CPU client's cross-process collectives
    (it has none without; the setting does not touch accelerators). Nothing may ask JAX for
    its devices before this, so the setting is made without looking."""
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except (AttributeError, ValueError):  # a JAX without the option
        pass
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                               process_id=process_id)


# --- the step's hooks: nothing to do on JAX, where every array is global and XLA inserts the
# collectives (gradients, batch statistics, metric sums, outputs) inside the compiled step.
PROCESS_PER_DEVICE = False  # a process drives all of its devices


def begin_step(split: bool) -> None:
    pass


def step_is_split() -> bool:
    return False


def synchronize(values) -> None:
    pass


def reduce_gradients(grads: list) -> list:
    return grads


def metrics_before(values: list):
    return None


def reduce_metric_updates(old: list, new: list) -> list:
    return new


def sum_over_replicas(x):
    return x


def gather_outputs(out):
    return out
