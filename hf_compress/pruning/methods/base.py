"""Base class of the pruning score methods."""

import torch
import torch.nn as nn


class PruningMethod:
    """
    Turns parameters (and what the method observed during training) into per-element importance scores.

    Higher scores are kept. A method may accumulate statistics between pruning events (`accumulate`, called once per
    optimizer step with final gradients); `reset` is called after every pruning event. `state_tensors` /
    `load_state_tensors` let the callback save the accumulated statistics next to a checkpoint (safetensors).

    Args:
        param_names (`list[str]`): names (as in `model.named_parameters()`) of the parameters to score.
    """

    needs_gradients: bool = False

    def __init__(self, param_names: list[str]):
        self.param_names = list(param_names)

    def accumulate(self, params: dict[str, nn.Parameter], gradients: dict[str, torch.Tensor] | None = None) -> None:
        """
        Observe the parameters and their gradients after one optimizer step's backward passes: `param.grad`, or
        `gradients[name]` when given (the gradients of another loss than the one being optimized).
        """

    def scores(self, params: dict[str, nn.Parameter]) -> dict[str, torch.Tensor]:
        """Per-element scores, one float tensor per parameter name, same shape as the parameter."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget accumulated statistics (after a pruning event)."""

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what `state_tensors` returned."""
