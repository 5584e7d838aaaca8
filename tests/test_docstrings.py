"""Every public function and class documents its arguments in a Keras-style `Args:` section.

The walk covers the public names of each module below (its `__all__`, else every name without
a leading underscore). Each object defined in nhanh that takes named arguments (a class: its
`__init__` beyond `self`) must have a docstring (a class: the class docstring) whose `Args:`
section has one entry per named parameter. `*args` / `**kwargs` need no entry, and a documented
`**kwargs` entry covers the Layer base-class keywords (name, dtype, trainable, ...).

An object exported by several modules is checked once, under the module it is defined in (or
the first one exporting it), so a failure names one place to fix.

`python tests/test_docstrings.py` prints, per module, how many objects lack an `Args:` section
or miss parameters in it.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

MODULES = (
    "nhanh", "nhanh.layers", "nhanh.models", "nhanh.callbacks", "nhanh.optimizers",
    "nhanh.optimizers.schedules", "nhanh.losses", "nhanh.metrics", "nhanh.activations",
    "nhanh.initializers", "nhanh.regularizers", "nhanh.constraints", "nhanh.utils", "nhanh.ops",
    "nhanh.random", "nhanh.config", "nhanh.preprocessing", "nhanh.datasets", "nhanh.wrappers",
    "nhanh.ops.image", "nhanh.dtype_policies", "nhanh.mixed_precision", "nhanh.visualization",
    "nhanh.utils.bounding_boxes",
)

_ENTRY = re.compile(r"(\*{0,2})([A-Za-z_]\w*)\s*(\([^)]*\))?\s*:")
_NAMED = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
          inspect.Parameter.KEYWORD_ONLY)


def documented_args(doc: str | None) -> set[str] | None:
    """Names with an entry in the docstring's `Args:` section (`**kwargs` kept as written);
    None when there is no such section."""
    if not doc:
        return None
    lines = inspect.cleandoc(doc).splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == "Args:"]
    if not starts:
        return None
    head = lines[starts[0]]
    head_indent = len(head) - len(head.lstrip())
    names, entry_indent = set(), None
    for line in lines[starts[0] + 1:]:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= head_indent:
            break  # the next section (Returns:, Raises:, ...) or prose
        if entry_indent is None:
            entry_indent = indent
        if indent == entry_indent:
            match = _ENTRY.match(line.strip())
            if match:
                stars, name = match.group(1), match.group(2)
                names.add("**" + name if stars == "**" else name)
    return names


def _base_layer_keywords() -> set[str]:
    from nhanh.layers import Layer

    return {p.name for p in inspect.signature(Layer.__init__).parameters.values()
            if p.kind in _NAMED and p.name != "self"}


def named_parameters(obj) -> list[str] | None:
    """The named parameters a docstring must cover; None when the signature cannot be read."""
    if inspect.isclass(obj):
        init = obj.__init__
        if init is object.__init__ or not inspect.isfunction(init):
            return []
        try:
            params = list(inspect.signature(init).parameters.values())[1:]  # self
        except (TypeError, ValueError):
            return None
    else:
        try:
            params = list(inspect.signature(obj).parameters.values())
        except (TypeError, ValueError):
            return None
    return [p.name for p in params if p.kind in _NAMED]


def problem(obj, base_keywords: set[str]) -> str | None:
    """What is wrong with obj's argument documentation, or None."""
    names = named_parameters(obj)
    if not names:
        return None
    documented = documented_args(obj.__doc__)
    if documented is None:
        return "no Args: section"
    covered = set(documented)
    if "**kwargs" in documented:
        covered |= base_keywords
    missing = [n for n in names if n not in covered]
    return f"Args: lacks {', '.join(missing)}" if missing else None


def _public(module) -> list[str]:
    names = getattr(module, "__all__", None)
    return list(names) if names is not None else [n for n in dir(module) if not n.startswith("_")]


def _defined_in_nhanh(obj) -> bool:
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return False
    module = getattr(obj, "__module__", None) or ""
    return module == "nhanh" or module.startswith("nhanh.")


def objects_by_module() -> dict[str, dict[str, object]]:
    """module name -> {public name: object}, each object under one module only."""
    exported: dict[int, list[tuple[str, str, object]]] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in _public(module):
            obj = getattr(module, name, None)
            if _defined_in_nhanh(obj):
                exported.setdefault(id(obj), []).append((module_name, name, obj))
    owned: dict[str, dict[str, object]] = {m: {} for m in MODULES}
    for places in exported.values():
        defined_in = places[0][2].__module__

        def depth(place):
            m = place[0]
            return len(m) if defined_in == m or defined_in.startswith(m + ".") else -1
        module_name, name, obj = max(places, key=depth)  # the first one wins ties
        owned[module_name][name] = obj
    return owned


