"""JAX's persistent compilation cache, on by default: a script's second run loads the programs
its first run compiled instead of compiling them again (XLA's compile is most of a first fit).

The cache is a folder of the current user's own, `$XDG_CACHE_HOME/nhanh/jax` (by default
`~/.cache/nhanh/jax`): made private (mode 0700) and refused if another user owns it or others
may write to it, since whoever can write a cached program can make every later run execute it.
JAX's own settings win: when the program or the environment chose a cache folder
(`jax_compilation_cache_dir`, `JAX_COMPILATION_CACHE_DIR`) or turned JAX's cache off, nhanh
changes nothing. `NHANH_COMPILATION_CACHE=0` turns nhanh's default off;
`NHANH_COMPILATION_CACHE=/a/folder` uses that folder (with the same checks).
"""

from __future__ import annotations

import os
import stat
import warnings

import jax

ENV = "NHANH_COMPILATION_CACHE"
OFF = ("0", "false", "off", "no", "")
# JAX caches only programs that took at least a second to compile; nhanh's fused training loops
# take 0.03-0.5 s on a CPU (small ones through XLA's quicker code generator) and are what a
# first fit waits for. Writing an entry costs about 0.01 s; below this, a second run would save
# less than the first run paid.
MIN_COMPILE_SECONDS = 0.02
MAX_BYTES = 1 << 30  # least recently used programs are evicted beyond this


def default_folder() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nhanh", "jax")


def _private(folder: str) -> str | None:
    """Why `folder` cannot hold this user's cache, or None if it can (made when missing)."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.stat(folder)
    except OSError as error:
        return f"it cannot be made ({error.strerror})"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return f"it belongs to user id {info.st_uid}, not to this user ({os.getuid()})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"others may write to it (mode {stat.filemode(info.st_mode)})"
    return None


def configure() -> str | None:
    """Turn the cache on unless JAX was told otherwise or the user opted out; the folder used
    by nhanh's default (None when nhanh left JAX's cache settings alone)."""
    choice = os.environ.get(ENV)
    if choice is not None and choice.strip().lower() in OFF:
        return None
    if os.environ.get("JAX_COMPILATION_CACHE_DIR") or jax.config.jax_compilation_cache_dir \
            or not jax.config.jax_enable_compilation_cache:
        return None  # JAX's own settings, or the program's
    folder = os.path.abspath(os.path.expanduser(choice)) if choice else default_folder()
    problem = _private(folder)
    if problem is not None:
        warnings.warn(f"nhanh: not caching compiled JAX programs in {folder}: {problem}. Set "
                      f"{ENV} to a folder of your own, or {ENV}=0 to silence this.",
                      RuntimeWarning, stacklevel=2)
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    # (the two settings below only where JAX's defaults are still in place)
    if jax.config.jax_persistent_cache_min_compile_time_secs == 1.0 and \
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    if jax.config.jax_compilation_cache_max_size == -1 and \
            "JAX_COMPILATION_CACHE_MAX_SIZE" not in os.environ:  # (eviction needs filelock)
        jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return folder
