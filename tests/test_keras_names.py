"""A Keras 3 name nhanh lacks says so; nhanh's names that Keras also has are of Keras's kind."""

import importlib
import importlib.util
import os
import sys
import traceback

import pytest

import nhanh
from nhanh import keras_names

pytestmark = pytest.mark.engine_independent

# nhanh's public modules with a Keras 3 counterpart, each ending with the keras_names hook.
HOOKED = ["nhanh", "nhanh.activations", "nhanh.callbacks", "nhanh.config", "nhanh.constraints",
          "nhanh.initializers", "nhanh.layers", "nhanh.losses", "nhanh.metrics", "nhanh.models",
          "nhanh.ops", "nhanh.optimizers", "nhanh.optimizers.schedules", "nhanh.random",
          "nhanh.regularizers", "nhanh.utils", "nhanh.datasets", "nhanh.preprocessing",
          "nhanh.preprocessing.image", "nhanh.preprocessing.sequence", "nhanh.ops.numpy",
          "nhanh.ops.nn", "nhanh.ops.linalg", "nhanh.ops.image"]


def shown(error: BaseException) -> str:
    """What Python prints for the error, "Did you mean" suggestions included."""
    return "".join(traceback.format_exception_only(type(error), error))


@pytest.fixture
def not_yet(monkeypatch):
    """Keras's name list plus two names nhanh will never have, so the tests below do not
    depend on which real Keras names nhanh still lacks."""
    modules = {k: dict(v) for k, v in keras_names.keras_modules().items()}
    modules["keras.callbacks"]["PlannedCallback"] = "class"
    modules["keras.optimizers.schedules"]["PlannedDecay"] = "class"
    monkeypatch.setattr(keras_names, "keras_modules", lambda: modules)


def test_missing_keras_name_says_it_is_keras_but_not_nhanh_yet(not_yet):
    with pytest.raises(AttributeError) as info:
        nhanh.callbacks.PlannedCallback  # noqa: B018
    assert str(info.value) == ("`PlannedCallback` is part of Keras 3's API "
                               "(keras.callbacks.PlannedCallback) but not of nhanh yet.")
    with pytest.raises(AttributeError) as info:
        nhanh.optimizers.schedules.PlannedDecay  # noqa: B018
    assert "(keras.optimizers.schedules.PlannedDecay) but not of nhanh yet" in shown(info.value)
    assert "_TimeDecay" not in shown(info.value)


def test_from_import_carries_the_same_message(not_yet):
    with pytest.raises(ImportError) as info:
        from nhanh.callbacks import PlannedCallback  # noqa: F401
    assert str(info.value) == ("`PlannedCallback` is part of Keras 3's API "
                               "(keras.callbacks.PlannedCallback) but not of nhanh yet.")
    assert info.value.name == "nhanh.callbacks"
    with pytest.raises(ImportError, match=r"\(keras.applications\) but not of nhanh yet"):
        from nhanh import applications  # noqa: F401
    with pytest.raises(ImportError, match="has no attribute 'NotAName'"):
        from nhanh.layers import NotAName  # noqa: F401


def test_names_keras_lacks_too_keep_pythons_error_without_private_suggestions():
    with pytest.raises(AttributeError) as info:
        nhanh.optimizers.schedules.TimeDecay  # noqa: B018
    assert str(info.value) == "module 'nhanh.optimizers.schedules' has no attribute 'TimeDecay'"
    assert "_TimeDecay" not in shown(info.value)
    with pytest.raises(AttributeError) as info:
        nhanh.layers.Dnse  # noqa: B018
    assert "Did you mean: 'Dense'?" in shown(info.value)
    assert "Keras" not in shown(info.value)


def test_getattr_and_hasattr_still_see_an_attribute_error(not_yet):
    assert not hasattr(nhanh.callbacks, "PlannedCallback")
    assert getattr(nhanh.callbacks, "PlannedCallback", "absent") == "absent"
    with pytest.raises(AttributeError):
        nhanh.layers.__wrapped__  # noqa: B018


@pytest.mark.parametrize("module_name", HOOKED)
def test_every_public_module_has_the_hook(module_name):
    module = importlib.import_module(module_name)
    assert module.__dict__["__getattr__"].__module__ == "nhanh.keras_names"
    entry = keras_names.coverage()[keras_names.keras_counterpart(module_name)]
    assert entry["module"] == module_name
    for name in entry["missing"][:1]:  # none where nhanh has all of Keras's names
        with pytest.raises(AttributeError, match=f"`{name}` is part of Keras 3's API"):
            getattr(module, name)


def test_names_nhanh_shares_with_keras_are_of_the_same_kind():
    """A Keras class must be a class in nhanh (subclassed, isinstance-checked), a Keras
    function a function, a Keras module a module."""
    report = keras_names.coverage()
    wrong = {m: e["wrong_kind"] for m, e in report.items() if e["wrong_kind"]}
    assert wrong == {}
    covered = {m: len(e["have"]) for m, e in report.items() if e["have"]}
    assert covered["keras.layers"] >= 100 and covered["keras.ops"] >= 100  # the check ran
    assert "Dense" in report["keras.layers"]["have"]


def test_kind_of_tells_classes_functions_and_modules():
    assert keras_names.kind_of(nhanh.layers.Dense) == "class"
    assert keras_names.kind_of(nhanh.ops.add) == "function"
    assert keras_names.kind_of(nhanh.layers) == "module"
    assert keras_names.kind_of(3) == "constant"


def test_name_list_matches_the_installed_keras():
    """The committed JSON is what tools/keras_api_names.py makes from the installed Keras."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("keras")
    from importlib.metadata import version

    if version("keras") != keras_names.keras_version():
        pytest.skip(f"keras {version('keras')} installed, names are of "
                    f"{keras_names.keras_version()}")
    tool = os.path.join(os.path.dirname(__file__), "..", "tools", "keras_api_names.py")
    spec = importlib.util.spec_from_file_location("keras_api_names", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.collect() == {"keras_version": keras_names.keras_version(),
                                "modules": keras_names.keras_modules()}


def test_submodules_not_imported_yet_are_imported_on_access():
    name = "nhanh.layers.core"
    saved = sys.modules.pop(name, None)
    layers = nhanh.layers
    had = layers.__dict__.pop("core", None)
    try:
        assert layers.core.__name__ == name
        assert name in sys.modules
    finally:
        if saved is not None:
            sys.modules[name] = saved
            layers.core = had if had is not None else saved


@pytest.mark.parametrize("group", ["numpy", "nn", "linalg", "image"])
def test_ops_groups_hold_nhanh_ops_own_functions_under_kerass_grouping(group):
    module = importlib.import_module(f"nhanh.ops.{group}")
    keras_group = keras_names.keras_modules()[f"keras.ops.{group}"]
    if group == "image":  # as in Keras, the image ops live only in ops.image
        assert set(module.__all__) == set(keras_group)
        assert not set(keras_group) & set(vars(nhanh.ops))
        return
    assert set(module.__all__) == {n for n in keras_group if n in vars(nhanh.ops)}
    for name in module.__all__:
        assert getattr(module, name) is getattr(nhanh.ops, name)
