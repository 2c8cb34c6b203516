"""Magnitude (L1) pruning scores."""

import torch
import torch.nn as nn

from .base import PruningMethod
from .registry import register_pruning_method


@register_pruning_method("magnitude")
class MagnitudePruning(PruningMethod):
    """
    Score = |weight|. Summed over a unit (head, neuron, channel), this is the unit's L1 norm.

    Args:
        param_names (`list[str]`): names of the parameters to score.
    """

    @torch.no_grad()
    def scores(self, params: dict[str, nn.Parameter]) -> dict[str, torch.Tensor]:
        return {name: params[name].detach().abs().float() for name in self.param_names}
