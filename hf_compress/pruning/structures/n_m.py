"""N:M semi-structured pruning (e.g. 2:4): keep N weights in every group of M consecutive inputs."""

import logging

import torch
import torch.nn as nn

from .base import ParamSlice, PruneGroup


logger = logging.getLogger(__name__)


def find_n_m_groups(model: nn.Module, m: int) -> list[PruneGroup]:
    """
    One group per Linear / Conv2d weight whose input size (per output, per kernel position) is a multiple of `m`.

    Args:
        model (`nn.Module`): the model to scan.
        m (`int`): the group size along the input dimension.
    """
    groups = []
    for name, module in model.named_modules():
        if not isinstance(module, (nn.Linear, nn.Conv2d)):
            continue
        inputs = module.weight.shape[1]
        if inputs % m:
            logger.info("n:m pruning leaves %s alone: its input size %d is not a multiple of m=%d", name, inputs, m)
            continue
        groups.append(
            PruneGroup(
                name=name,
                structure="n:m",
                num_units=module.weight.numel(),
                slices=[ParamSlice(name, "weight", None)],
                modules=[name],
                unit_shape=tuple(module.weight.shape),
                min_units=0,
            )
        )
    return groups


def _to_groups(tensor: torch.Tensor, m: int) -> torch.Tensor:
    """(out, in, *kernel) -> (out * prod(kernel) * in / m, m): consecutive inputs of one output at one position."""
    moved = tensor.movedim(1, -1) if tensor.dim() > 2 else tensor
    return moved.reshape(-1, m)


def _from_groups(groups: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    if len(shape) > 2:
        moved_shape = (shape[0], *shape[2:], shape[1])
        return groups.reshape(moved_shape).movedim(-1, 1)
    return groups.reshape(shape)


def select_n_m(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """
    Keep-mask keeping the `n` highest scores in every group of `m` consecutive inputs.

    Args:
        scores (`torch.Tensor`): element scores shaped like the weight `(out, in, *kernel)`.
        n (`int`) / m (`int`): keep `n` out of every `m`.
    """
    grouped = _to_groups(scores.float(), m)
    order = torch.sort(grouped.double(), dim=1, descending=True, stable=True).indices
    keep = torch.zeros_like(grouped, dtype=torch.bool)
    keep.scatter_(1, order[:, :n], True)
    return _from_groups(keep, tuple(scores.shape))


def check_n_m(weight: torch.Tensor, n: int, m: int) -> bool:
    """Whether every group of `m` consecutive inputs of `weight` has at most `n` non-zeros."""
    return bool(((_to_groups(weight, m) != 0).sum(dim=1) <= n).all())
