"""
Depth pruning (`structure="layers"`): remove whole transformer blocks from the model's layer stack.

Heads and neurons pruning leave every block's fixed costs (LayerNorms, residual adds, the per-op overhead that
dominates batch-1 latency) in place; dropping blocks removes them, so it is the structure that buys CPU speed.
The kept blocks are renumbered and `config.num_hidden_layers` updated, so the result is a standard model of that
family: plain `from_pretrained` rebuilds it. The original index of every kept block is recorded in
`config.hf_compress_kept_layers`, which hidden-state distillation uses to match each block with its origin.
"""

import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
import torch.nn as nn

from .masks import unwrap_model


logger = logging.getLogger(__name__)

KEPT_LAYERS_ATTR = "hf_compress_kept_layers"
_STACK_NAMES = ("layer", "layers", "h", "block", "blocks")


@dataclass
class LayerDropResult:
    """
    What `drop_layers_` did.

    Args:
        stack (`str`): name of the `nn.ModuleList` that holds the blocks, e.g. `"bert.encoder.layer"`.
        dropped (`list[int]`): indices (before dropping) of the removed blocks, in the order they were chosen.
        kept (`list[int]`): indices (before dropping) of the blocks kept, in model order.
        losses (`list[float]`): with calibration data, the calibration loss after each removal.
    """

    stack: str
    dropped: list[int]
    kept: list[int]
    losses: list[float]


def text_config(model: nn.Module):
    """The config that holds `num_hidden_layers` (the text config of multimodal models)."""
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "get_text_config"):
        return config.get_text_config()
    return config


def find_layer_stack(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """
    The model's stack of transformer blocks: the `nn.ModuleList` named `layer`/`layers`/`h`/`block(s)` whose length is
    `config.num_hidden_layers` and whose blocks share one class.

    Raises:
        ValueError: when the model has no such stack, or several (encoder-decoder models).
    """
    depth = getattr(text_config(model), "num_hidden_layers", None)
    stacks = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.ModuleList)
        and name.rsplit(".", 1)[-1] in _STACK_NAMES
        and len(module) == depth
        and len({type(block) for block in module}) == 1
    ]
    if not stacks:
        raise ValueError(
            f"PruningConfig.structure='layers' is not supported by {type(model).__name__}: no ModuleList of "
            f"config.num_hidden_layers={depth} identical blocks named one of {list(_STACK_NAMES)} was found. "
            "Allowed values for this model: the structures in PruningConfig except 'layers'."
        )
    if len(stacks) > 1:
        raise ValueError(
            f"PruningConfig.structure='layers': {type(model).__name__} has several layer stacks "
            f"{[name for name, _ in stacks]}; dropping layers of encoder-decoder models is not supported."
        )
    return stacks[0]


def _candidates(stack_name: str, depth: int, config) -> list[int]:
    """Block indices `targets` / `exclude` allow (matched against `"<stack>.<index>"`)."""
    names = {index: f"{stack_name}.{index}" for index in range(depth)}
    allowed = list(range(depth))
    if config.targets:
        for pattern in config.targets:
            if not any(re.search(pattern, name) for name in names.values()):
                raise ValueError(
                    f"PruningConfig.targets: the regex {pattern!r} matches no layer of {stack_name} "
                    f"(candidates: {list(names.values())[:4]}...)."
                )
        allowed = [i for i in allowed if any(re.search(p, names[i]) for p in config.targets)]
    return [i for i in allowed if not any(re.search(p, names[i]) for p in config.exclude)]


def _number_to_drop(model: nn.Module, stack_name: str, depth: int, config) -> int:
    """Blocks to remove: a fraction of the blocks, or the fewest blocks whose FLOPs reach the FLOPs budget."""
    if config.target_flops_reduction is None:
        return min(int(round(config.target_sparsity * depth)), depth - 1)
    from ..analysis.flops import count_flops

    flops = count_flops(model, sequence_length=config.sequence_length, image_size=config.image_size)
    block_macs = sum(row.macs for row in flops.rows if row.name.startswith(f"{stack_name}."))
    needed = config.target_flops_reduction * flops.total_macs / (block_macs / depth)
    return min(math.ceil(needed - 1e-9), depth - 1)


@torch.no_grad()
def _calibration_loss(model: nn.Module, batches: list[Mapping]) -> float:
    device = next(model.parameters()).device
    total = 0.0
    for batch in batches:
        inputs = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        loss = model(**inputs).loss
        if loss is None:
            raise ValueError("prune_: calibration batches must contain labels (the model returned no loss).")
        total += float(loss)
    return total / len(batches)


