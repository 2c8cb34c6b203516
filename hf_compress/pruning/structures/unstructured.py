"""Unstructured pruning: every weight of a Linear / Conv layer is its own unit."""

import torch.nn as nn

from .base import ParamSlice, PruneGroup


PRUNABLE_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _is_prunable(module: nn.Module) -> bool:
    if isinstance(module, PRUNABLE_TYPES):
        return True
    # transformers' Conv1D (GPT-2 style) stores a transposed Linear weight
    return type(module).__name__ == "Conv1D" and isinstance(getattr(module, "weight", None), nn.Parameter)


def find_unstructured_groups(model: nn.Module) -> list[PruneGroup]:
    """
    One group per Linear / Conv / Conv1D weight; units are the weight's elements (biases are not pruned).

    Args:
        model (`nn.Module`): the model to scan.
    """
    groups = []
    for name, module in model.named_modules():
        if _is_prunable(module):
            weight = module.weight
            groups.append(
                PruneGroup(
                    name=name,
                    structure="unstructured",
                    num_units=weight.numel(),
                    slices=[ParamSlice(name, "weight", None)],
                    modules=[name],
                    unit_shape=tuple(weight.shape),
                    min_units=0,
                )
            )
    return groups
