"""Models: Sequential and Model (subclassing)."""

from nhanh.models.model import Model
from nhanh.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
