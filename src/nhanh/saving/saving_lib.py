"""Keras 3's `.keras` and `.weights.h5` files, written and read by nhanh.

A `.keras` file is a zip of `metadata.json`, `config.json` (the model as
`serialize_keras_object` writes it, with its compile settings) and `model.weights.h5`. The
weights file places each object's variables where Keras 3 does, by walking the objects as
Keras's `_walk_saveable` does: a Sequential or functional model's `layers` first, each under
its snake-cased class name (`layers/dense`, `layers/dense_1`, ...), then every other attribute
in sorted order (private ones last) that holds a layer, an optimizer, or a list, tuple or dict of
them (`optimizer`, a subclassed model's `self.blocks` -> `blocks/dense`). A layer's own
variables are its trainable ones then its others, in creation order (`vars/0`, `vars/1`, ...);
an optimizer's are its `variables` (iterations, learning rate, slots). A layer whose internals
differ from Keras's names them through `saving_children()`. Seed generators' states, which
Keras does not save, go under `<layer>/seed_generator/vars` where Keras never looks.

Loading checks everything the file says against the model before it changes anything (counts,
shapes, dtypes: metadata only), then reads and assigns one variable at a time, so a refused
file leaves the model as it was and memory never holds a second copy of the weights. The file
layer (h5_store, archive) refuses links, external storage, bombs and paths that leave the
archive; serialization_lib refuses any class or function a config names that is not nhanh's
or yours.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import tempfile
import warnings
from typing import Any, Iterator

import numpy as np

from nhanh.naming import to_snake_case
from nhanh.saving import archive, serialization_lib
from nhanh.saving.h5_store import H5Reader, H5Writer
from nhanh.saving.object_registration import CustomObjectScope
from nhanh.variables import AllocationBudget, SkipInitializers

KERAS_VERSION = "3.15.1"  # the Keras file format nhanh writes
CONFIG_MAX_BYTES = 64 << 20
WEIGHTS_SLACK_BYTES = 16 << 20  # HDF5's own overhead allowed beyond the model's variables
BUILD_SLACK_BYTES = 64 << 20  # variables a loaded model may make beyond what its file holds
_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")


# --- the walk over saveable objects ---------------------------------------------------------
def _is_saveable(obj: Any) -> bool:
    from nhanh.layers.layer import Layer
    from nhanh.optimizers.optimizer import Optimizer

    return isinstance(obj, (Layer, Optimizer))


_skipsets: dict[str, frozenset] = {}


def _skipset(obj: Any) -> frozenset:
    """Attributes every object of the kind has (a bare Layer's, a bare Optimizer's), which
    the walk passes over as Keras's does."""
    from nhanh.layers.layer import Layer
    from nhanh.optimizers.optimizer import Optimizer

    kind = "layer" if isinstance(obj, Layer) else "optimizer"
    if kind not in _skipsets:
        bare = Layer() if kind == "layer" else Optimizer(1.0)
        # (Sequential's InputLayer is not among Keras's saved layers.)
        names = set(dir(bare)) | {"operations", "_operations", "_functional", "_input_layer"}
        if kind == "optimizer":
            names.discard("variables")
        _skipsets[kind] = frozenset(names)
    return _skipsets[kind]


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    """(attribute, value) pairs the walk visits, in Keras's order."""
    custom = getattr(obj, "saving_children", None)
    if custom is not None:
        yield from custom()
        return
    from nhanh.models.functional import Functional
    from nhanh.models.sequential import Sequential

    if isinstance(obj, (Functional, Sequential)):
        yield "layers", obj.layers
    skip = _skipset(obj)
    from nhanh.models.model import Model

    if isinstance(obj, Model):  # Keras's Model has `layers` and its bare Layer has not, so
        skip = skip - {"layers"}  # a subclassed model's walk visits it in its sorted place
    for attr in sorted(dir(obj), key=lambda a: "~" + a if a.startswith("_") else a):
        if attr.startswith("__") or attr in skip:
            continue
        try:
            value = getattr(obj, attr)
        except Exception:  # a property that cannot be read now holds nothing to save
            continue
        if _is_saveable(value) or isinstance(value, (list, tuple, dict)):
            yield attr, value


