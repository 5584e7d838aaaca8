"""Keras's distribution API: where variables and batches live when training spans devices.

Decision (DESIGN.md, "one training step, many devices"): a distribution changes where the
state and the batches live, never what the step computes. This module holds only the
description (a mesh of devices with named axes, a layout per variable path, which mesh axis
splits the batch); the engine's `distribution` module turns it into placement: shardings on
JAX (jax.sharding, so XLA inserts the collectives inside the one compiled step), process groups
and collectives on PyTorch (torch.distributed). The trainer asks this module three questions:
the layout of a variable (by its Keras path), the layout of a batch, and whether a batch
splits evenly (a last, short batch that does not is computed whole on every device, which
gives the same numbers: Keras raises there instead).
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from typing import Iterator, Sequence

import numpy as np

from nhanh import backend as _backend
from nhanh.path_patterns import PathPatternMap

DEFAULT_BATCH_DIM_NAME = "batch"


def _engine():
    return _backend.get().distribution


def list_devices(device_type: str | None = None) -> list[str]:
    """Every device of `device_type` ('cpu', 'gpu', 'tpu'; None: accelerators if there are
    any, else CPUs) across all processes, as strings such as 'gpu:0'."""
    if device_type is not None and str(device_type).lower() not in ("cpu", "gpu", "tpu"):
        raise ValueError(f"list_devices: `device_type` must be 'cpu', 'gpu', 'tpu' or None, "
                         f"got {device_type!r}.")
    return _engine().list_devices(None if device_type is None else str(device_type).lower())


def get_device_count(device_type: str | None = None) -> int:
    """The number of devices list_devices(device_type) gives."""
    return len(list_devices(device_type))


def initialize(job_addresses: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
    """Join this process to a multi-process (multi-machine) run; call it before anything else.

    Args:
        job_addresses: "host:port" of process 0 (the coordinator), or a comma-separated list
            whose first entry is it. Default: the environment variable
            KERAS_DISTRIBUTION_JOB_ADDRESSES, else the engine's launcher settings
            (torchrun's MASTER_ADDR/MASTER_PORT; JAX's cluster auto-detection).
        num_processes: How many processes take part (KERAS_DISTRIBUTION_NUM_PROCESSES,
            torchrun's WORLD_SIZE).
        process_id: This process's number, 0 to num_processes - 1
            (KERAS_DISTRIBUTION_PROCESS_ID, torchrun's RANK).
    """
    env = os.environ
    if job_addresses is None:
        job_addresses = env.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    if num_processes is None and "KERAS_DISTRIBUTION_NUM_PROCESSES" in env:
        num_processes = int(env["KERAS_DISTRIBUTION_NUM_PROCESSES"])
    if process_id is None and "KERAS_DISTRIBUTION_PROCESS_ID" in env:
        process_id = int(env["KERAS_DISTRIBUTION_PROCESS_ID"])
    if num_processes is not None and (not isinstance(num_processes, int) or num_processes < 1):
        raise ValueError(f"initialize: `num_processes` must be a positive integer, got "
                         f"{num_processes!r}.")
    if process_id is not None and num_processes is not None and \
            not 0 <= process_id < num_processes:
        raise ValueError(f"initialize: `process_id` must be in [0, {num_processes}), got "
                         f"{process_id!r}.")
    coordinator = job_addresses.split(",")[0].strip() if job_addresses else None
    _engine().initialize(coordinator, num_processes, process_id)


class DeviceMesh:
    """Devices arranged in a grid with named axes (`(8,)` for data parallelism, `(2, 4)` for
    data x model); the axis names are what layouts refer to.

    Args:
        shape: The mesh's shape; its product must be the number of devices.
        axis_names: One name per axis of `shape`.
        devices: Device strings ('cpu:3', 'gpu:0'); default: list_devices().
    """

    def __init__(self, shape: Sequence[int], axis_names: Sequence[str],
                 devices: Sequence[str] | None = None):
        if not shape or not axis_names:
            raise ValueError(f"DeviceMesh: `shape` and `axis_names` cannot be empty; got "
                             f"shape={shape!r}, axis_names={axis_names!r}.")
        shape, axis_names = tuple(shape), tuple(axis_names)
        if not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape):
            raise ValueError(f"DeviceMesh: `shape` must hold positive integers, got {shape}.")
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: `shape` {shape} has {len(shape)} axes but "
                             f"`axis_names` {axis_names} names {len(axis_names)}.")
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"DeviceMesh: `axis_names` must be distinct, got {axis_names}.")
        known = list_devices_any()
        devices = np.array(list_devices() if devices is None else
                           [str(d).lower() for d in np.ravel(np.array(devices, dtype=object))])
        unknown = [d for d in devices.ravel() if d not in known]
        if unknown:
            raise ValueError(f"DeviceMesh: unknown device(s) {unknown}; this run has "
                             f"{known}. {_engine().MORE_DEVICES}")
        if len(set(devices.ravel())) != devices.size:
            raise ValueError(f"DeviceMesh: a device appears twice in {list(devices.ravel())}.")
        if math.prod(shape) != devices.size:
            raise ValueError(f"DeviceMesh: shape {shape} needs {math.prod(shape)} devices, "
                             f"but {devices.size} were given ({list(devices.ravel())}). "
                             "Make the shape's product the number of devices.")
        self._shape, self._axis_names = tuple(int(d) for d in shape), axis_names
        self._devices = devices.reshape(shape)

    shape = property(lambda self: self._shape)
    axis_names = property(lambda self: self._axis_names)
    devices = property(lambda self: self._devices)

    @property
    def backend_mesh(self):
        """The engine's own mesh (jax.sharding.Mesh, torch's DeviceMesh), made once."""
        if getattr(self, "_backend_mesh", None) is None:
            self._backend_mesh = _engine().to_backend_mesh(self)
        return self._backend_mesh

    def axis_size(self, name: str) -> int:
        return self._shape[self._axis_names.index(name)]

    def __repr__(self) -> str:
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


def list_devices_any() -> list[str]:
    """Every device of every kind this run has (what a mesh may name)."""
    out: list[str] = []
    for kind in ("cpu", "gpu", "tpu"):
        out += _engine().list_devices(kind)
    return out


class TensorLayout:
    """How one array is split over a mesh: per dimension, the mesh axis that splits it or
    None (kept whole); e.g. `(None, "model")` splits a kernel's columns over the model axis.

    Args:
        axes: One entry per dimension of the arrays it will lay out.
        device_mesh: The mesh; a LayoutMap fills it in when the layout is stored there.
    """

    def __init__(self, axes: Sequence[str | None], device_mesh: DeviceMesh | None = None):
        self._axes = tuple(axes)
        self._device_mesh = device_mesh
        self._validate_axes()

    axes = property(lambda self: self._axes)

    @property
    def device_mesh(self) -> DeviceMesh | None:
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh: DeviceMesh) -> None:
        if self._device_mesh is not None:
            raise ValueError(f"TensorLayout: its device mesh is already {self._device_mesh}; "
                             "make a new layout for another mesh.")
        self._device_mesh = device_mesh
        self._validate_axes()

    def _validate_axes(self) -> None:
        used = [a for a in self._axes if a is not None]
        if len(set(used)) != len(used):
            raise ValueError(f"TensorLayout: a mesh axis can split one dimension only, got "
                             f"axes={self._axes}.")
        if self._device_mesh is not None:
            unknown = set(used) - set(self._device_mesh.axis_names)
            if unknown:
                raise ValueError(f"TensorLayout: axes {sorted(unknown)} are not in the mesh's "
                                 f"axis names {self._device_mesh.axis_names}.")

    def check_shape(self, shape: Sequence[int], what: str) -> None:
        """Raise, naming `what`, unless every split dimension divides by its axis's size."""
        if len(self._axes) != len(shape):
            raise ValueError(f"{what}: its layout {self._axes} has {len(self._axes)} entries "
                             f"but the array has shape {tuple(shape)}; give one entry (a mesh "
                             "axis name or None) per dimension.")
        for dim, axis in zip(shape, self._axes):
            if axis is not None and dim % self._device_mesh.axis_size(axis):
                raise ValueError(f"{what}: dimension {dim} of shape {tuple(shape)} does not "
                                 f"divide by mesh axis {axis!r} of size "
                                 f"{self._device_mesh.axis_size(axis)} (layout {self._axes}). "
                                 "Change the layout, the mesh shape or the layer's size.")

    @property
    def backend_layout(self):
        """The engine's sharding for this layout, made once."""
        if getattr(self, "_backend_layout", None) is None:
            self._backend_layout = _engine().to_backend_layout(self)
        return self._backend_layout

    def __repr__(self) -> str:
        return f"<TensorLayout axes={self.axes}, device_mesh={self.device_mesh}>"


class Distribution:
    """Where variables and batches live: the base of DataParallel and ModelParallel.

    Args:
        device_mesh: The devices.
        batch_dim_name: The mesh axis that splits each batch's first dimension.
        auto_shard_dataset: In a multi-process run, whether each process takes its own share
            of the data it is given (every process passes the same arrays, as the same script
            would); False: each process's data already is its share.
    """

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str | None = None,
                 auto_shard_dataset: bool = True):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset
        engine = _engine()
        self._num_processes, self._process_id = engine.num_processes(), engine.process_id()

    device_mesh = property(lambda self: self._device_mesh)
    batch_dim_name = property(lambda self: self._batch_dim_name)
    num_processes = property(lambda self: self._num_processes)

    @property
    def auto_shard_dataset(self) -> bool:
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value: bool) -> None:
        self._auto_shard_dataset = bool(value)

    @property
    def num_model_replicas(self) -> int:
        """How many ways each batch is split (the size of the batch axis)."""
        return self._device_mesh.axis_size(self._batch_dim_name)

    @property
    def data_shard_id(self) -> int:
        replicas = self.num_model_replicas
        if replicas >= self._num_processes:
            return self._process_id
        return self._process_id // (self._num_processes // replicas)

    def get_data_layout(self, data_shape: Sequence[int]) -> TensorLayout:
        """Batches are split along their first dimension over the batch axis."""
        return TensorLayout((self._batch_dim_name,) + (None,) * (len(data_shape) - 1),
                            self._device_mesh)

    def get_variable_layout(self, variable) -> TensorLayout:
        raise NotImplementedError

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return None

    def splits_batch(self, batch_size: int) -> bool:
        """Whether a batch of this many rows divides over the batch axis."""
        return batch_size % self.num_model_replicas == 0

    def check_batch_size(self, batch_size: int, what: str = "batch_size") -> None:
        """The regular (global) batch must divide over the batch axis; only the last batch of
        an epoch may be short, and that one is computed whole on each device."""
        if not self.splits_batch(batch_size):
            raise ValueError(f"{what}={batch_size} does not divide over the "
                             f"{self.num_model_replicas} devices of mesh axis "
                             f"{self._batch_dim_name!r}: each device would get a different "
                             f"number of rows. Use a multiple of {self.num_model_replicas} "
                             f"(the global batch is split across devices).")

    @contextlib.contextmanager
    def scope(self) -> Iterator["Distribution"]:
        """Make this the current distribution inside the `with` block."""
        saved = distribution()
        set_distribution(self)
        try:
            yield self
        finally:
            set_distribution(saved)

    def distribute_dataset(self, dataset):
        """The dataset as is: nhanh takes each process's share of a batch as it goes."""
        return dataset

    def __repr__(self) -> str:
        return f"<{type(self).__name__} device_mesh={self._device_mesh}, " \
               f"batch_dim_name={self._batch_dim_name!r}>"


