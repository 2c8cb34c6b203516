"""Movement pruning scores (first order, Sanh et al. 2020)."""

import logging

import torch
import torch.nn as nn

from .base import PruningMethod
from .registry import register_pruning_method


logger = logging.getLogger(__name__)


@register_pruning_method("movement")
class MovementPruning(PruningMethod):
    """
    Score = sum over optimizer steps of `-weight * grad`: weights moving away from zero are kept.

    Scores are accumulated at every optimizer step (on the final, clipped, all-reduced gradients) and reset after
    every pruning event, so each event ranks units by how they moved since the previous one. The accumulated
    scores are saved with each checkpoint, so resuming continues the accumulation exactly. When no step was
    observed yet (an event at step 0) the method falls back to magnitude scores.

    Movement ranks weights only by how they moved, never by their size, so it is meant for long runs (Sanh et al.
    prune over several epochs of fine-tuning). On a model that is already fine-tuned, a few steps between events carry
    little signal: on the benchmark suite's SST-2 MiniLM a 100-step cubic schedule to 90% (5 steps between events)
    collapsed to the majority class, where magnitude scores kept 85% (`benchmarks/suite/NOTES.md`, 2026-12-05).

    Args:
        param_names (`list[str]`): names of the parameters to score.
    """

    needs_gradients = True
    state_prefix = "movement"

    def __init__(self, param_names: list[str]):
        super().__init__(param_names)
        self._scores: dict[str, torch.Tensor] = {}
        self.steps_seen = 0

    @torch.no_grad()
    def accumulate(self, params: dict[str, nn.Parameter], gradients: dict[str, torch.Tensor] | None = None) -> None:
        for name in self.param_names:
            param = params[name]
            grad = param.grad if gradients is None else gradients.get(name)
            if grad is None:
                continue
            update = self.element_update(param.detach().float(), grad.detach().float())
            if name in self._scores:
                self._scores[name].add_(update)
            else:
                self._scores[name] = update.clone()
        self.steps_seen += 1

    @staticmethod
    def element_update(weight: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """What one observed gradient adds to each element's score."""
        return -(weight * grad)

    @torch.no_grad()
    def scores(self, params: dict[str, nn.Parameter]) -> dict[str, torch.Tensor]:
        if self.steps_seen == 0:
            logger.info(
                "%s pruning: no gradient observed yet, using magnitude scores for this event", self.state_prefix
            )
            return {name: params[name].detach().abs().float() for name in self.param_names}
        return {
            name: self._scores.get(name, torch.zeros_like(params[name], dtype=torch.float32))
            for name in self.param_names
        }

    def reset(self) -> None:
        self._scores = {}
        self.steps_seen = 0

    def state_tensors(self) -> dict[str, torch.Tensor]:
        tensors = {f"{self.state_prefix}.{name}": score.contiguous() for name, score in self._scores.items()}
        tensors[f"{self.state_prefix}_steps_seen"] = torch.tensor([self.steps_seen], dtype=torch.int64)
        return tensors

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        prefix = self.state_prefix + "."
        self._scores = {k.removeprefix(prefix): v.clone() for k, v in tensors.items() if k.startswith(prefix)}
        steps = tensors.get(f"{self.state_prefix}_steps_seen")
        self.steps_seen = int(steps.item()) if steps is not None else 0
