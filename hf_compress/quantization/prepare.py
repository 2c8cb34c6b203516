"""Select the layers to quantize, validate them against the config, and swap in fake-quantized layers."""

import logging
import re

import torch.nn as nn

from .config import DEFAULT_EXCLUDE, QuantizationConfig
from .convert import set_submodule
from .qat_embedding import QATEmbedding, embedding_spec
from .qat_linear import QATLinear
from .qscheme import QuantSpec
from .shared_linear import SharedWeightLinear


logger = logging.getLogger(__name__)

SUPPORTED_TYPES = (nn.Linear,)


def spec_from_config(config: QuantizationConfig) -> QuantSpec:
    """The `QuantSpec` described by `config`."""
    return QuantSpec(config.bits, config.granularity, config.group_size, config.symmetric)


def select_modules(model: nn.Module, config: QuantizationConfig) -> list[tuple[str, nn.Linear]]:
    """
    The `(name, module)` pairs `config` quantizes, after validating them.

    A module is selected when it is an `nn.Linear`, matches one of `config.targets` (default: every Linear) and none
    of `config.exclude`. Selecting nothing is an error, unless `config.embeddings` asks for the embedding tables (e.g.
    to quantize the tables of a model whose Linear layers are already converted). Raises a `ValueError` when
    `per_group` `group_size` does not divide a selected layer's `in_features`, or when activations are requested and
    a `targets` pattern selects a module type that only supports weight quantization.
    """
    selected = []
    for name, module in model.named_modules():
        if not name or isinstance(module, QATLinear):
            continue
        if config.targets is not None and not any(re.search(p, name) for p in config.targets):
            continue
        if any(re.search(p, name) for p in config.exclude):
            continue
        if not isinstance(module, SUPPORTED_TYPES):
            if config.targets is not None and config.activations and not list(module.children()):
                raise ValueError(
                    f"QuantizationConfig.activations={config.activations!r}: module {name!r} of type "
                    f"{type(module).__name__} matched `targets` but activation quantization supports only "
                    f"{[t.__name__ for t in SUPPORTED_TYPES]}; narrow `targets` or set activations=None."
                )
            continue
        if config.granularity == "per_group" and module.in_features % config.group_size:
            raise ValueError(
                f"QuantizationConfig.group_size={config.group_size} does not divide in_features="
                f"{module.in_features} of module {name!r}; choose a group_size that divides every quantized "
                f"layer's in_features (or exclude the layer)."
            )
        selected.append((name, module))
    if not selected and config.embeddings is None:
        raise ValueError(
            f"QuantizationConfig(targets={config.targets!r}, exclude={config.exclude!r}) selects no nn.Linear module "
            f"of {type(model).__name__}; check the regexes."
        )
    return selected


def select_embeddings(model: nn.Module, config: QuantizationConfig) -> list[tuple[str, nn.Embedding]]:
    """
    The `(name, module)` embedding tables `config.embeddings` quantizes: every `nn.Embedding` not matched by a
    non-default `exclude` pattern, except tables whose weight another module shares (tied input / output embeddings:
    quantizing one side would untie them), which are skipped with a warning. Empty when `config.embeddings` is `None`.
    """
    if config.embeddings is None:
        return []
    patterns = [p for p in config.exclude if p not in DEFAULT_EXCLUDE]
    owners: dict[int, list[str]] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        weight = getattr(module, "weight", None)
        if isinstance(weight, nn.Parameter):
            owners.setdefault(id(weight), []).append(name)
    selected, has_tables = [], False
    for name, module in model.named_modules():
        has_tables = has_tables or type(module) is nn.Embedding
        if not name or type(module) is not nn.Embedding or any(re.search(p, name) for p in patterns):
            continue
        shared = [other for other in owners.get(id(module.weight), []) if other != name]
        if shared:
            logger.warning(
                "hf_compress: QuantizationConfig.embeddings=%s leaves %r in full precision: its weight is tied to %s.",
                config.embeddings, name, shared,
            )  # fmt: skip
            continue
        selected.append((name, module))
    if not has_tables:
        logger.warning(
            "hf_compress: QuantizationConfig.embeddings=%s, but %s has no nn.Embedding table to quantize.",
            config.embeddings, type(model).__name__,
        )  # fmt: skip
    return selected


def prepare_qat(model: nn.Module, config: QuantizationConfig) -> list[str]:
    """
    Replace the selected `nn.Linear` layers by `QATLinear` (or `SharedWeightLinear` with weight sharing), and with
    `config.embeddings` the embedding tables by `QATEmbedding`, in place.

    Parameters are reused, so an optimizer built before preparation keeps training them.

    Args:
        model (`nn.Module`): the model.
        config (`QuantizationConfig`): what and how to quantize.

    Returns:
        `list[str]`: names of the prepared layers.
    """
    spec = spec_from_config(config)
    layer_cls = SharedWeightLinear if config.weight_sharing else QATLinear
    names = []
    for name, module in select_modules(model, config):
        set_submodule(model, name, layer_cls(module, spec, config.activations))
        names.append(name)
    tables = select_embeddings(model, config)
    if not names and not tables:
        raise ValueError(
            f"QuantizationConfig(embeddings={config.embeddings!r}, exclude={config.exclude!r}) selects no nn.Linear "
            f"module and no embedding table of {type(model).__name__}; check the regexes."
        )
    for name, module in tables:
        set_submodule(model, name, QATEmbedding(module, embedding_spec(config.embeddings)))
        names.append(name)
    logger.info("hf_compress: prepared %d layers for %s quantization (%s bits).", len(names), config.mode, config.bits)
    return names


def qat_modules(model: nn.Module) -> dict[str, QATLinear | QATEmbedding]:
    """The prepared layers (and embedding tables) of `model`, by name."""
    return {name: m for name, m in model.named_modules() if isinstance(m, (QATLinear, QATEmbedding))}
