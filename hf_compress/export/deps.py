"""Lazy imports of optional dependencies (ONNX, compressed-tensors), with an actionable error."""

import importlib
from types import ModuleType


EXTRAS = {"onnx": "ONNX export (onnx, onnxruntime)", "compressed-tensors": "the compressed-tensors format"}


def require(module: str, extra: str = "onnx") -> ModuleType:
    """Import `module` (e.g. "onnxruntime") or raise an `ImportError` telling the user which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"hf_compress needs the optional dependency {module!r} for {EXTRAS[extra]}: "
            f"`pip install hf-compress[{extra}]`. ({err})"
        ) from err
