"""Build the recipe's model (pretrained or from a config) for its task, and its tokenizer or image processor."""

from typing import Any

import torch.nn as nn


AUTO_CLASSES = {
    "sequence-classification": "AutoModelForSequenceClassification",
    "image-classification": "AutoModelForImageClassification",
    "token-classification": "AutoModelForTokenClassification",
    "causal-lm": "AutoModelForCausalLM",
}


def auto_class(task: str):
    """The `AutoModelFor*` class of a task."""
    import transformers

    return getattr(transformers, AUTO_CLASSES[task])


def load_tokenizer(model_cfg: dict[str, Any], task: str):
    """The tokenizer (text tasks) from `model.tokenizer` or `model.path`; `None` for image tasks."""
    if task == "image-classification":
        return None
    from transformers import AutoTokenizer

    from .errors import RecipeError

    source = model_cfg["tokenizer"] or model_cfg["path"]
    if source is None:
        raise RecipeError("model.tokenizer", f"required to build a {task} model from a config (a path or repo id)")
    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def load_image_processor(model_cfg: dict[str, Any], image_size: int | None):
    """The model's image processor when it has one, else a plain resize + normalize processor."""
    from transformers import AutoImageProcessor, ViTImageProcessor

    if model_cfg["path"] is not None:
        try:
            return AutoImageProcessor.from_pretrained(model_cfg["path"])
        except (OSError, ValueError):
            pass
    size = image_size or (model_cfg["config"] or {}).get("image_size") or 224
    return ViTImageProcessor(size={"height": size, "width": size})


def build_model(
    model_cfg: dict[str, Any], task: str, num_labels: int | None, tokenizer=None, seed: int = 0
) -> nn.Module:
    """
    The model to compress, with the task head sized for the data.

    Args:
        model_cfg (`dict`): the validated `model:` section. task (`str`): the task.
        num_labels (`int`, *optional*): classes found in the data (`model.num_labels` wins).
        tokenizer: for models built from a config, `vocab_size` defaults to the tokenizer's size.
        seed (`int`): seed of the random initialisation of config-built models and new heads.
    """
    import torch
    from transformers import AutoConfig

    torch.manual_seed(seed)
    labels = model_cfg["num_labels"] or num_labels
    head_kwargs = {"num_labels": labels} if labels and task != "causal-lm" else {}
    if model_cfg["path"] is not None:
        kwargs = {"revision": model_cfg["revision"]} if model_cfg["revision"] else {}
        return auto_class(task).from_pretrained(model_cfg["path"], **head_kwargs, **kwargs)
    config = dict(model_cfg["config"])
    model_type = config.pop("model_type")
    if tokenizer is not None and "vocab_size" not in config:
        config["vocab_size"] = len(tokenizer)
    if tokenizer is not None and tokenizer.pad_token_id is not None and "pad_token_id" not in config:
        config["pad_token_id"] = tokenizer.pad_token_id
    config = AutoConfig.for_model(model_type, **{**config, **head_kwargs})
    return auto_class(task).from_config(config)
