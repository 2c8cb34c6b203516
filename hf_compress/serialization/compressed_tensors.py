"""
The compressed-tensors format for models it can express (symmetric int8 / int4 weights, per tensor, channel or group,
module shapes the config describes): plain transformers with `compressed-tensors` installed reloads them, and so do
other runtimes that read the format. Everything else keeps hf_compress's own format.
"""

import json
import os
import re
import shutil
import tempfile
from typing import Any

import torch
import torch.nn as nn

from ..quantization.convert import set_submodule
from ..quantization.layout import LAYOUT_NAME
from ..quantization.qscheme import QuantSpec, quantize
from ..quantization.quantized_linear import QuantizedLinear
from ..utils.files import replace_directory
from .layout import describe_layouts


QUANT_METHOD = "compressed-tensors"
# weight-only int8 and int4 alike: compressed-tensors infers `pack-quantized` for every weight-only int scheme (its
# `int-quantized` is the W8A8 format, which needs quantized input activations, a blocker here)
FORMAT = "pack-quantized"
BITS = (8, 4)
STRATEGIES = {"per_tensor": "tensor", "per_channel": "channel", "per_group": "group"}
LAYOUT_REASONS = {"quantized_embeddings": "low-bit embedding tables"}


def compressed_tensors_blockers(model: nn.Module) -> list[str]:
    """
    Why `model` cannot be written in the compressed-tensors format (empty when it can).

    Args:
        model (`nn.Module`): a converted model (`QuantizedLinear` layers).
    """
    reasons = [f"layout {name!r} ({LAYOUT_REASONS.get(name, 'per-layer pruned shapes')}) has no compressed-tensors "
               "equivalent" for name in describe_layouts(model) if name != LAYOUT_NAME]  # fmt: skip
    reasons += [f"{name}: shape {shape} differs from the {expected} its config builds (pruned_shapes)"
                for name, shape, expected in _shapes_config_cannot_build(model)]  # fmt: skip
    quantized = {name: m for name, m in model.named_modules() if isinstance(m, QuantizedLinear)}
    if not quantized:
        reasons.append("no quantized layer (nothing for compressed-tensors to store)")
    for name, module in quantized.items():
        if module.codebook_size is not None:
            reasons.append(f"{name}: weight-sharing codebook")
        elif module.spec.bits not in BITS:
            reasons.append(f"{name}: bits={module.spec.bits!r} (compressed-tensors: 8 or 4)")
        elif not module.spec.symmetric:
            reasons.append(f"{name}: asymmetric weights (hf_compress stores unsigned codes)")
        elif module.activation_bits is not None:
            reasons.append(f"{name}: activations={module.activation_bits!r}")
    if len({m.spec.bits for m in quantized.values()}) > 1:
        reasons.append("mixed bit widths")
    return reasons


def _shapes_config_cannot_build(model: nn.Module) -> list[tuple[str, tuple, tuple]]:
    """Linear layers whose (in, out) features differ from those of a model freshly built from `model.config`."""
    config = getattr(model, "config", None)
    if config is None:
        return [("model", (), ("a transformers config",))]
    with torch.device("meta"):
        fresh = type(model)(config)
    mismatches = []
    for name, module in model.named_modules():
        if not isinstance(module, (nn.Linear, QuantizedLinear)):
            continue
        try:
            built = fresh.get_submodule(name)
        except AttributeError:
            mismatches.append((name, (module.in_features, module.out_features), ("no such module",)))
            continue
        shape, expected = (module.in_features, module.out_features), (built.in_features, built.out_features)
        if shape != expected:
            mismatches.append((name, shape, expected))
    return mismatches


def _groups(quantized: dict[str, QuantizedLinear]) -> dict[str, dict[str, Any]]:
    """One compressed-tensors config group per distinct weight scheme, targeting the exact module names."""
    schemes: dict[tuple, list[str]] = {}
    for name, module in quantized.items():
        spec = module.spec
        key = (spec.bits, spec.granularity, spec.group_size if spec.granularity == "per_group" else None)
        schemes.setdefault(key, []).append(name)
    groups = {}
    for index, ((bits, granularity, group_size), names) in enumerate(schemes.items()):
        groups[f"group_{index}"] = {
            "targets": [f"re:^{re.escape(name)}$" for name in names],
            "weights": {
                "num_bits": bits,
                "type": "int",
                "symmetric": True,
                "strategy": STRATEGIES[granularity],
                "group_size": group_size,
                "dynamic": False,
            },  # fmt: skip
        }
    return groups


