"""
Layout handlers: how a compressed model's module structure is described in `config.json` and rebuilt on load.

A compressed model differs from what its `config.json` alone would build: pruning shrinks some modules to
per-layer sizes, quantization replaces `nn.Linear` by modules holding int8 / packed weights. Each such change is a
*layout handler*: `describe(model)` returns a JSON-able description saved under
`config.json["quantization_config"]["layouts"][handler.name]`, and `rebuild(model, description)` re-applies it to a
freshly built (possibly meta-device) model before the weights are loaded, so state-dict keys and shapes match.
Handlers run in registration order on load (shapes first, then quantized modules).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch.nn as nn


@dataclass(frozen=True)
class LayoutHandler:
    """
    A named pair of functions that describe and rebuild one kind of module-structure change.

    Args:
        name (`str`): key under `quantization_config["layouts"]`.
        describe (`Callable[[nn.Module], dict | None]`): JSON-able description, or `None` when nothing to record.
        rebuild (`Callable[[nn.Module, dict], None]`): re-applies the description to a freshly built model in place.
    """

    name: str
    describe: Callable[[nn.Module], dict[str, Any] | None]
    rebuild: Callable[[nn.Module, dict[str, Any]], None]


_LAYOUT_HANDLERS: dict[str, LayoutHandler] = {}


def register_layout_handler(handler: LayoutHandler) -> LayoutHandler:
    """Register `handler`; registering a different handler under an existing name is an error."""
    existing = _LAYOUT_HANDLERS.get(handler.name)
    if existing is not None and existing != handler:
        raise ValueError(f"A layout handler named {handler.name!r} is already registered.")
    _LAYOUT_HANDLERS[handler.name] = handler
    return handler


def layout_handlers() -> list[LayoutHandler]:
    """The registered handlers, in the order they are applied on load."""
    return list(_LAYOUT_HANDLERS.values())


def describe_layouts(model: nn.Module) -> dict[str, Any]:
    """Run every handler's `describe` and keep the non-empty descriptions."""
    layouts = {}
    for handler in layout_handlers():
        description = handler.describe(model)
        if description:
            layouts[handler.name] = description
    return layouts


def rebuild_layouts(model: nn.Module, layouts: dict[str, Any]) -> None:
    """Apply the saved descriptions to `model`, in registration order; unknown layout names are an error."""
    unknown = sorted(set(layouts) - set(_LAYOUT_HANDLERS))
    if unknown:
        raise ValueError(
            f"This model was saved with layout(s) {unknown} that this hf_compress does not know; "
            f"known: {sorted(_LAYOUT_HANDLERS)}. Upgrade hf_compress."
        )
    for handler in layout_handlers():
        if handler.name in layouts:
            handler.rebuild(model, layouts[handler.name])
