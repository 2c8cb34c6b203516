"""Lazy imports of the optional ONNX dependencies, with an actionable error."""

import importlib
from types import ModuleType


def require(module: str) -> ModuleType:
    """Import `module` (e.g. "onnxruntime") or raise an `ImportError` telling the user which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"hf_compress ONNX export needs the optional dependency {module!r}: `pip install hf-compress[onnx]` "
            f"(onnx, onnxruntime, onnxscript). ({err})"
        ) from err
