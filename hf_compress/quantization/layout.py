"""
The "quantized_modules" and "quantized_embeddings" layout handlers: record converted layers and embedding tables in
`config.json` and rebuild them on load.
"""

from typing import Any

import torch
import torch.nn as nn

from ..serialization.layout import LayoutHandler, register_layout_handler
from .convert import set_submodule
from .quantized_embedding import QuantizedEmbedding
from .quantized_linear import QuantizedLinear


LAYOUT_NAME = "quantized_modules"
EMBEDDINGS_LAYOUT_NAME = "quantized_embeddings"
FORMAT_VERSION = 1


def describe_quantized(model: nn.Module) -> dict[str, Any] | None:
    """`{"format_version", "modules": {name: entry}}` for every `QuantizedLinear` of `model`, or `None`."""
    modules = {name: m.layout_entry() for name, m in model.named_modules() if isinstance(m, QuantizedLinear)}
    if not modules:
        return None
    return {"format_version": FORMAT_VERSION, "modules": modules}


def describe_quantized_embeddings(model: nn.Module) -> dict[str, Any] | None:
    """`{"format_version", "modules": {name: entry}}` for every `QuantizedEmbedding` of `model`, or `None`."""
    modules = {name: m.layout_entry() for name, m in model.named_modules() if isinstance(m, QuantizedEmbedding)}
    if not modules:
        return None
    return {"format_version": FORMAT_VERSION, "modules": modules}


def _check_version(description: dict[str, Any]) -> None:
    version = description.get("format_version", FORMAT_VERSION)
    if version > FORMAT_VERSION:
        raise ValueError(
            f"Quantized layout format_version={version} is newer than this hf_compress supports ({FORMAT_VERSION}); "
            "upgrade hf_compress."
        )


def _saved_modules(model: nn.Module, description: dict[str, Any], what: str):
    """`(name, entry, module now at name)` for each recorded module; a format too new or a missing module is an error."""
    _check_version(description)
    for name, entry in description["modules"].items():
        try:
            yield name, entry, model.get_submodule(name)
        except AttributeError:
            raise ValueError(f"Saved {what} {name!r} does not exist in {type(model).__name__}.") from None


def _first_parameter(module: nn.Module) -> torch.Tensor | None:
    """The module's first parameter (its device places the rebuilt module: meta while transformers loads)."""
    return next(iter(module.parameters()), None)


def rebuild_quantized_embeddings(model: nn.Module, description: dict[str, Any]) -> None:
    """Replace the recorded tables of a freshly built `model` by empty `QuantizedEmbedding`s of the saved shapes."""
    for name, entry, old in _saved_modules(model, description, "quantized embedding"):
        tensor = _first_parameter(old)
        with torch.device(tensor.device if tensor is not None else "cpu"):
            set_submodule(model, name, QuantizedEmbedding.from_layout_entry(entry))


def rebuild_quantized(model: nn.Module, description: dict[str, Any]) -> None:
    """Replace the recorded modules of a freshly built `model` by empty `QuantizedLinear`s of the saved shapes."""
    for name, entry, old in _saved_modules(model, description, "quantized module"):
        tensor = _first_parameter(old)
        device = tensor.device if tensor is not None else torch.device("cpu")
        with torch.device(device):
            new = QuantizedLinear.from_layout_entry(entry)
        if tensor is not None and tensor.dtype.is_floating_point and new.bias is not None:
            new.bias.data = new.bias.data.to(tensor.dtype)
        set_submodule(model, name, new)


QUANTIZED_LAYOUT = register_layout_handler(LayoutHandler(LAYOUT_NAME, describe_quantized, rebuild_quantized))
QUANTIZED_EMBEDDINGS_LAYOUT = register_layout_handler(
    LayoutHandler(EMBEDDINGS_LAYOUT_NAME, describe_quantized_embeddings, rebuild_quantized_embeddings)
)
