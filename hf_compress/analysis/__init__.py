"""Counting what compression changed: parameters, FLOPs, bytes on disk, latency."""

from .flops import FlopsCount, FlopsRow, count_flops, dummy_inputs
from .report import CompressionReport, LayerRow, compression_report
from .size import count_parameters, module_bits, safetensors_bytes


__all__ = [
    "CompressionReport",
    "FlopsCount",
    "FlopsRow",
    "LayerRow",
    "compression_report",
    "count_flops",
    "count_parameters",
    "dummy_inputs",
    "module_bits",
    "safetensors_bytes",
]
