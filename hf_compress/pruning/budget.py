"""
From scores and a budget to keep-masks: per-layer or global sparsity, N:M patterns, and FLOPs budgets that pick
per-layer amounts from the FLOPs counter.
"""

from typing import TYPE_CHECKING

import torch
import torch.nn as nn

from .structures import PruneGroup, select_keep, select_n_m


if TYPE_CHECKING:
    from ..analysis.flops import FlopsCount


def unit_costs(groups: list[PruneGroup], flops: "FlopsCount") -> dict[str, float]:
    """
    MACs one unit of each group costs: the MACs of every Linear / Conv / attention matmul the group covers, divided
    by its number of units (each unit is an equal share of the sliced dimension).

    Args:
        groups (`list[PruneGroup]`): the groups.
        flops (`FlopsCount`): a count on the unpruned model.
    """
    rows = flops.by_name()
    costs = {}
    for group in groups:
        covered = set(group.modules) | {piece.module for piece in group.slices}
        macs = sum(rows[name].macs for name in covered if name in rows)
        costs[group.name] = macs / group.num_units
    return costs


def _normalized(score: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    kept = score[keep]
    scale = kept.abs().mean() if kept.numel() else score.new_tensor(1.0)
    return score / (scale + 1e-12)


def _global_greedy(
    groups: list[PruneGroup],
    scores: dict[str, torch.Tensor],
    keeps: dict[str, torch.Tensor],
    weight: dict[str, float],
    budget: float,
) -> dict[str, torch.Tensor]:
    """Remove units in increasing normalized score until `budget` (in `weight` units) is removed."""
    entries = []
    for index, group in enumerate(groups):
        norm = _normalized(scores[group.name], keeps[group.name])
        norm = torch.where(keeps[group.name], norm, torch.full_like(norm, -float("inf")))
        entries += [(value, index, unit) for unit, value in enumerate(norm.tolist())]
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    remaining = {group.name: group.num_units for group in groups}
    new_keeps = {group.name: torch.ones(group.num_units, dtype=torch.bool) for group in groups}
    removed = 0.0
    for _value, index, unit in entries:
        group = groups[index]
        if removed >= budget - 1e-9 and keeps[group.name][unit]:
            break
        if remaining[group.name] <= group.min_units:
            continue
        new_keeps[group.name][unit] = False
        remaining[group.name] -= 1
        removed += weight[group.name]
    return {name: keep.to(keeps[name].device) for name, keep in new_keeps.items()}


@torch.no_grad()
def select_units(
    groups: list[PruneGroup],
    scores: dict[str, torch.Tensor],
    keeps: dict[str, torch.Tensor],
    amount: float,
    scope: str = "layer",
    costs: dict[str, float] | None = None,
    n_m: tuple[int, int] | None = None,
) -> dict[str, torch.Tensor]:
    """
    New keep-masks for every group. Pruned units stay pruned (their scores are forced to -inf).

    Args:
        groups (`list[PruneGroup]`): the targeted groups.
        scores (`dict[str, torch.Tensor]`): unit scores per group name (higher is kept).
        keeps (`dict[str, torch.Tensor]`): current keep-masks per group name.
        amount (`float`): sparsity (fraction of units/weights) or, with `costs`, fraction of `sum(costs)` to remove.
        scope (`str`): `"layer"` (each group reaches `amount`) or `"global"` (one ranking across groups).
        costs (`dict[str, float]`, *optional*): MACs per unit per group: `amount` is then a FLOPs fraction of
            `costs["__total__"]` (the whole model's MACs), always ranked globally.
        n_m (`tuple[int, int]`, *optional*): for N:M, keep `n` of every `m` inputs.
    """
    if n_m is not None:
        return {g.name: select_n_m(scores[g.name], *n_m).to(keeps[g.name].device) & keeps[g.name] for g in groups}
    masked = {
        g.name: torch.where(
            keeps[g.name], scores[g.name].float(), torch.full_like(scores[g.name].float(), -float("inf"))
        )
        for g in groups
    }
    if costs is not None:
        weight = {g.name: costs[g.name] for g in groups}
        return _global_greedy(groups, scores, keeps, weight, amount * costs["__total__"])
    if scope == "layer":
        return {g.name: select_keep(masked[g.name], amount, g.min_units) for g in groups}
    total_units = sum(g.num_units for g in groups)
    if all(g.min_units == 0 for g in groups) and all(g.elementwise for g in groups):
        flat = torch.cat([masked[g.name].reshape(-1).cpu() for g in groups])
        keep_flat = select_keep(flat, amount, min_keep=0)
        out, offset = {}, 0
        for g in groups:
            size = masked[g.name].numel()
            out[g.name] = keep_flat[offset : offset + size].reshape(masked[g.name].shape).to(keeps[g.name].device)
            offset += size
        return out
    return _global_greedy(groups, scores, keeps, {g.name: 1.0 for g in groups}, round(amount * total_units))


def group_sparsity(group: PruneGroup, keep: torch.Tensor) -> float:
    """Fraction of the group's units removed."""
    return 1.0 - keep.sum().item() / keep.numel()


def pruned_flops_fraction(groups: list[PruneGroup], keeps: dict[str, torch.Tensor], costs: dict[str, float]) -> float:
    """Fraction of the model's MACs the current keep-masks remove."""
    removed = sum(costs[g.name] * (g.num_units - keeps[g.name].sum().item()) for g in groups)
    return removed / costs["__total__"]


def module_of(model: nn.Module, name: str) -> nn.Module:
    return model.get_submodule(name) if name else model
