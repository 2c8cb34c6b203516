"""`prune_`: one-shot pruning of a trained model, without a `Trainer` (the first step of prune -> quantize -> distill)."""

import torch.nn as nn

from .callback import PruningCallback
from .config import PruningConfig


def prune_(model: nn.Module, config: PruningConfig | dict) -> PruningCallback:
    """
    Prune `model` in place, now, to the final budget of `config` (magnitude scores of the current weights).

    Structured pruning (`heads`, `neurons`, `channels`) with `shrink=True` physically removes the pruned units, so the
    model is smaller and faster before any fine-tuning; unstructured and N:M pruning only zero weights (to keep them zero
    while fine-tuning, prune inside the `Trainer` with `PruningCallback(schedule="oneshot")` instead). Use a
    `PruningCallback` also to prune gradually during training, or with gradient-based (`movement`) scores.

    Args:
        model (`nn.Module`): e.g. a fine-tuned `transformers` `PreTrainedModel`.
        config (`PruningConfig` or `dict`): the pruning config; its schedule fields are ignored (one event).

    Returns:
        `PruningCallback`: the callback that pruned (`keeps` per group; `shrink_result` lists modules left alone).
    """
    if isinstance(config, dict):
        config = PruningConfig.from_dict(config)
    if not isinstance(config, PruningConfig):
        raise ValueError(f"prune_: config must be a PruningConfig or dict, got {type(config).__name__}.")
    if config.method != "magnitude":
        raise ValueError(
            f"prune_: method={config.method!r} needs gradients observed during training; allowed value for one-shot "
            "pruning: 'magnitude' (use PruningCallback for 'movement')."
        )
    callback = PruningCallback(config)
    callback.setup(model, max_steps=1)
    final = config.target_flops_reduction if config.target_flops_reduction is not None else config.final_sparsity
    callback.prune(final)
    callback.current_amount, callback.events = final, 1
    if config.shrink and config.is_structured:
        callback.shrink(model)
    return callback
