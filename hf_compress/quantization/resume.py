"""JSON-able observer state, so a resumed QAT run continues with the same scales (no pickle)."""

from typing import Any

import torch
import torch.nn as nn

from .prepare import qat_modules


def export_observer_state(model: nn.Module, include_weights: bool) -> dict[str, Any]:
    """
    Observer state of every prepared layer: activation ranges, and the frozen weight parameters when
    `include_weights` (before freezing they are recomputed from the weights, so they need not be stored).
    """
    state = {}
    for name, module in qat_modules(model).items():
        entry: dict[str, Any] = {}
        if module.input_observer is not None:
            entry["input"] = module.input_observer.get_state()
        observer = module.weight_observer
        if include_weights and observer.scale.numel():
            entry["weight"] = {key: value.tolist() for key, value in observer.qparams().items()}
        if entry:
            state[name] = entry
    return state


def import_observer_state(model: nn.Module, state: dict[str, Any]) -> None:
    """Inverse of `export_observer_state`."""
    modules = qat_modules(model)
    for name, entry in state.items():
        if name not in modules:
            continue
        module = modules[name]
        if "input" in entry and module.input_observer is not None:
            module.input_observer.set_state(entry["input"])
        if "weight" in entry:
            module.weight_observer.load_qparams(
                {k: torch.tensor(v, dtype=torch.float32) for k, v in entry["weight"].items()}
            )
