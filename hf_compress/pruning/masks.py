"""
Pruning masks kept as callback state: `weight` stays a plain `nn.Parameter`, masks are bool tensors applied in place.

Masks are broadcastable against their parameter: full-shape for element-wise structures, one axis (e.g. `(out, 1)`)
for structured ones, so a head mask costs a few bytes.
"""

import torch
import torch.distributed as dist
import torch.nn as nn


def unwrap_model(model: nn.Module) -> nn.Module:
    """Strip DDP / DataParallel / accelerate wrappers (`.module`) and torch.compile (`._orig_mod`)."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) or (
            hasattr(model, "module") and isinstance(model.module, nn.Module) and not hasattr(model, "config")
        ):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def named_params(model: nn.Module, names: list[str]) -> dict[str, nn.Parameter]:
    """`{name: parameter}` for `names`, with a clear error when one is missing."""
    params = dict(model.named_parameters(remove_duplicate=False))
    missing = [name for name in names if name not in params]
    if missing:
        raise ValueError(f"Parameters {missing[:5]} not found in {type(model).__name__}; was the model replaced?")
    return {name: params[name] for name in names}


@torch.no_grad()
def apply_masks(params: dict[str, nn.Parameter], masks: dict[str, torch.Tensor]) -> None:
    """Zero the pruned entries of every masked parameter, in place."""
    for name, mask in masks.items():
        param = params[name]
        param.mul_(mask.to(device=param.device, dtype=param.dtype))


@torch.no_grad()
def mask_gradients(params: dict[str, nn.Parameter], masks: dict[str, torch.Tensor]) -> None:
    """Zero the gradients of pruned entries, in place."""
    for name, mask in masks.items():
        grad = params[name].grad
        if grad is not None:
            grad.mul_(mask.to(device=grad.device, dtype=grad.dtype))


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


@torch.no_grad()
def all_reduce_mean(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Average score tensors across ranks (no-op outside `torch.distributed`)."""
    if not is_distributed():
        return tensors
    world = dist.get_world_size()
    out = {}
    for name in sorted(tensors):
        tensor = tensors[name].contiguous().clone()
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        out[name] = tensor / world
    return out


@torch.no_grad()
def broadcast_masks(masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Make every rank hold rank 0's masks (no-op outside `torch.distributed`)."""
    if not is_distributed():
        return masks
    out = {}
    for name in sorted(masks):
        tensor = masks[name].to(torch.uint8).contiguous()
        if dist.get_backend() == "nccl" and not tensor.is_cuda:
            tensor = tensor.cuda()
        dist.broadcast(tensor, src=0)
        out[name] = tensor.to(masks[name].device).bool()
    return out


def masks_to_tensors(masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Masks as uint8 CPU tensors keyed `mask.<param>` (safetensors has no bool on every version)."""
    return {f"mask.{name}": mask.detach().to("cpu", torch.uint8).contiguous() for name, mask in masks.items()}


def masks_from_tensors(
    tensors: dict[str, torch.Tensor], device: torch.device | None = None
) -> dict[str, torch.Tensor]:
    return {k.removeprefix("mask."): v.to(device).bool() for k, v in tensors.items() if k.startswith("mask.")}


def mask_sparsity(mask: torch.Tensor, param: torch.Tensor) -> float:
    """Fraction of `param`'s entries that `mask` removes."""
    kept = mask.expand_as(param).sum().item()
    return 1.0 - kept / param.numel()
