"""Every test runs once per installed backend: the `backend` fixture is autouse and switches
nhanh's engine before the test body runs.

A test marked `engine_independent` (pure Python: config, naming, progress formatting; or a
test that loops over the engines itself, e.g. in subprocesses) runs once, on the first
selected engine. `NHANH_TEST_BACKENDS=jax` (comma-separated) narrows the engines, for quick
local runs and mutation testing; by default every installed engine runs.
"""

import importlib.util
import os

import numpy as np
import pytest

import nhanh
from nhanh import config

INSTALLED = [b for b in config.BACKENDS if importlib.util.find_spec(b) is not None]
SELECTED = [b for b in os.environ.get("NHANH_TEST_BACKENDS", ",".join(INSTALLED)).split(",")
            if b in INSTALLED] or INSTALLED


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "engine_independent: the test does not depend on the engine (or loops over "
        "the engines itself), so it runs once")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        once = metafunc.definition.get_closest_marker("engine_independent") is not None
        metafunc.parametrize("backend", SELECTED[:1] if once else SELECTED, indirect=True)


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