def own_variables(obj: Any) -> list:
    """The variables an object writes in its own `vars` group, in Keras's order."""
    custom = getattr(obj, "saving_variables", None)
    if custom is not None:
        return list(custom())
    from nhanh.layers.layer import Layer

    if isinstance(obj, Layer):
        own = obj._own_weights
        return [v for v in own if v.trainable] + [v for v in own if not v.trainable]
    return list(obj.variables)


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def walk(root: Any) -> list[tuple[str, Any, list]]:
    """[(path, object, its own variables)] for every saveable object under `root`, each once,
    in the order Keras writes them; the seed generators' states as their own entries."""
    out: list[tuple[str, Any, list]] = []
    seen: set[int] = set()

    def visit(obj, path):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        out.append((path, obj, own_variables(obj)))
        seeds = [g.state for g in getattr(obj, "_seed_generators", [])]
        if seeds:
            out.append((_join(path, "seed_generator"), None, seeds))
        for attr, value in _children(obj):
            if _is_saveable(value):
                visit(value, _join(path, attr))
            else:
                container(value, _join(path, attr), set())

    def container(items, path, open_containers):
        if id(items) in open_containers:
            return
        open_containers.add(id(items))
        used: dict[str, int] = {}
        for item in (items.values() if isinstance(items, dict) else items):
            if _is_saveable(item):
                visit(item, _join(path, _unique(to_snake_case(type(item).__name__), used)))
            elif isinstance(item, (list, tuple, dict)):
                container(item, _join(path, _unique("container", used)), open_containers)

    visit(root, "")
    return out


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


# --- weights files --------------------------------------------------------------------------
def write_weights(model, target) -> None:
    """Write every variable under its Keras path (one array in memory at a time)."""
    with H5Writer(target) as writer:
        for path, obj, variables in walk(model):
            name = getattr(obj, "name", None) if obj is not None else None
            store = _own_store(obj) if not variables else None
            writer.write_vars(path, store or (v._backend.host_view(v.value) for v in variables),
                              name=name if isinstance(name, str) else None)


def _own_store(obj) -> dict | None:
    """What a layer without Variables stores itself through Keras's save_own_variables (the
    lookup layers' "idf_weights"), or None."""
    if obj is None or not hasattr(type(obj), "save_own_variables"):
        return None
    store: dict = {}
    obj.save_own_variables(store)
    return store


def read_weights(model, reader: H5Reader, skip_mismatch: bool = False) -> None:
    """Load a weights file into `model`: all checked first, then assigned one by one."""
    plan, problems, stores = [], [], []
    for path, obj, variables in walk(model):
        if obj is None and not reader.has(path):
            continue  # seed states: Keras's files have none; the layer keeps its own
        if not variables and reader.has(path) and hasattr(type(obj), "load_own_variables"):
            stores.append((path, obj, f"{_group(path)} ({_describe(obj, path)})"))
            continue  # read by the layer itself (named datasets), after every check
        where = f"{_group(path)} ({_describe(obj, path)})"
        if not variables and not reader.has(path):
            continue
        if not reader.has(path):
            problems.append(f"{where}: the file has no variables for it, the model has "
                            f"{len(variables)} ({_shapes(variables)})")
            continue
        try:
            count = reader.count(path)
        except ValueError as error:
            problems.append(str(error))
            continue
        if count != len(variables):
            if obj is not None and _is_optimizer(obj):
                # Saved before its first step (or loaded unbuilt): its slots start fresh, as in
                # Keras, which also skips an optimizer state that does not fit.
                warnings.warn(f"{reader.label}: the optimizer state at {_group(path)} holds "
                              f"{count} variable(s), the optimizer has {len(variables)}; "
                              "it was not loaded (training restarts its slots).", stacklevel=3)
                continue
            problems.append(f"{where}: the file holds {count} variable(s), the model has "
                            f"{len(variables)} ({_shapes(variables)})")
            continue
        plan.append((path, variables, where))
    if problems and not skip_mismatch:
        raise ValueError(f"{reader.label}: the weights do not fit model {model.name!r}; "
                         "nothing was loaded:\n- " + "\n- ".join(problems))
    for problem in problems:
        warnings.warn(f"{reader.label}: skipped {problem}.", stacklevel=3)
    checked = []  # shapes and dtypes, still without reading any data
    for path, variables, where in plan:
        try:
            for i, v in enumerate(variables):
                reader.check(path, i, v.shape, v.dtype, f"{where}, variable {i} {v.name!r}")
            checked.append((path, variables, where))
        except ValueError as error:
            if not skip_mismatch:
                raise ValueError(f"{error} Nothing was loaded.") from None
            warnings.warn(f"skipped {error}", stacklevel=3)
    _load_stores(reader, stores)  # (first: a layer that refuses its store changes nothing)
    for path, variables, where in checked:
        for i, v in enumerate(variables):
            v.assign(reader.read(path, i, v.shape, v.dtype, f"{where}, variable {i}"))


