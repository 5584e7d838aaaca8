"""Which engine the environment picks: NHANH_BACKEND, else KERAS_BACKEND, else JAX."""

import os
import subprocess
import sys

import pytest

from nhanh import config
from conftest import INSTALLED

pytestmark = pytest.mark.engine_independent

_PRINT_ENGINE = "import nhanh; print(nhanh.config.backend())"


def run_with(env: dict) -> subprocess.CompletedProcess:
    """`import nhanh` in a fresh process whose environment is only `env` (and PATH)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("NHANH_BACKEND", "KERAS_BACKEND")}
    return subprocess.run([sys.executable, "-W", "always", "-c", _PRINT_ENGINE],
                          env={**clean, **env}, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif("torch" not in INSTALLED, reason="needs both engines")
def test_keras_backend_is_honoured_and_nhanh_backend_wins():
    out = run_with({"KERAS_BACKEND": "torch"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "torch"
    out = run_with({"KERAS_BACKEND": "torch", "NHANH_BACKEND": "jax"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "jax"


def test_keras_backend_nhanh_lacks_falls_back_to_jax_and_says_how_to_choose():
    out = run_with({"KERAS_BACKEND": "tensorflow"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "jax"
    assert "KERAS_BACKEND='tensorflow'" in out.stderr
    assert "NHANH_BACKEND" in out.stderr and "set_backend" in out.stderr


@pytest.mark.parametrize("env,expected", [
    ({}, "jax"),
    ({"KERAS_BACKEND": "torch"}, "torch"),
    ({"KERAS_BACKEND": "JAX"}, "jax"),
    ({"KERAS_BACKEND": "torch", "NHANH_BACKEND": "jax"}, "jax"),
    ({"KERAS_BACKEND": "jax", "NHANH_BACKEND": "torch"}, "torch"),
    ({"KERAS_BACKEND": ""}, "jax"),
])
def test_default_backend_name(monkeypatch, env, expected):
    monkeypatch.delenv("NHANH_BACKEND", raising=False)
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert config.default_backend_name() == expected


@pytest.mark.parametrize("keras_engine", ["tensorflow", "numpy", "openvino"])
def test_keras_engines_nhanh_lacks_warn(monkeypatch, keras_engine):
    monkeypatch.delenv("NHANH_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_BACKEND", keras_engine)
    expected = f"KERAS_BACKEND='{keras_engine}'.*jax and torch.*uses 'jax'"
    with pytest.warns(UserWarning, match=expected):
        assert config.default_backend_name() == "jax"


def test_unknown_nhanh_backend_is_an_error_even_with_keras_backend(monkeypatch):
    monkeypatch.setenv("NHANH_BACKEND", "tensorflow")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(ValueError, match="Unknown backend 'tensorflow'.*NHANH_BACKEND"):
        config.default_backend_name()
