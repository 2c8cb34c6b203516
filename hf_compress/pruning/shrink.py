"""
Physical shrinking: replace the Linear / Conv / BatchNorm modules of pruned heads, neurons and channels by smaller
ones, so the model is really smaller and faster. Per-layer sizes are recorded on the new modules and saved through
the `"pruned_shapes"` layout handler; `config.intermediate_size` is updated when every FFN has the same new width.
"""

import logging
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..serialization.layout import LayoutHandler, register_layout_handler
from .structures import PruneGroup
from .structures.neurons import find_neuron_groups


logger = logging.getLogger(__name__)

SHAPE_ATTR = "_hf_compress_shape"
ATTRS_ATTR = "_hf_compress_attrs"
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@dataclass
class ShrinkResult:
    """What `shrink_model` did: modules replaced, and groups it left alone with the reason."""

    shrunk: list[str] = field(default_factory=list)
    left_alone: dict[str, str] = field(default_factory=dict)


def module_spec(module: nn.Module) -> dict | None:
    """
    A JSON description from which `build_module` rebuilds an empty module of the same shape; `None` for modules this
    file cannot rebuild (subclasses included: rebuilding a QAT or quantized Linear as `nn.Linear` would lose it).
    """
    if type(module) not in (nn.Linear, *_CONVS, *_NORMS):
        return None
    if isinstance(module, nn.Linear):
        return linear_spec(module)
    if isinstance(module, _CONVS) and module.groups == 1:
        spec = {"type": type(module).__name__, "bias": module.bias is not None, "padding_mode": module.padding_mode}
        for key in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"):
            value = getattr(module, key)
            spec[key] = list(value) if isinstance(value, tuple) else value
        return spec
    if isinstance(module, _NORMS):
        keys = ("num_features", "eps", "momentum", "affine", "track_running_stats")
        return {"type": type(module).__name__, **{key: getattr(module, key) for key in keys}}
    return None


def linear_spec(module: nn.Linear) -> dict:
    """The `module_spec` of a Linear-shaped layer (fake-quantized ones included: they save a Linear's keys)."""
    return {"type": "Linear", "in_features": module.in_features, "out_features": module.out_features,
            "bias": module.bias is not None}  # fmt: skip


def build_module(spec: dict, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> nn.Module:
    """Build an (uninitialized-content) module from `module_spec` output."""
    kind = spec["type"]
    factory = {"device": device, "dtype": dtype}
    if kind == "Linear":
        return nn.Linear(spec["in_features"], spec["out_features"], bias=spec["bias"], **factory)
    if kind in ("Conv1d", "Conv2d", "Conv3d"):
        args = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items() if k != "type"}
        return getattr(nn, kind)(**args, **factory)
    if kind in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"):
        return getattr(nn, kind)(**{k: v for k, v in spec.items() if k != "type"}, **factory)
    raise ValueError(
        f"Cannot rebuild a module of type {kind!r}; allowed values: Linear, Conv1d/2d/3d, BatchNorm1d/2d/3d."
    )


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


@torch.no_grad()
def _shrunk_copy(module: nn.Module, out_idx: torch.Tensor | None, in_idx: torch.Tensor | None) -> nn.Module:
    spec = module_spec(module)
    if isinstance(module, _NORMS):
        spec["num_features"] = len(out_idx)
    else:
        out_key, in_key = (
            ("out_features", "in_features") if isinstance(module, nn.Linear) else ("out_channels", "in_channels")
        )
        spec[out_key] = len(out_idx) if out_idx is not None else spec[out_key]
        spec[in_key] = len(in_idx) if in_idx is not None else spec[in_key]
    weight = getattr(module, "weight", None)
    new = build_module(
        spec, device=weight.device if weight is not None else None, dtype=weight.dtype if weight is not None else None
    )
    for name, tensor in list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False)):
        if tensor is None:
            continue
        value = tensor
        if out_idx is not None and tensor.dim() >= 1 and name != "num_batches_tracked":
            value = value.index_select(0, out_idx.to(value.device))
        if in_idx is not None and tensor.dim() >= 2:
            value = value.index_select(1, in_idx.to(value.device))
        getattr(new, name).copy_(value)
    new.train(module.training)
    setattr(new, SHAPE_ATTR, module_spec(new))
    return new


def _refusal(module: nn.Module, dim: int, kept: torch.Tensor) -> str | None:
    """Why `module` cannot lose the units of `dim` outside `kept` (its type, or its quantization), else `None`."""
    from ..quantization.qat_linear import QATLinear  # lazy: quantization -> serialization -> pruning

    if isinstance(module, QATLinear):
        from ..quantization.shrink_qat import qat_shrink_refusal

        return qat_shrink_refusal(module, dim, kept)
    return None if module_spec(module) is not None else type(module).__name__


