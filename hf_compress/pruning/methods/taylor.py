"""First-order Taylor importance (Molchanov et al. 2019): the loss change a unit's removal would cause."""

import torch

from .movement import MovementPruning
from .registry import register_pruning_method


@register_pruning_method("taylor")
class TaylorPruning(MovementPruning):
    """
    Score = sum over observed gradients of `(weight * grad)^2`; a unit's score is the sum over its weights, the
    squared first-order estimate of how much the loss rises when they are set to zero.

    Inside a `Trainer` the gradients are observed at every optimizer step between pruning events (like `movement`);
    with `prune_(model, config, calibration_data=...)` they come from a few labelled batches before one-shot
    pruning, which ranks heads and neurons far better than weight magnitude. Falls back to magnitude scores when no
    gradient was observed.

    Args:
        param_names (`list[str]`): names of the parameters to score.
    """

    state_prefix = "taylor"

    @staticmethod
    def element_update(weight: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        return (weight * grad).square()
