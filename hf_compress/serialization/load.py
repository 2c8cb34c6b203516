"""`load_compressed`: load a model written by `save_compressed` (or `trainer.save_model` after compression)."""

import json
import os
from typing import Any

import torch.nn as nn

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
    if quant and quant.get("quant_method") != QUANT_METHOD:
        raise ValueError(
            f"{path_or_repo_id!r} has quantization_config.quant_method={quant.get('quant_method')!r}, not "
            f"{QUANT_METHOD!r}; load it with transformers' from_pretrained directly."
        )
    if model_class is None:
        architectures = config.get("architectures") or []
        if not architectures or not hasattr(transformers, architectures[0]):
            raise ValueError(
                f"config.json of {path_or_repo_id!r} names architectures={architectures}; pass model_class=... "
                "(e.g. transformers.AutoModelForSequenceClassification)."
            )
        model_class = getattr(transformers, architectures[0])
    model = model_class.from_pretrained(path_or_repo_id, **kwargs)
    model.eval()
    return model
