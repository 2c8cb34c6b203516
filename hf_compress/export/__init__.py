"""Export compressed models for fast CPU inference (ONNX + ONNX Runtime int8; optional extra `[onnx]`)."""

from .check import SLOW_FUSIONS, check_onnx_export, onnx_session
from .onnx import export_onnx, materialize_quantized


__all__ = ["SLOW_FUSIONS", "check_onnx_export", "export_onnx", "materialize_quantized", "onnx_session"]
