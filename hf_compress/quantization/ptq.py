"""Post-training quantization: calibrate activation ranges on a few batches, then convert."""

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn as nn

from .prepare import qat_modules


@torch.no_grad()
def calibrate(model: nn.Module, dataloader: Iterable[Any], num_samples: int = 128) -> int:
    """
    Run `model` in eval mode on batches of `dataloader` until `num_samples` examples were seen, observing the inputs
    of every prepared layer that quantizes activations.

    Args:
        model (`nn.Module`): a model prepared by `prepare_qat`.
        dataloader (iterable of dict batches or tensors): calibration data; dict batches are passed as `**batch`
            (a `labels` key is dropped).
        num_samples (`int`, defaults to 128): number of examples to use.

    Returns:
        `int`: the number of examples seen.
    """
    modules = list(qat_modules(model).values())
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    for module in modules:
        module.calibrating = True
    seen = 0
    try:
        for batch in dataloader:
            if isinstance(batch, dict):
                inputs = {k: v.to(device) for k, v in batch.items() if k != "labels" and torch.is_tensor(v)}
                model(**inputs)
                seen += len(next(iter(inputs.values())))
            else:
                model(batch.to(device))
                seen += len(batch)
            if seen >= num_samples:
                break
    finally:
        for module in modules:
            module.calibrating = False
        model.train(was_training)
    return seen