class DataParallel(Distribution):
    """Every device holds all the variables and takes an equal slice of each batch; the
    gradients are averaged over devices (the engine's all-reduce), so training gives the
    numbers one device would give on the whole batch.

    Args:
        device_mesh: A 1-D mesh (for a mesh of more axes, the first splits the batch).
        devices: Devices for a 1-D mesh (instead of `device_mesh`); default: list_devices().
        auto_shard_dataset: See Distribution.
    """

    def __init__(self, device_mesh: DeviceMesh | None = None,
                 devices: Sequence[str] | None = None, auto_shard_dataset: bool = True):
        if device_mesh is not None and devices is not None:
            raise ValueError("DataParallel: give `device_mesh` or `devices`, not both.")
        if device_mesh is not None:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError(f"DataParallel: `device_mesh` must be a DeviceMesh, got "
                                 f"{type(device_mesh).__name__}.")
            if len(device_mesh.shape) != 1:
                warnings.warn(f"DataParallel expects a 1-D mesh, got shape "
                              f"{device_mesh.shape}; axis {device_mesh.axis_names[0]!r} "
                              "splits the batch and the variables are replicated.",
                              stacklevel=2)
        else:
            found = list(devices) if devices is not None else list_devices()
            device_mesh = DeviceMesh((len(found),), (DEFAULT_BATCH_DIM_NAME,), found)
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)

    def get_variable_layout(self, variable) -> TensorLayout:
        layout = getattr(variable, "_layout", None)
        return layout if layout is not None else \
            TensorLayout((None,) * len(variable.shape), self._device_mesh)


