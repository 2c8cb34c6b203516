"""Build the hf_compress config objects of a stage from YAML, re-raising their errors with the YAML path."""

import dataclasses
import re
from typing import Any

from ..distillation.config import DistillationConfig
from ..pruning.config import PruningConfig
from ..quantization.config import QuantizationConfig
from .errors import RecipeError, join_path, unknown_key_message


_FIELD_IN_MESSAGE = re.compile(r"^\w+Config\.(\w+)")


def build_config(cls: type, data: Any, path: str):
    """
    `cls.from_dict(data)` with recipe-style errors: unknown keys and bad values name `path.<field>`.

    Args:
        cls (`type`): `PruningConfig`, `QuantizationConfig` or `DistillationConfig`.
        data (`Any`): the YAML mapping.
        path (`str`): its YAML path.
    """
    if not isinstance(data, dict):
        raise RecipeError(path, f"expected a {cls.__name__} mapping, got {data!r} ({type(data).__name__})")
    known = [f.name for f in dataclasses.fields(cls) if f.name != "hf_compress_version"]
    for key in data:
        if key not in known:
            raise RecipeError(join_path(path, key), unknown_key_message(key, known))
    if cls is PruningConfig and isinstance(data.get("structure"), int) and not isinstance(data["structure"], bool):
        raise RecipeError(
            join_path(path, "structure"),
            f"got the number {data['structure']}: YAML reads an unquoted N:M like 2:4 as a base-60 number; "
            'write it in quotes, e.g. structure: "2:4"',
        )
    try:
        return cls.from_dict(dict(data))
    except (ValueError, TypeError) as err:
        message = str(err)
        match = _FIELD_IN_MESSAGE.match(message)
        raise RecipeError(join_path(path, match.group(1)) if match else path, message) from None


def build_stage_configs(stage: dict[str, Any], path: str, prune_before_training: bool = False) -> dict[str, Any]:
    """
    The `pruning` (a list), `quantization` and `distillation` configs of one stage. Shrinking structured pruning and
    QAT may share a stage only when the pruning happens `prune_before_training` (QAT then wraps the shrunk layers).
    """
    pruning = stage.get("pruning")
    if isinstance(pruning, dict):
        pruning_configs = [build_config(PruningConfig, pruning, join_path(path, "pruning"))]
    else:
        pruning_configs = [
            build_config(PruningConfig, item, join_path(join_path(path, "pruning"), i))
            for i, item in enumerate(pruning or [])
        ]
    quantization = stage.get("quantization")
    distillation = stage.get("distillation")
    out = {
        "pruning": pruning_configs,
        "quantization": None
        if quantization is None
        else build_config(QuantizationConfig, quantization, join_path(path, "quantization")),
        "distillation": None
        if distillation is None
        else build_config(DistillationConfig, distillation, join_path(path, "distillation")),
    }
    if prune_before_training:
        check_prunable_before_training(pruning_configs, path)
    quant = out["quantization"]
    if quant is not None and quant.mode == "qat" and not prune_before_training:
        for i, config in enumerate(pruning_configs):
            if config.is_structured and config.shrink:
                raise RecipeError(
                    join_path(path, "pruning") if len(pruning_configs) == 1 else f"{path}.pruning[{i}]",
                    f"structure={config.structure!r} with shrink=true and quantization mode 'qat' in the same stage: "
                    "fake-quantized layers cannot be shrunk, so the pruned units would only be masked. Put the "
                    "quantization in the next stage (prune, then quantize), prune first with prune_before_training: true, or set "
                    "shrink: false",
                )
    return out


def check_prunable_before_training(pruning_configs: list, path: str) -> None:
    """
    `prune_before_training` prunes once and trains what is left, so only pruning that removes units qualifies:
    zeroed weights (unstructured, N:M, or structured without shrinking) would grow back during the stage's training.
    """
    key = join_path(path, "prune_before_training")
    if not pruning_configs:
        raise RecipeError(key, "is true but the stage has no pruning; add a pruning mapping or remove the key")
    for config in pruning_configs:
        if config.structure == "layers":
            continue
        if not (config.is_structured and config.shrink):
            raise RecipeError(
                key,
                f"structure={config.structure!r}, shrink={config.shrink}: pruning before training must remove units "
                "(heads, neurons, channels, layers, with shrink: true); zeroed weights would grow back while the stage "
                "trains. For unstructured or N:M sparsity, drop prune_before_training and use schedule: oneshot",
            )