@torch.no_grad()
def save_compressed_tensors(model: nn.Module, save_directory: str | os.PathLike, **kwargs: Any) -> str:
    """
    Write `model` in the compressed-tensors `pack-quantized` format (int8 or int4 weights), atomically.

    The stored codes and scales are exactly hf_compress's, so plain `AutoModelFor*.from_pretrained(dir)` (with
    `compressed-tensors` installed) gives the same logits as the in-memory model, and `load_compressed(dir)` rebuilds
    the `QuantizedLinear` layers.

    Args:
        model (`nn.Module`): a converted transformers model (see `compressed_tensors_blockers`).
        save_directory (`str` or `os.PathLike`): the output directory.
        kwargs: passed to `save_pretrained`.

    Returns:
        `str`: the absolute path of the written directory.
    """
    from ..export.deps import require

    require("compressed_tensors", extra="compressed-tensors")
    from compressed_tensors.compressors import ModelCompressor
    from compressed_tensors.quantization import QuantizationConfig, apply_quantization_config

    from ..export.onnx import materialize_quantized

    blockers = compressed_tensors_blockers(model)
    if blockers:
        raise ValueError(
            "save_compressed(format='compressed-tensors') cannot express this model: " + "; ".join(blockers) + ". "
            "Use format='hf_compress' (reloads with hf_compress) instead."
        )
    quantized = {name: m for name, m in model.named_modules() if isinstance(m, QuantizedLinear)}
    clone, _ = materialize_quantized(model)
    if hasattr(clone.config, "quantization_config"):  # hf_compress's layouts do not apply to this format
        del clone.config.quantization_config
    clone.hf_quantizer = None
    apply_quantization_config(
        clone, QuantizationConfig(config_groups=_groups(quantized), quantization_status="frozen")
    )
    for name, module in quantized.items():
        target = clone.get_submodule(name)
        target.weight_scale.copy_(module.scale.reshape(target.weight_scale.shape))
        if hasattr(target, "weight_zero_point"):
            target.weight_zero_point.zero_()
    compressor = ModelCompressor.from_pretrained_model(clone, quantization_format=FORMAT)
    compressor.compress_model(clone)
    target_dir = os.path.abspath(os.fspath(save_directory))
    os.makedirs(os.path.dirname(target_dir), exist_ok=True)
    tmp = tempfile.mkdtemp(dir=os.path.dirname(target_dir), prefix=f".tmp-{os.path.basename(target_dir)}-")
    try:
        clone.save_pretrained(tmp, **kwargs)
        compressor.update_config(tmp)
        replace_directory(tmp, target_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target_dir


def _stored_scales(path: str, names: list[str]) -> dict[str, torch.Tensor]:
    """`<name>.weight_scale` tensors of a local compressed-tensors directory (single file or sharded)."""
    from safetensors import safe_open

    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as handle:
            files = sorted(set(json.load(handle)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    wanted = {f"{name}.weight_scale" for name in names}
    scales = {}
    for file in files:
        with safe_open(os.path.join(path, file), framework="pt") as handle:
            for key in wanted.intersection(handle.keys()):
                scales[key.removesuffix(".weight_scale")] = handle.get_tensor(key)
    return scales


@torch.no_grad()
def rebuild_quantized_from_compressed_tensors(model: nn.Module, path: str, quantization_config: dict) -> nn.Module:
    """
    After transformers decompressed a compressed-tensors directory into float `Linear`s, put back `QuantizedLinear`
    layers holding the stored codes and scales (so export and size analysis see the int8/int4 model again).

    Args:
        model (`nn.Module`): the model `from_pretrained` returned.
        path (`str`): the local directory it was loaded from.
        quantization_config (`dict`): `config.json["quantization_config"]`.
    """
    plans = {}
    for group in quantization_config.get("config_groups", {}).values():
        weights = group.get("weights") or {}
        if weights.get("type", "int") != "int" or not weights.get("symmetric", True):
            continue
        granularity = {v: k for k, v in STRATEGIES.items()}.get(weights.get("strategy"))
        if granularity is None or weights.get("num_bits") not in BITS:
            continue
        spec = QuantSpec(bits=weights["num_bits"], granularity=granularity, group_size=weights.get("group_size") or 128,
                         symmetric=True)  # fmt: skip
        patterns = [t[3:] if t.startswith("re:") else f"^{re.escape(t)}$" for t in group.get("targets", [])]
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear) and any(re.search(p, name) for p in patterns):
                plans[name] = spec
    scales = _stored_scales(path, list(plans))
    for name, spec in plans.items():
        if name not in scales:
            continue
        linear = model.get_submodule(name)
        layer = QuantizedLinear(linear.in_features, linear.out_features, linear.bias is not None, spec, int(spec.bits))
        scale = scales[name].float().reshape(layer.scale.shape)
        layer.scale.copy_(scale)
        codes = quantize(linear.weight.float(), {"scale": scale, "zero_point": torch.zeros_like(scale)}, spec)
        layer.set_codes(codes)
        if linear.bias is not None:
            layer.bias = nn.Parameter(linear.bias.detach().clone())
        set_submodule(model, name, layer.to(linear.weight.device))
    return model