def problems(module_name: str) -> dict[str, str]:
    base_keywords = _base_layer_keywords()
    found = {}
    for name, obj in sorted(objects_by_module()[module_name].items()):
        issue = problem(obj, base_keywords)
        if issue:
            found[name] = issue
    return found


@pytest.mark.engine_independent
@pytest.mark.parametrize("module_name", MODULES)
def test_public_objects_document_their_arguments(module_name):
    found = problems(module_name)
    assert not found, (f"{len(found)} public object(s) of {module_name} lack argument "
                       "documentation (Keras style: an `Args:` section with one `name: ...` "
                       "entry per parameter):\n" +
                       "\n".join(f"  {name}: {issue}" for name, issue in found.items()))


# --- the checker itself ---------------------------------------------------------------------


def _good(x, axis=None, *, keepdims=False):
    """Sums.

    Args:
        x: Input tensor.
        axis: Axis, spanning
            two lines; `keepdims:` inside a description is not an entry.
        keepdims: Keep axes.

    Returns:
        keepdims: a line in another section is not an entry.
    """


def _missing_one(x, axis=None, *, keepdims=False):
    """Sums.

    Args:
        x: Input tensor.
        axis: Axis, with a continuation line that looks like an entry:
            keepdims: mentioned in a description only.

    Returns:
        keepdims: a line in another section is not an entry.
    """


def _no_section(x):
    """Takes x: but has no Args section."""


def _varargs_only(*args, **kwargs):
    """Forwards everything."""


class _LayerLike:
    """A layer.

    Args:
        units: Width.
        **kwargs: Base-layer keywords (`name`, `dtype`, `trainable`, ...).
    """

    def __init__(self, units, *, name=None, dtype=None):
        pass


class _LayerLikeWithoutKwargsEntry:
    """A layer.

    Args:
        units: Width.
    """

    def __init__(self, units, *, name=None):
        pass


@pytest.mark.engine_independent
def test_checker_finds_missing_and_undocumented_arguments():
    base = {"name", "dtype", "trainable"}
    assert documented_args(_good.__doc__) == {"x", "axis", "keepdims"}
    assert problem(_good, base) is None
    assert problem(_missing_one, base) == "Args: lacks keepdims"
    assert problem(_no_section, base) == "no Args: section"
    assert problem(_varargs_only, base) is None
    assert problem(_LayerLike, base) is None
    assert problem(_LayerLikeWithoutKwargsEntry, base) == "Args: lacks name"


@pytest.mark.engine_independent
def test_an_object_is_checked_once_under_its_defining_module():
    owned = objects_by_module()
    import nhanh

    assert "Dense" in owned["nhanh.layers"]
    assert "Layer" in owned["nhanh.layers"] and "Layer" not in owned["nhanh"]
    assert "Variable" in owned["nhanh"] and "Variable" not in owned["nhanh.ops"]
    assert owned["nhanh.ops"]["sum"] is nhanh.ops.sum


# --- nhanh.ops: the forwarded ops carry their stubs' documentation --------------------------


@pytest.mark.engine_independent
def test_every_forwarded_op_has_documentation_and_the_torch_signature():
    """The stubs in ops/_docs.py must follow the backend: a renamed or added argument there
    has to be documented. The PyTorch backend's functions are nhanh's own code, so their
    signatures are the ones the stubs copy (the JAX backend mostly re-exports jax.numpy)."""
    pytest.importorskip("torch")
    import nhanh
    from nhanh.backend import OP_GROUPS
    from nhanh.backend import torch as torch_backend

    mismatched = []
    for group, names in OP_GROUPS.items():
        for name in names:
            op = getattr(nhanh.ops, name)
            assert "Args:" in (op.__doc__ or ""), f"nhanh.ops.{name} has no documented stub"
            engine = getattr(getattr(torch_backend, group), name)
            ours = [(p.name, p.default) for p in inspect.signature(op).parameters.values()]
            theirs = [(p.name, p.default)
                      for p in inspect.signature(engine).parameters.values()]
            if ours != theirs:
                mismatched.append(f"{name}: documented {ours}, torch backend {theirs}")
    assert not mismatched, "\n".join(mismatched)


if __name__ == "__main__":
    for module_name in MODULES:
        found = problems(module_name)
        no_section = sum(issue == "no Args: section" for issue in found.values())
        checked = sum(bool(named_parameters(obj))
                      for obj in objects_by_module()[module_name].values())
        print(f"{module_name:28s} {checked:4d} take arguments  {no_section:4d} without Args:  "
              f"{len(found) - no_section:4d} with parameters missing")
