"""`quantize_`: the in-place, one-call quantization API (QAT preparation or full PTQ)."""

from collections.abc import Iterable
from typing import Any

import torch.nn as nn

from .config import QuantizationConfig
from .convert import convert
from .prepare import prepare_qat
from .ptq import calibrate


def quantize_(
    model: nn.Module, config: QuantizationConfig | dict, calibration_data: Iterable[Any] | None = None
) -> nn.Module:
    """
    Quantize `model` in place according to `config`.

    - `mode="qat"`: swap the selected layers for fake-quantized ones; train, then call `convert_qat(model)` (the
      `QuantizationCallback` does both inside a `Trainer`).
    - `mode="ptq"`: quantize the trained weights now; with `activations=8`, first calibrate input ranges on
      `calibration_data` (`config.calibration_samples` examples); returns the converted model.

    Args:
        model (`nn.Module`): e.g. any `transformers` `PreTrainedModel`.
        config (`QuantizationConfig` or `dict`): the quantization config.
        calibration_data (iterable of batches, *optional*): dict batches (as from a `DataLoader`) for PTQ
            activation calibration.

    Returns:
        `nn.Module`: `model`, modified in place.
    """
    if isinstance(config, dict):
        config = QuantizationConfig.from_dict(config)
    if not isinstance(config, QuantizationConfig):
        raise ValueError(f"quantize_: config must be a QuantizationConfig or dict, got {type(config).__name__}.")
    if config.mode == "ptq" and config.static_activations and calibration_data is None:
        raise ValueError(
            f"QuantizationConfig(mode='ptq', activations={config.activations}) needs calibration_data to measure "
            "activation ranges; pass a DataLoader of a few batches, or set activations=None."
        )
    prepare_qat(model, config)
    if config.mode == "qat":
        return model
    if config.static_activations:
        calibrate(model, calibration_data, config.calibration_samples)
    return convert(model)


def convert_qat(model: nn.Module) -> nn.Module:
    """Convert a QAT-prepared model to real low-bit layers, in place (alias of `convert`)."""
    return convert(model)
