"""Saving and loading compressed models (safetensors + JSON only)."""

# importing `shrink` registers the "pruned_shapes" layout handler, before any quantization handler: shapes first
from ..pruning import shrink as _shrink  # noqa: F401
from .layout import LayoutHandler, describe_layouts, rebuild_layouts, register_layout_handler
from .load import load_compressed
from .quantizer import HfCompressConfig, HfCompressQuantizer, register_hf_compress_quantizer
from .save import save_compressed, update_compression_config


__all__ = [
    "HfCompressConfig",
    "HfCompressQuantizer",
    "LayoutHandler",
    "describe_layouts",
    "load_compressed",
    "rebuild_layouts",
    "register_hf_compress_quantizer",
    "register_layout_handler",
    "save_compressed",
    "update_compression_config",
]
