"""One call that makes a run repeatable."""

from __future__ import annotations

import random

import numpy as np


def set_random_seed(seed: int) -> None:
    """Seed Python, NumPy, and the host generator behind nhanh's initializers and layer seeds.

    nhanh draws initial weights on the host from this seed, so the same seed gives the same
    initial weights on every backend.

    Args:
        seed: Int seed (a bool or non-integer raises a TypeError). NumPy gets it modulo 2**32.
    """
    from nhanh import random as nhanh_random

    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"set_random_seed expects an integer seed, got {seed!r}.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    nhanh_random.set_global_seed(seed)
