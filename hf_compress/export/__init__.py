"""Export compressed models for fast CPU inference (ONNX + ONNX Runtime int8; optional extra `[onnx]`)."""

from .check import check_onnx_export
from .onnx import export_onnx, materialize_quantized


__all__ = ["check_onnx_export", "export_onnx", "materialize_quantized"]
