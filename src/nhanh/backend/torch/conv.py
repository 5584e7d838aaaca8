"""Convolution and pooling on PyTorch: this backend's CONV_OPS."""