class ModelParallel(Distribution):
    """Variables split over a mesh by a LayoutMap (variable path -> layout), batches split
    over the batch axis; a variable the map does not match is replicated.

    Args:
        layout_map: The LayoutMap; its mesh is the distribution's.
        batch_dim_name: The mesh axis that splits batches (default: the mesh's first).
        auto_shard_dataset: See Distribution.
    """

    def __init__(self, *, layout_map: "LayoutMap" = None, batch_dim_name: str | None = None,
                 auto_shard_dataset: bool = True, **kwargs):
        kwargs.pop("device_mesh", None)  # Keras's older spelling passed it too; the map's wins
        if kwargs:
            raise TypeError(f"ModelParallel: unexpected arguments {sorted(kwargs)}.")
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(f"ModelParallel: `layout_map` must be a LayoutMap, got "
                             f"{type(layout_map).__name__}.")
        mesh = layout_map.device_mesh
        batch_dim_name = batch_dim_name or mesh.axis_names[0]
        if batch_dim_name not in mesh.axis_names:
            raise ValueError(f"ModelParallel: `batch_dim_name` {batch_dim_name!r} is not an "
                             f"axis of the mesh {mesh.axis_names}.")
        super().__init__(mesh, batch_dim_name, auto_shard_dataset)
        self._layout_map = layout_map

    def get_variable_layout(self, variable) -> TensorLayout:
        layout = getattr(variable, "_layout", None)
        if layout is None:
            layout = self._layout_map[variable.path]
        return layout if layout is not None else \
            TensorLayout((None,) * len(variable.shape), self._device_mesh)

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return self._layout_map[path]


