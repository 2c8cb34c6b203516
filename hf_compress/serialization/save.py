"""`save_compressed`: safetensors weights + `config.json` with the hf_compress layouts + `compression_config.json`."""

import os
import shutil
import tempfile
from typing import Any

import torch.nn as nn

from ..utils.files import replace_directory
from ..version import __version__
from .layout import describe_layouts
from .quantizer import HfCompressConfig


def update_compression_config(model: nn.Module) -> HfCompressConfig:
    """
    Stamp `model.config.quantization_config` with the current layouts (every registered handler), so that
    `model.save_pretrained` / `trainer.save_model` write a directory that `from_pretrained` rebuilds exactly.
    Called after shrinking and by `save_compressed`; call it again after changing the module structure.

    Args:
        model (`nn.Module`): a transformers model (unwrapped).
    """
    config = HfCompressConfig(layouts=describe_layouts(model), hf_compress_version=__version__)
    existing = getattr(model.config, "quantization_config", None)
    if existing is not None:
        quant_method = (
            existing.get("quant_method") if isinstance(existing, dict) else getattr(existing, "quant_method", None)
        )
        if str(getattr(quant_method, "value", quant_method)) != "hf_compress":
            raise ValueError(
                f"The model already has a quantization_config with quant_method={quant_method!r}; hf_compress cannot "
                "save its layouts next to another quantization method."
            )
        extra = existing if isinstance(existing, dict) else existing.to_dict()
        for key, value in extra.items():
            if key not in ("quant_method", "layouts", "hf_compress_version"):
                setattr(config, key, value)
    model.config.quantization_config = config
    return config


SAVE_FORMATS = ("hf_compress", "compressed-tensors", "auto")


def save_compressed(
    model: nn.Module,
    save_directory: str | os.PathLike,
    compression_config: Any | None = None,
    format: str = "auto",
    **kwargs: Any,
) -> str:
    """
    Save a compressed model so that `load_compressed` and `import hf_compress; AutoModelFor*.from_pretrained` rebuild
    it exactly. Atomic: everything is written to a temporary directory next to the target, then renamed into place,
    so a failure leaves no half-written output (and an existing directory untouched).

    Args:
        model (`nn.Module`): the (possibly DDP-wrapped) transformers model.
        save_directory (`str` or `os.PathLike`): the output directory.
        compression_config (`CompressionConfig`, *optional*): written as `compression_config.json`.
        format (`str`, defaults to `"auto"`): `"hf_compress"` (every compressed model; reloads with
            hf_compress installed), `"compressed-tensors"` (symmetric int8/int4 weights with config-expressible
            shapes; plain transformers with `compressed-tensors` installed reloads it, and so does `load_compressed`),
            or `"auto"`: compressed-tensors when the model fits it and the package is installed, else hf_compress.
        kwargs: passed to `model.save_pretrained` (e.g. `max_shard_size`); `safe_serialization` is always on.

    Returns:
        `str`: the absolute path of the written directory.
    """
    from ..pruning.masks import unwrap_model

    model = unwrap_model(model)
    if format not in SAVE_FORMATS:
        raise ValueError(f"save_compressed: format={format!r} is not supported; allowed values: {list(SAVE_FORMATS)}.")
    if format == "auto":
        format = "compressed-tensors" if _compressed_tensors_fits(model) else "hf_compress"
    if kwargs.pop("safe_serialization", True) is False:
        raise ValueError("save_compressed writes safetensors only; safe_serialization=False is not supported.")
    target = os.path.abspath(os.fspath(save_directory))
    if os.path.isfile(target):
        raise ValueError(f"save_directory={str(save_directory)!r} is a file; pass a directory.")
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    if format == "compressed-tensors":
        from .compressed_tensors import save_compressed_tensors

        path = save_compressed_tensors(model, target, **kwargs)
        if compression_config is not None:
            compression_config.save_pretrained(path)
        return path
    update_compression_config(model)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f".tmp-{os.path.basename(target)}-")
    try:
        model.save_pretrained(tmp, **kwargs)
        if compression_config is not None:
            compression_config.save_pretrained(tmp)
        replace_directory(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _compressed_tensors_fits(model: nn.Module) -> bool:
    import importlib.util

    from .compressed_tensors import compressed_tensors_blockers

    return importlib.util.find_spec("compressed_tensors") is not None and not compressed_tensors_blockers(model)