def _load_stores(reader: H5Reader, stores: list) -> None:
    """Hand each layer its named datasets (load_own_variables); if one refuses, the layers
    before it get their previous stores back."""
    done = []
    try:
        for path, obj, where in stores:
            before = _own_store(obj)
            obj.load_own_variables({n: reader.read_named(path, n, "float32", f"{where}, {n!r}")
                                    for n in reader.names(path)})
            done.append((obj, before))
    except Exception as error:
        for obj, before in done:
            obj.load_own_variables(before)
        raise ValueError(f"{reader.label}: {error} Nothing was loaded.") from error


def _is_optimizer(obj) -> bool:
    from nhanh.optimizers.optimizer import Optimizer

    return isinstance(obj, Optimizer)


def _group(path: str) -> str:
    return f"{path}/vars" if path else "vars"


def _describe(obj, path: str) -> str:
    if obj is None:
        return "seed generator state"
    return f"{type(obj).__name__} {getattr(obj, 'name', path)!r}"


def _shapes(variables) -> str:
    return ", ".join(f"{v.name} {tuple(v.shape)}" for v in variables) or "none"


def _weights_budget(model) -> int:
    """The most bytes a weights file for `model` may hold: its variables (and an optimizer
    not built yet, up to three times the trainable ones) plus HDF5's overhead."""
    total = 0
    for _, _, variables in walk(model):
        total += sum(math.prod(v.shape) * np.dtype(_np_dtype(v.dtype)).itemsize
                     for v in variables)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not getattr(optimizer, "built", True):
        total += 3 * sum(math.prod(v.shape) * 8 for v in model.trainable_variables)
    return int(total * 1.05) + WEIGHTS_SLACK_BYTES


def _np_dtype(dtype: str) -> str:
    return "float32" if dtype == "bfloat16" else str(dtype)


def _prepare_optimizer(model) -> None:
    """Build a compiled model's optimizer, so its slots exist for the file's values (Keras's
    compile_from_config does the same)."""
    optimizer = getattr(model, "optimizer", None)
    if getattr(model, "compiled", False) and optimizer is not None and model.built and \
            not getattr(optimizer, "built", True):
        optimizer.build(model.trainable_variables)


# --- public operations ----------------------------------------------------------------------
def save_weights(model, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write `model`'s variables (and its optimizer's) to a `.weights.h5` file, atomically."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError("The filename must end in `.weights.h5` (Keras's weights layout); "
                         f"got {filepath!r}.")
    _check_overwrite(filepath, overwrite)
    with archive.atomic_write(filepath) as temp:
        write_weights(model, temp)


def load_weights(model, filepath: str | os.PathLike, skip_mismatch: bool = False) -> None:
    """Read a `.weights.h5` file (or the weights of a `.keras` file) into `model`: all or
    nothing unless `skip_mismatch`."""
    filepath = os.fspath(filepath)
    _prepare_optimizer(model)
    if filepath.endswith(".keras"):
        with archive.ArchiveReader(filepath, label=filepath) as zf:
            _load_archive_weights(model, zf, filepath, skip_mismatch)
        return
    if not filepath.endswith(".weights.h5"):
        raise ValueError("load_weights reads `.weights.h5` files (Keras 3's layout) and the "
                         f"weights of `.keras` files; got {filepath!r}.")
    size, budget = os.path.getsize(filepath), _weights_budget(model)
    if size > budget:
        raise ValueError(f"{filepath}: the file holds {size} bytes, far more than model "
                         f"{model.name!r} can use ({budget} at most); refusing to read it.")
    with H5Reader(filepath, label=filepath) as reader:
        read_weights(model, reader, skip_mismatch)


