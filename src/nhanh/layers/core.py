"""Keras 2's `layers.core` path, kept so tutorials' imports work unchanged."""

from nhanh.layers.activation import Activation
from nhanh.layers.dense import Dense
from nhanh.layers.input_layer import Input, InputLayer
from nhanh.layers.regularization import Dropout
from nhanh.layers.reshaping import Flatten, Reshape

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Reshape"]