def _shrunk_module(module: nn.Module, out_idx: torch.Tensor | None, in_idx: torch.Tensor | None) -> nn.Module:
    """The smaller copy of `module`: a rebuilt plain module, or a `QATLinear` that keeps its quantization."""
    from ..quantization.qat_linear import QATLinear

    if not isinstance(module, QATLinear):
        return _shrunk_copy(module, out_idx, in_idx)
    from ..quantization.shrink_qat import shrunk_qat_linear

    new = shrunk_qat_linear(module, out_idx, in_idx)
    # an unconverted QAT layer saves the state-dict keys of its float Linear, so that is what the layout rebuilds
    setattr(new, SHAPE_ATTR, linear_spec(new))
    return new


def _kept_index(keep: torch.Tensor, size: int) -> torch.Tensor:
    unit = size // keep.numel()
    units = torch.nonzero(keep.cpu(), as_tuple=False).flatten()
    return (units[:, None] * unit + torch.arange(unit)[None, :]).flatten()


@torch.no_grad()
def shrink_model(model: nn.Module, groups: list[PruneGroup], keeps: dict[str, torch.Tensor]) -> ShrinkResult:
    """
    Remove the pruned units of structured `groups` from `model` in place.

    Args:
        model (`nn.Module`): the unwrapped model.
        groups (`list[PruneGroup]`): structured groups (heads, neurons, channels).
        keeps (`dict[str, torch.Tensor]`): unit keep-masks per group name.

    Returns:
        `ShrinkResult`: replaced modules and the groups left alone (logged).
    """
    result = ShrinkResult()
    plan: dict[str, dict[str, torch.Tensor]] = {}
    for group in groups:
        keep = keeps[group.name]
        if group.elementwise or bool(keep.all()):
            continue
        modules = {piece.module: model.get_submodule(piece.module) for piece in group.slices}
        pieces = [(piece, _kept_index(keep, getattr(modules[piece.module], piece.param).shape[piece.dim]))
                  for piece in group.slices]  # fmt: skip
        refusals = {piece.module: _refusal(modules[piece.module], piece.dim, kept) for piece, kept in pieces}
        bad = [name for name, reason in refusals.items() if reason is not None]
        if bad:
            result.left_alone[group.name] = f"cannot shrink module(s) {bad} ({refusals[bad[0]]})"
            continue
        for piece, kept in pieces:
            plan.setdefault(piece.module, {})["out" if piece.dim == 0 else "in"] = kept
        for attn_name, attrs in group.attributes.items():
            module = model.get_submodule(attn_name)
            kept = int(keep.sum().item())
            values = {attr: getattr(module, attr) * kept // group.num_units for attr in attrs}
            for attr, value in values.items():
                setattr(module, attr, value)
            setattr(module, ATTRS_ATTR, {**getattr(module, ATTRS_ATTR, {}), **values})
    for name, idx in plan.items():
        _replace(model, name, _shrunk_module(model.get_submodule(name), idx.get("out"), idx.get("in")))
        result.shrunk.append(name)
    for name, reason in result.left_alone.items():
        logger.warning("shrink: left %s alone (masked, not removed): %s", name, reason)
    _update_config(model)
    return result


def _update_config(model: nn.Module) -> None:
    """Set `config.intermediate_size` when every FFN of the model now has the same width."""
    config = getattr(model, "config", None)
    widths = {group.num_units for group in find_neuron_groups(model)}
    if config is not None and len(widths) == 1 and isinstance(getattr(config, "intermediate_size", None), int):
        config.intermediate_size = widths.pop()


def describe_shapes(model: nn.Module) -> dict | None:
    """Layout description: spec of every shrunk module and the head counts of shrunk attention blocks."""
    modules, attributes = {}, {}
    for name, module in model.named_modules():
        if getattr(module, SHAPE_ATTR, None) is not None:
            modules[name] = module_spec(module) or dict(getattr(module, SHAPE_ATTR))
        if getattr(module, ATTRS_ATTR, None):
            attributes[name] = dict(getattr(module, ATTRS_ATTR))
    return {"modules": modules, "attributes": attributes} if modules or attributes else None


def rebuild_shapes(model: nn.Module, description: dict) -> None:
    """Resize a freshly built (possibly meta-device) model to the recorded per-layer shapes."""
    for name, spec in description.get("modules", {}).items():
        old = model.get_submodule(name)
        weight = getattr(old, "weight", None)
        new = build_module(
            spec,
            device=weight.device if weight is not None else None,
            dtype=weight.dtype if weight is not None else None,
        )
        setattr(new, SHAPE_ATTR, dict(spec))
        _replace(model, name, new)
    for name, attrs in description.get("attributes", {}).items():
        module = model.get_submodule(name)
        for attr, value in attrs.items():
            setattr(module, attr, value)
        setattr(module, ATTRS_ATTR, dict(attrs))


PRUNED_SHAPES_HANDLER = register_layout_handler(LayoutHandler("pruned_shapes", describe_shapes, rebuild_shapes))