class LayoutMap(PathPatternMap):
    """Variable path -> TensorLayout, where each key is a regular expression matched against
    the whole path (`".*dense.*kernel"`); a path matched by two keys is an error, and a path
    no key matches gets None. A tuple of axis names is accepted for a layout.

    Args:
        device_mesh: The mesh the layouts split over.
    """

    _what = "LayoutMap"

    def __init__(self, device_mesh: DeviceMesh):
        if not isinstance(device_mesh, DeviceMesh):
            raise ValueError(f"LayoutMap: `device_mesh` must be a DeviceMesh, got "
                             f"{type(device_mesh).__name__}.")
        super().__init__()
        self._device_mesh = device_mesh

    device_mesh = property(lambda self: self._device_mesh)

    def _check_value(self, key: str, layout) -> TensorLayout:
        if isinstance(layout, (tuple, list)):
            layout = TensorLayout(layout)
        if not isinstance(layout, TensorLayout):
            raise ValueError(f"LayoutMap: a layout must be a TensorLayout or a tuple of axis "
                             f"names, got {layout!r}.")
        if layout.device_mesh is None:
            layout.device_mesh = self._device_mesh
        return layout


def distribute_tensor(tensor, layout: TensorLayout):
    """`tensor` laid out as `layout` (inside a compiled step: a constraint the compiler
    follows; outside: the array moved into its shards). A symbolic tensor passes through."""
    from nhanh.layers.symbolic import SymbolicTensor

    if isinstance(tensor, SymbolicTensor):
        return tensor
    return _engine().distribute_value(tensor, layout)


_current: list[Distribution | None] = [None]
_ever: list[bool] = [False]  # whether any distribution was set in this process


def distribution() -> Distribution | None:
    """The current distribution (set by set_distribution or a scope), or None."""
    return _current[0]


def set_distribution(value: Distribution | None) -> None:
    """Make `value` the distribution for variables and training from now on (None: none)."""
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(f"set_distribution: expected a Distribution (DataParallel, "
                         f"ModelParallel) or None, got {type(value).__name__}.")
    _current[0] = value
    _ever[0] = _ever[0] or value is not None
    _engine().begin_step(False)  # (no step is split until one under `value` says so)


def ever_set() -> bool:
    """Whether a distribution was ever set here (values spread over devices may remain)."""
    return _ever[0]