def _load_archive_weights(model, zf: archive.ArchiveReader, label: str,
                          skip_mismatch: bool) -> None:
    if "model.weights.h5" not in zf.names():
        raise ValueError(f"{label}: the archive has no model.weights.h5; its members are "
                         f"{zf.names()}.")
    temp = zf.extract_to_temp("model.weights.h5", _weights_budget(model))
    with H5Reader(temp, label=f"{label}: model.weights.h5") as reader:
        read_weights(model, reader, skip_mismatch)


def save_model(model, filepath: str | os.PathLike, overwrite: bool = True,
               zipped: bool | None = None, **kwargs) -> None:
    """Write `model` as a `.keras` file: config, metadata and weights, atomically.

    Args:
        model: The model to save.
        filepath: Where to write; must end in `.keras`.
        overwrite: Replace an existing file (else raise).
        zipped: Keras's switch for an unzipped folder; only the zip (None or True) is
            written.
    """
    filepath = os.fspath(filepath)
    if kwargs:
        raise TypeError(f"save_model got unexpected argument(s) {sorted(kwargs)}.")
    if filepath.endswith((".h5", ".hdf5")):
        raise ValueError("nhanh does not write Keras 2's legacy HDF5 model files; save as "
                         f"`.keras` (the format Keras 3 uses): {filepath!r}.")
    if not filepath.endswith(".keras"):
        raise ValueError(f"The filename must end in `.keras`; got {filepath!r}. For weights "
                         "only, use model.save_weights('name.weights.h5').")
    if zipped is False:
        raise ValueError("nhanh writes `.keras` files zipped only (zipped=None or True).")
    _check_overwrite(filepath, overwrite)
    config = json.dumps(serialization_lib.serialize_keras_object(model))
    import nhanh

    metadata = {"keras_version": KERAS_VERSION, "nhanh_version": nhanh.__version__,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    if getattr(model, "compiled", False):  # what Keras's compile_config cannot say
        metadata["nhanh_steps_per_execution"] = model.steps_per_execution
    metadata = json.dumps(metadata)
    folder = os.path.dirname(os.path.abspath(filepath))
    with tempfile.TemporaryDirectory(dir=folder, prefix=".nhanh-save-") as work:
        weights = os.path.join(work, "model.weights.h5")
        write_weights(model, weights)
        archive.write_archive(filepath, [("metadata.json", metadata.encode()),
                                         ("config.json", config.encode()),
                                         ("model.weights.h5", weights),
                                         *write_assets(model, work)])


def load_model(filepath: str | os.PathLike, custom_objects: dict | None = None,
               compile: bool = True, safe_mode: bool = True):
    """The model a `.keras` file holds (nhanh's or Keras 3's), with its weights and, when it
    was compiled and `compile`, its loss, metrics and optimizer state.

    Args:
        filepath: A `.keras` file.
        custom_objects: Your classes and functions the file names, by name.
        compile: Compile the model as it was saved.
        safe_mode: Refuse Python bytecode in the config (a saved lambda); leave it on for any
            file you did not make.
    """
    filepath = os.fspath(filepath)
    if filepath.endswith((".h5", ".hdf5")) and not filepath.endswith(".weights.h5"):
        raise ValueError(f"{filepath}: Keras 2's legacy HDF5 model files are not read by nhanh "
                         "(their configs predate Keras 3's format); load the model in Keras "
                         "and save it as `.keras`.")
    if filepath.endswith(".weights.h5"):
        raise ValueError(f"{filepath} holds weights only: build the model, then call "
                         "model.load_weights(path).")
    if not filepath.endswith(".keras"):
        raise ValueError(f"load_model reads `.keras` files; got {filepath!r}.")
    with archive.ArchiveReader(filepath, label=filepath) as zf:
        names = zf.names()
        if "config.json" not in names:
            raise ValueError(f"{filepath}: the archive has no config.json (members: {names}); "
                             "it is not a .keras model file.")
        config = parse_json(zf.read_bytes("config.json", CONFIG_MAX_BYTES),
                            f"{filepath}: config.json")
        if not compile and isinstance(config, dict):
            config.pop("compile_config", None)
        weights_size = zf.size("model.weights.h5") if "model.weights.h5" in names else 0
        # The model may take what its weights file can fill, an optimizer's slots on top, and
        # a little more: a config cannot make the loader allocate more than that.
        # Its weights start as zeros rather than as draws the file would overwrite (the load
        # below fails unless the file has every one of them).
        with CustomObjectScope(custom_objects), SkipInitializers(), AllocationBudget(
                4 * weights_size + BUILD_SLACK_BYTES, f"{filepath}: config.json"):
            model = serialization_lib.deserialize_keras_object(config, safe_mode=safe_mode)
        from nhanh.models.model import Model

        if not isinstance(model, Model):
            raise ValueError(f"{filepath}: config.json describes a {type(model).__name__}, "
                             "not a model.")
        if compile and getattr(model, "compiled", False) and "metadata.json" in names:
            metadata = parse_json(zf.read_bytes("metadata.json", CONFIG_MAX_BYTES),
                                  f"{filepath}: metadata.json")
            steps = metadata.get("nhanh_steps_per_execution") if isinstance(metadata,
                                                                            dict) else None
            if steps == "auto" or (isinstance(steps, int) and steps >= 1):
                model.steps_per_execution = steps
        _prepare_optimizer(model)
        _load_archive_weights(model, zf, filepath, skip_mismatch=False)
        read_assets(model, zf)
    return model


# --- assets: Keras's `assets/<object path>/` folders (the lookup layers' vocabularies) --------
ASSETS_MAX_BYTES = 1 << 31  # what one object's asset files may hold together


def write_assets(model, work: str) -> list[tuple[str, str]]:
    """Archive members `assets/<path>/<file>` for the files each object's `save_assets(folder)`
    writes (each into a fresh folder, so a parent's members never repeat its children's)."""
    members = []
    for path, obj, _ in walk(model):
        if obj is None or not callable(getattr(obj, "save_assets", None)):
            continue
        folder = tempfile.mkdtemp(dir=work, prefix="assets-")
        obj.save_assets(folder)
        for root, _, files in os.walk(folder):
            for file in sorted(files):
                relative = os.path.relpath(os.path.join(root, file), folder).replace(os.sep, "/")
                members.append(("/".join(p for p in ("assets", path, relative) if p),
                                os.path.join(root, file)))
    return members


def read_assets(model, zf: archive.ArchiveReader) -> None:
    """Hand each object that has asset files in the archive (directly in its own
    `assets/<path>/` folder) a private copy of that folder for its `load_assets`. Nothing is
    read from anywhere but the archive, and only up to ASSETS_MAX_BYTES per object."""
    for path, obj, _ in walk(model):
        if obj is None or not callable(getattr(obj, "load_assets", None)):
            continue
        prefix = f"assets/{path}/" if path else "assets/"
        if not any("/" not in name[len(prefix):] for name in zf.asset_names(prefix)):
            continue  # none of its own: it keeps what its config gave it
        obj.load_assets(zf.extract_assets_to_temp(prefix, ASSETS_MAX_BYTES))


def parse_json(data: bytes, label: str) -> Any:
    """JSON from a file part, refused when malformed or nested beyond reason."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:  # bracket depth before json.loads recurses into it
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    if deepest > serialization_lib.MAX_DEPTH:
        raise ValueError(f"{label} is nested {deepest} levels deep (more than "
                         f"{serialization_lib.MAX_DEPTH}); refusing it.")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{label} is not valid JSON: {error}.") from None


def _check_overwrite(filepath: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists and overwrite=False; pass overwrite=True to "
                              "replace it.")
