"""Units of pruning: which slices of which parameters form one prunable unit (a weight, a head, a neuron...)."""

from dataclasses import dataclass, field

import torch
import torch.nn as nn


@dataclass(frozen=True)
class ParamSlice:
    """
    One parameter covered by a group of units.

    Args:
        module (`str`): module name in `model.named_modules()`.
        param (`str`): parameter name inside the module (`"weight"`, `"bias"`).
        dim (`int` or `None`): dimension along which the units lie, split in `num_units` equal contiguous chunks;
            `None` for element-wise structures (unstructured, N:M) whose units are the elements of the parameter.
    """

    module: str
    param: str
    dim: int | None

    @property
    def name(self) -> str:
        return f"{self.module}.{self.param}" if self.module else self.param


@dataclass
class PruneGroup:
    """
    A set of units that are scored and removed together, e.g. the heads of one attention block.

    Args:
        name (`str`): the group's main module name (matched by `targets` / `exclude`).
        structure (`str`): the structure that built it.
        num_units (`int`): number of units.
        slices (`list[ParamSlice]`): parameters covered; each unit is one chunk of each of them.
        modules (`list[str]`): every module name involved (also matched by `exclude`).
        attributes (`dict[str, list[str]]`): module name -> attribute names holding a unit count (e.g.
            `num_attention_heads`) to update when the group is shrunk.
        unit_shape (`tuple[int, ...]`): shape of the unit scores (the weight shape for element-wise structures).
    """

    name: str
    structure: str
    num_units: int
    slices: list[ParamSlice]
    modules: list[str] = field(default_factory=list)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    unit_shape: tuple[int, ...] = ()
    min_units: int = 1

    @property
    def elementwise(self) -> bool:
        return self.slices[0].dim is None

    def unit_scores(self, element_scores: dict[str, torch.Tensor]) -> torch.Tensor:
        """Sum element scores into unit scores (shape `unit_shape`, or `(num_units,)`)."""
        if self.elementwise:
            return element_scores[self.slices[0].name].float()
        total = None
        for piece in self.slices:
            score = element_scores[piece.name].float()
            dim = piece.dim % score.dim()
            moved = score.movedim(dim, 0).reshape(self.num_units, -1).sum(dim=1)
            total = moved if total is None else total + moved
        return total

    def param_masks(self, keep: torch.Tensor, params: dict[str, nn.Parameter]) -> dict[str, torch.Tensor]:
        """Expand a unit keep-mask to one mask per parameter, broadcastable against it (bool)."""
        if self.elementwise:
            return {self.slices[0].name: keep.bool()}
        masks = {}
        for piece in self.slices:
            param = params[piece.name]
            dim = piece.dim % param.dim()
            size = param.shape[dim]
            expanded = keep.bool().repeat_interleave(size // self.num_units)
            shape = [1] * param.dim()
            shape[dim] = size
            masks[piece.name] = expanded.reshape(shape).to(param.device)
        return masks

    def keep_from_masks(self, masks: dict[str, torch.Tensor]) -> torch.Tensor:
        """Recover the unit keep-mask from the first parameter mask."""
        piece = self.slices[0]
        mask = masks[piece.name]
        if self.elementwise:
            return mask.bool()
        dim = piece.dim % mask.dim()
        return mask.movedim(dim, 0).reshape(self.num_units, -1).any(dim=1)


def get_submodule(model: nn.Module, name: str) -> nn.Module | None:
    try:
        return model.get_submodule(name) if name else model
    except AttributeError:
        return None


def linear_slices(module_name: str, module: nn.Module, dim: int) -> list[ParamSlice]:
    """The weight (and bias when `dim == 0`) of a Linear/Conv along `dim` (0: outputs, 1: inputs)."""
    slices = [ParamSlice(module_name, "weight", dim)]
    if dim == 0 and getattr(module, "bias", None) is not None:
        slices.append(ParamSlice(module_name, "bias", 0))
    return slices


def select_keep(scores: torch.Tensor, sparsity: float, min_keep: int = 1) -> torch.Tensor:
    """
    Keep-mask with the `round(sparsity * numel)` lowest scores removed (at least `min_keep` kept); ties broken by
    index so every rank picks the same units from the same scores.
    """
    flat = scores.reshape(-1)
    n_prune = min(int(round(sparsity * flat.numel())), flat.numel() - min_keep)
    keep = torch.ones(flat.numel(), dtype=torch.bool, device=flat.device)
    if n_prune > 0:
        order = torch.sort(flat.double(), stable=True).indices
        keep[order[:n_prune]] = False
    return keep.reshape(scores.shape)
