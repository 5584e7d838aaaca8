"""Exporting a trained model for serving without nhanh: ONNX, jax.export, torch.export.

`model.export(path, format=...)` calls `export_model`; see export_lib.py for the formats and
which engine's exporter writes each.
"""

from nhanh.export.export_lib import FORMATS, export_model

__all__ = ["FORMATS", "export_model"]
