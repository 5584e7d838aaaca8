"""nhanh: Keras's API on JAX and PyTorch, fast."""

from nhanh import config, ops, random, utils

__version__ = "0.1.0"
