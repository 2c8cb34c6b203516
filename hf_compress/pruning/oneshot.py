"""`prune_`: one-shot pruning of a trained model, without a `Trainer` (the first step of prune -> quantize -> distill)."""

from collections.abc import Iterable, Mapping

import torch
import torch.nn as nn

from .callback import PruningCallback
from .config import PruningConfig
from .layers import LayerDropResult, drop_layers_


def prune_(
    model: nn.Module, config: PruningConfig | dict, calibration_data: Iterable[Mapping] | None = None
) -> PruningCallback | LayerDropResult:
    """
    Prune `model` in place, now, to the final budget of `config`.

    Scores: `"magnitude"` uses the current weights; gradient-based methods (`"taylor"`, `"movement"`) first observe
    the gradients of the model's own loss on `calibration_data` (a few labelled batches, e.g. a `DataLoader` of the
    training set), without changing any weight.

    `structure="layers"` removes whole blocks (`drop_layers_`): with calibration data, greedily the blocks whose
    absence raises the calibration loss least; with `method="magnitude"` and no data, the top blocks.

    Structured pruning (`heads`, `neurons`, `channels`) with `shrink=True` physically removes the pruned units, so the
    model is smaller and faster before any fine-tuning; unstructured and N:M pruning only zero weights (to keep them zero
    while fine-tuning, prune inside the `Trainer` with `PruningCallback(schedule="oneshot")` instead). Use a
    `PruningCallback` also to prune gradually during training, or with gradient-based (`movement`) scores.

    Args:
        model (`nn.Module`): e.g. a fine-tuned `transformers` `PreTrainedModel`.
        config (`PruningConfig` or `dict`): the pruning config; its schedule fields are ignored (one event).
        calibration_data (iterable of dict batches, *optional*): batches with labels, required by gradient-based
            methods; each is passed as `model(**batch)` and its `.loss` back-propagated.

    Returns:
        `PruningCallback`: the callback that pruned (`keeps` per group; `shrink_result` lists modules left alone);
        `LayerDropResult` for `structure="layers"`.
    """
    if isinstance(config, dict):
        config = PruningConfig.from_dict(config)
    if not isinstance(config, PruningConfig):
        raise ValueError(f"prune_: config must be a PruningConfig or dict, got {type(config).__name__}.")
    if config.structure == "layers":
        return drop_layers_(model, config, calibration_data)
    callback = PruningCallback(config)
    callback.setup(model, max_steps=1)
    if callback._method.needs_gradients:
        if calibration_data is None:
            raise ValueError(
                f"prune_: method={config.method!r} scores units with gradients; pass calibration_data=... (labelled "
                "batches), or use method='magnitude'."
            )
        observe_gradients(model, callback, calibration_data)
    final = config.target_flops_reduction if config.target_flops_reduction is not None else config.final_sparsity
    callback.prune(final)
    callback.current_amount, callback.events = final, 1
    if config.shrink and config.is_structured:
        callback.shrink(model)
    return callback


def observe_gradients(model: nn.Module, callback: PruningCallback, batches: Iterable[Mapping]) -> None:
    """Back-propagate the model's loss on each batch and let the score method accumulate; weights are untouched."""
    was_training = model.training
    model.eval()  # no dropout: the scores describe the model as it will be used
    previous = {name: param.grad for name, param in model.named_parameters()}
    device = next(model.parameters()).device
    seen = 0
    try:
        for batch in batches:
            model.zero_grad(set_to_none=True)
            inputs = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            loss = model(**inputs).loss
            if loss is None:
                raise ValueError("prune_: calibration batches must contain labels (the model returned no loss).")
            loss.backward()
            callback._method.accumulate(callback._params)
            seen += 1
    finally:
        for name, param in model.named_parameters():
            param.grad = previous[name]
        model.train(was_training)
    if seen == 0:
        raise ValueError("prune_: calibration_data is empty.")
