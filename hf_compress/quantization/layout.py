"""The "quantized_modules" layout handler: records converted layers in `config.json` and rebuilds them on load."""

from typing import Any

import torch
import torch.nn as nn

from ..serialization.layout import LayoutHandler, register_layout_handler
from .convert import set_submodule
from .quantized_linear import QuantizedLinear


LAYOUT_NAME = "quantized_modules"
FORMAT_VERSION = 1


def describe_quantized(model: nn.Module) -> dict[str, Any] | None:
    """`{"format_version", "modules": {name: entry}}` for every `QuantizedLinear` of `model`, or `None`."""
    modules = {name: m.layout_entry() for name, m in model.named_modules() if isinstance(m, QuantizedLinear)}
    if not modules:
        return None
    return {"format_version": FORMAT_VERSION, "modules": modules}


def rebuild_quantized(model: nn.Module, description: dict[str, Any]) -> None:
    """Replace the recorded modules of a freshly built `model` by empty `QuantizedLinear`s of the saved shapes."""
    version = description.get("format_version", FORMAT_VERSION)
    if version > FORMAT_VERSION:
        raise ValueError(
            f"Quantized layout format_version={version} is newer than this hf_compress supports ({FORMAT_VERSION}); "
            "upgrade hf_compress."
        )
    for name, entry in description["modules"].items():
        try:
            old = model.get_submodule(name)
        except AttributeError:
            raise ValueError(f"Saved quantized module {name!r} does not exist in {type(model).__name__}.") from None
        tensor = next(iter(old.parameters()), None)
        device = tensor.device if tensor is not None else torch.device("cpu")
        with torch.device(device):
            new = QuantizedLinear.from_layout_entry(entry)
        if tensor is not None and tensor.dtype.is_floating_point and new.bias is not None:
            new.bias.data = new.bias.data.to(tensor.dtype)
        set_submodule(model, name, new)


QUANTIZED_LAYOUT = register_layout_handler(LayoutHandler(LAYOUT_NAME, describe_quantized, rebuild_quantized))
