"""`load_compressed`: load a model written by `save_compressed` (or `trainer.save_model` after compression)."""

import json
import os
import warnings
from typing import Any

import torch.nn as nn

from .compressed_tensors import QUANT_METHOD as CT_METHOD
from .quantizer import QUANT_METHOD, register_hf_compress_quantizer


def _read_config(path_or_repo_id: str, **hub_kwargs: Any) -> dict:
    path = os.path.join(path_or_repo_id, "config.json")
    if not os.path.isfile(path):
        if os.path.isdir(path_or_repo_id):
            raise FileNotFoundError(f"No config.json in {path_or_repo_id!r}.")
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(path_or_repo_id, "config.json", **hub_kwargs)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def load_compressed(path_or_repo_id: str | os.PathLike, model_class: type | None = None, **kwargs: Any) -> nn.Module:
    """
    Load a compressed model with the shapes and weights it was saved with.

    Args:
        path_or_repo_id (`str` or `os.PathLike`): local directory or Hub repo id.
        model_class (`type`, *optional*): the transformers class to build (e.g. `AutoModelForSequenceClassification`);
            default: the class named in `config.json["architectures"]`.
        kwargs: passed to `from_pretrained` (`revision`, `token`, `dtype`, ...).

    Returns:
        `PreTrainedModel`: the model, in eval mode.
    """
    import transformers

    register_hf_compress_quantizer()
    path_or_repo_id = os.fspath(path_or_repo_id)
    hub_kwargs = {k: kwargs[k] for k in ("revision", "token", "cache_dir") if k in kwargs}
    config = _read_config(path_or_repo_id, **hub_kwargs)
    quant = config.get("quantization_config") or {}
    if quant and quant.get("quant_method") not in (QUANT_METHOD, CT_METHOD):
        raise ValueError(
            f"{path_or_repo_id!r} has quantization_config.quant_method={quant.get('quant_method')!r}; allowed values: "
            f"[{QUANT_METHOD!r}, {CT_METHOD!r}]. Load it with transformers' from_pretrained directly."
        )
    if model_class is None:
        architectures = config.get("architectures") or []
        if not architectures or not hasattr(transformers, architectures[0]):
            raise ValueError(
                f"config.json of {path_or_repo_id!r} names architectures={architectures}; pass model_class=... "
                "(e.g. transformers.AutoModelForSequenceClassification)."
            )
        model_class = getattr(transformers, architectures[0])
    if quant.get("quant_method") == CT_METHOD and "quantization_config" not in kwargs:
        from transformers import CompressedTensorsConfig

        kwargs["quantization_config"] = CompressedTensorsConfig(dequantize=True)  # float Linears we re-wrap
    with warnings.catch_warnings():  # "you passed quantization_config ... loading attributes will be overwritten"
        warnings.filterwarnings("ignore", message="You passed `quantization_config`", category=UserWarning)
        model = model_class.from_pretrained(path_or_repo_id, **kwargs)
    if quant.get("quant_method") == CT_METHOD:
        model = _as_hf_compress_model(model, path_or_repo_id, quant, hub_kwargs)
    model.eval()
    return model


def _as_hf_compress_model(model: nn.Module, path_or_repo_id: str, quant: dict, hub_kwargs: dict) -> nn.Module:
    """A compressed-tensors model back with `QuantizedLinear` layers (stored codes and scales) and our config."""
    from .compressed_tensors import rebuild_quantized_from_compressed_tensors
    from .save import update_compression_config

    path = path_or_repo_id
    if not os.path.isdir(path):
        from huggingface_hub import snapshot_download

        path = snapshot_download(path_or_repo_id, allow_patterns=["*.safetensors", "*.json"], **hub_kwargs)
    rebuild_quantized_from_compressed_tensors(model, path, quant)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    update_compression_config(model)
    return model
