"""Convolution and pooling on JAX: this backend's CONV_OPS."""
