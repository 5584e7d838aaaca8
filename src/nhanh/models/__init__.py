"""Models: Sequential, functional Model(inputs, outputs), and subclassed Model."""

from nhanh.models.functional import Functional
from nhanh.models.model import Model
from nhanh.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential"]
