"""
Pruning structures, one file each: which parameter slices form a unit, and where they are in a model.

`find_groups(model, structure, m)` returns every candidate group of a structure; `"heads+neurons"` combines
structures.
"""

import re

import torch.nn as nn

from .base import ParamSlice, PruneGroup, select_keep
from .channels import find_channel_groups
from .heads import find_head_groups
from .n_m import check_n_m, find_n_m_groups, select_n_m
from .neurons import find_neuron_groups
from .unstructured import find_unstructured_groups


STRUCTURED = ("heads", "neurons", "channels")
ALL_STRUCTURES = ("unstructured", "n:m", *STRUCTURED)


def find_groups(model: nn.Module, structure: str, m: int = 4) -> list[PruneGroup]:
    """
    All candidate groups of `structure` in `model` (before `targets` / `exclude` filtering).

    Args:
        model (`nn.Module`): the (unwrapped) model.
        structure (`str`): `"unstructured"`, `"n:m"`, `"heads"`, `"neurons"`, `"channels"`, or several structured
            ones joined by `+` (`"heads+neurons"`).
        m (`int`): the N:M group size.
    """
    groups = []
    for part in structure.split("+"):
        if part == "unstructured":
            groups += find_unstructured_groups(model)
        elif part == "n:m":
            groups += find_n_m_groups(model, m)
        elif part == "heads":
            groups += find_head_groups(model)
        elif part == "neurons":
            groups += find_neuron_groups(model)
        elif part == "channels":
            groups += find_channel_groups(model)
        else:
            raise ValueError(
                f"structure={part!r} is not supported; allowed values: ['unstructured', 'n:m', *{STRUCTURED}]."
            )
    return groups


def select_groups(model: nn.Module, cfg) -> list[PruneGroup]:
    """
    The groups a `PruningConfig` prunes in `model`, after `targets` / `exclude`.

    Args:
        model (`nn.Module`): the unwrapped model.
        cfg (`PruningConfig`): the configuration (`structure`, `m`, `targets`, `exclude`).

    Raises:
        ValueError: if the structure does not apply to this model, a `targets` regex matches nothing, or every
            candidate is excluded.
    """
    candidates = find_groups(model, cfg.structure, cfg.m)
    if not candidates:
        supported = [s for s in ALL_STRUCTURES if find_groups(model, s, cfg.m)]
        raise ValueError(
            f"PruningConfig.structure={cfg.structure!r} is not supported by {type(model).__name__}: it has no "
            f"module of that kind. Allowed values for this model: {supported}."
        )

    def names(group: PruneGroup) -> list[str]:
        return [group.name, *group.modules, *(piece.module for piece in group.slices)]

    selected = candidates
    if cfg.targets:
        for pattern in cfg.targets:
            if not any(re.search(pattern, n) for g in candidates for n in names(g)):
                raise ValueError(
                    f"PruningConfig.targets: the regex {pattern!r} matches no {cfg.structure} module of "
                    f"{type(model).__name__}; candidates are e.g. {[g.name for g in candidates[:6]]}."
                )
        selected = [g for g in candidates if any(re.search(p, n) for p in cfg.targets for n in names(g))]
    selected = [g for g in selected if not any(re.search(p, n) for p in cfg.exclude for n in names(g))]
    if not selected:
        raise ValueError(
            f"PruningConfig.exclude={cfg.exclude} excludes every {cfg.structure} candidate of "
            f"{type(model).__name__} ({[g.name for g in candidates[:6]]}); nothing would be pruned."
        )
    return selected


__all__ = [
    "STRUCTURED",
    "ParamSlice",
    "PruneGroup",
    "check_n_m",
    "find_groups",
    "select_groups",
    "select_keep",
    "select_n_m",
]
