"""Every test runs once per installed backend: the `backend` fixture is autouse and switches
nhanh's engine before the test body runs.

A test marked `engines("torch")` runs only on the engines named. A test marked
`engine_independent` (pure Python: config, naming, progress formatting; or a
test that loops over the engines itself, e.g. in subprocesses) runs once, on the first
selected engine. `NHANH_TEST_BACKENDS=jax` (comma-separated) narrows the engines, for quick
local runs and mutation testing; by default every installed engine runs.

Under pytest-xdist (`--dist loadgroup`, set in pyproject.toml) every parametrization of one test
function runs on the same worker: the Keras reference results that tests cache per process
(functools.lru_cache, module dicts) are then computed once per case, not once per engine and
worker, and JAX programs compiled for one case serve its neighbours.
"""

import importlib.util
import os

import numpy as np
import pytest

# JAX's persistent compilation cache (on by default in nhanh) stays off in the suite, here and
# in the subprocesses tests start: nothing is written to the user's cache folder, and every run
# compiles afresh, as on CI's clean machine. tests/test_compilation_cache.py turns it on.
os.environ.setdefault("NHANH_COMPILATION_CACHE", "0")

import nhanh  # noqa: E402
from nhanh import config  # noqa: E402

INSTALLED = [b for b in config.BACKENDS if importlib.util.find_spec(b) is not None]
SELECTED = [b for b in os.environ.get("NHANH_TEST_BACKENDS", ",".join(INSTALLED)).split(",")
            if b in INSTALLED] or INSTALLED


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "engine_independent: the test does not depend on the engine (or loops over "
        "the engines itself), so it runs once")
    config.addinivalue_line(
        "markers", "engines(*names): the test concerns only these engines (e.g. PyTorch's "
        "captured steps); it runs on those of them that are selected")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("[")[0]))


def pytest_generate_tests(metafunc):
    if "backend" not in metafunc.fixturenames:
        return
    engines = SELECTED
    if metafunc.definition.get_closest_marker("engine_independent") is not None:
        engines = SELECTED[:1]
    only = metafunc.definition.get_closest_marker("engines")
    if only is not None:
        engines = [b for b in SELECTED if b in only.args]
        if not engines:  # that engine is not installed or not selected here
            metafunc.parametrize("backend", [pytest.param(
                only.args[0], marks=pytest.mark.skip(reason=f"{only.args} not selected"))],
                indirect=True)
            return
    metafunc.parametrize("backend", engines, indirect=True)


@pytest.fixture(autouse=True)
def backend(request):
    config.set_backend(request.param)
    nhanh.utils.set_random_seed(1234)
    yield request.param


def to_numpy(x):
    return nhanh.ops.convert_to_numpy(x)


@pytest.fixture
def np_rng():
    return np.random.default_rng(0)
