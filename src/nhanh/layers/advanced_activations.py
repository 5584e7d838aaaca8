"""Keras 2's `layers.advanced_activations` path, kept so tutorials' imports work unchanged
(`from keras.layers.advanced_activations import LeakyReLU`)."""

from nhanh.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
