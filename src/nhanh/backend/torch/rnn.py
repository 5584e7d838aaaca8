"""Recurrences compiled as one loop on PyTorch: this backend's RNN_OPS."""
