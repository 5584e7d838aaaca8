"""Recurrences compiled as one loop on JAX: this backend's RNN_OPS."""