def _set_stack(model: nn.Module, stack_name: str, blocks: list[nn.Module]) -> None:
    parent_name, _, child = stack_name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, nn.ModuleList(blocks))
    text_config(model).num_hidden_layers = len(blocks)


def _choose_greedily(
    model: nn.Module, stack_name: str, blocks: list[nn.Module], candidates: list[int], count: int, batches: list
) -> tuple[list[int], list[float]]:
    """Remove, one at a time, the block whose absence raises the calibration loss least."""
    was_training = model.training
    model.eval()
    dropped, losses = [], []
    try:
        for _ in range(count):
            trials = []
            for index in candidates:
                if index in dropped:
                    continue
                kept = [i for i in range(len(blocks)) if i not in dropped and i != index]
                _set_stack(model, stack_name, [blocks[i] for i in kept])
                trials.append((_calibration_loss(model, batches), index))
            loss, index = min(trials)
            dropped.append(index)
            losses.append(loss)
            logger.info("layers: dropping block %d of %s (calibration loss %.4f)", index, stack_name, loss)
    finally:
        _set_stack(model, stack_name, blocks)  # also restores num_hidden_layers
        model.train(was_training)
    return dropped, losses


def _renumber(blocks: list[nn.Module]) -> None:
    """Give the kept blocks consecutive `layer_idx` values (KV caches index layers by it)."""
    for new_index, block in enumerate(blocks):
        for module in block.modules():
            if isinstance(getattr(module, "layer_idx", None), int):
                module.layer_idx = new_index


def drop_layers_(model: nn.Module, config, calibration_data: Iterable[Mapping] | None = None) -> LayerDropResult:
    """
    Remove whole blocks from `model` in place (the `structure="layers"` path of `prune_`).

    Which blocks: with `calibration_data` (labelled batches), greedily the block whose removal raises the model's
    calibration loss least, one block at a time; without it (`method="magnitude"`), the top blocks, the data-free
    strategy Sajjad et al. (2023, "On the effect of dropping layers of pre-trained transformer models") found best.
    How many: `target_sparsity` is the fraction of blocks removed; `target_flops_reduction` removes the fewest blocks
    whose FLOPs reach the budget. At least one block is always kept.

    Args:
        model (`nn.Module`): a transformers model with one stack of `config.num_hidden_layers` blocks.
        config (`PruningConfig`): with `structure="layers"`.
        calibration_data (iterable of dict batches, *optional*): batches with labels, passed as `model(**batch)`.

    Returns:
        `LayerDropResult`: the stack, the dropped and kept block indices.
    """
    if config.method != "magnitude" and calibration_data is None:
        raise ValueError(
            f"prune_: structure='layers' with method={config.method!r} measures each block's effect on the loss; pass "
            "calibration_data=... (labelled batches), or use method='magnitude' to drop the top blocks."
        )
    model = unwrap_model(model)
    stack_name, stack = find_layer_stack(model)
    blocks = list(stack)
    depth = len(blocks)
    candidates = _candidates(stack_name, depth, config)
    count = min(_number_to_drop(model, stack_name, depth, config), len(candidates))
    losses = []
    if calibration_data is None:
        dropped = sorted(candidates)[::-1][:count]
    else:
        batches = list(calibration_data)
        if not batches:
            raise ValueError("prune_: calibration_data is empty.")
        dropped, losses = _choose_greedily(model, stack_name, blocks, candidates, count, batches)
    kept = [i for i in range(depth) if i not in dropped]
    _renumber([blocks[i] for i in kept])
    _set_stack(model, stack_name, [blocks[i] for i in kept])
    model_config = text_config(model)
    origin = getattr(model_config, KEPT_LAYERS_ATTR, None) or list(range(depth))
    setattr(model_config, KEPT_LAYERS_ATTR, [origin[i] for i in kept])
    if hasattr(model_config, "layer_types") and isinstance(model_config.layer_types, list):
        if len(model_config.layer_types) == depth:
            model_config.layer_types = [model_config.layer_types[i] for i in kept]
    logger.info("layers: kept blocks %s of %s (dropped %s)", kept, stack_name, dropped)
    return LayerDropResult(stack=stack_name, dropped=dropped, kept=kept, losses=losses)
