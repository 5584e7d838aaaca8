"""Every test runs once per installed backend: the `backend` fixture is autouse and switches
nhanh's engine before the test body runs."""

import importlib.util

import numpy as np
import pytest

import nhanh
from nhanh import config

INSTALLED = [b for b in config.BACKENDS if importlib.util.find_spec(b) is not None]


@pytest.fixture(params=INSTALLED, autouse=True)
def backend(request):
    config.set_backend(request.param)
    nhanh.utils.set_random_seed(1234)
    yield request.param


def to_numpy(x):
    return nhanh.ops.convert_to_numpy(x)


@pytest.fixture
def np_rng():
    return np.random.default_rng(0)
