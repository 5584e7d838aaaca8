"""JAX's persistent compilation cache, which nhanh turns on by default (issue 13, the first fit):
a second run of a script loads its compiled programs from a folder private to the user, and
JAX's own settings or NHANH_COMPILATION_CACHE=0 leave JAX alone."""

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.engines("jax")

SCRIPT = textwrap.dedent("""
    import json, sys, jax, numpy as np
    events = []
    jax.monitoring.register_event_listener(lambda event, **kw: events.append(event))
    import nhanh
    nhanh.config.set_backend("jax")
    history = {"loss": None}
    if sys.argv[1] == "fit":
        nhanh.utils.set_random_seed(0)
        x = np.random.default_rng(0).random((64, 2)).astype("float32")
        model = nhanh.Sequential([nhanh.Input((2,)), nhanh.layers.Dense(1)])
        model.compile(loss="mse", optimizer=nhanh.optimizers.SGD(0.1))
        history = model.fit(x, x.sum(1), batch_size=8, epochs=2, verbose=0).history
    print(json.dumps({
        "dir": jax.config.jax_compilation_cache_dir,
        "min_s": jax.config.jax_persistent_cache_min_compile_time_secs,
        "hits": events.count("/jax/compilation_cache/cache_hits"),
        "writes": events.count("/jax/compilation_cache/cache_misses"),  # (JAX's name)
        "loss": history["loss"]}))
""")


def run(env: dict, home, fit: bool = True) -> dict:
    """SCRIPT in a fresh process with HOME=home; without `fit` it only loads the engine."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE",
                                  "NHANH_COMPILATION_CACHE", "XDG_CACHE_HOME"))}
    proc = subprocess.run([sys.executable, "-W", "always", "-c", SCRIPT, "fit" if fit else "load"],
                          env={**clean, "HOME": str(home), **env}, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["stderr"] = proc.stderr
    return out


def entries(folder) -> list:
    return [f for f in os.listdir(folder) if f.endswith("-cache")]


def test_a_second_run_loads_the_first_runs_programs(tmp_path):
    first = run({}, tmp_path)
    folder = tmp_path / ".cache" / "nhanh" / "jax"
    assert first["dir"] == str(folder)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700  # the user's alone
    assert first["writes"] > 0
    written = entries(folder)
    assert written, "nothing was cached"
    second = run({}, tmp_path)
    assert second["hits"] >= len(written)  # every cached program was loaded, not compiled
    assert second["loss"] == first["loss"]  # the same programs, the same numbers


def test_the_switch_and_jaxs_own_settings_are_respected(tmp_path):
    off = run({"NHANH_COMPILATION_CACHE": "0"}, tmp_path)  # (it fits: nothing may be written)
    assert off["dir"] is None and off["hits"] == off["writes"] == 0
    assert not (tmp_path / ".cache").exists()
    own = tmp_path / "jax-own"
    theirs = run({"JAX_COMPILATION_CACHE_DIR": str(own)}, tmp_path, fit=False)
    assert theirs["dir"] == str(own)
    assert theirs["min_s"] == 1.0  # JAX's threshold untouched: its cache, its rules
    assert not (tmp_path / ".cache").exists()
    moved = tmp_path / "elsewhere"
    chosen = run({"NHANH_COMPILATION_CACHE": str(moved)}, tmp_path, fit=False)
    assert chosen["dir"] == str(moved) and stat.S_IMODE(os.stat(moved).st_mode) == 0o700


@pytest.mark.engine_independent
def test_a_folder_others_can_write_to_or_own_is_refused(tmp_path, monkeypatch):
    from nhanh.backend.jax import compilation_cache

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    assert "others may write" in compilation_cache._private(str(shared))
    mine = tmp_path / "mine"
    assert compilation_cache._private(str(mine)) is None
    assert stat.S_IMODE(os.stat(mine).st_mode) == 0o700
    monkeypatch.setattr(os, "getuid", lambda: os.stat(mine).st_uid + 1)
    assert "belongs to user id" in compilation_cache._private(str(mine))


def test_a_refused_folder_warns_and_caches_nothing(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    out = run({"NHANH_COMPILATION_CACHE": str(shared)}, tmp_path, fit=False)
    assert out["dir"] is None
    assert "not caching compiled JAX programs" in out["stderr"]
    assert "others may write" in out["stderr"]
