"""Model size: parameters, non-zero parameters and the safetensors bytes of a save."""

import os
import tempfile

import torch
import torch.nn as nn


def module_bits(module: nn.Module) -> int:
    """Bits per weight of `module`: what quantization recorded in `hf_compress_bits`, else 32 (or the dtype's)."""
    bits = getattr(module, "hf_compress_bits", None)
    if bits is not None:
        return int(bits)
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.is_floating_point():
        return torch.finfo(weight.dtype).bits
    return 32


def quantized_weight(module: nn.Module) -> torch.Tensor | None:
    """The weight matrix of a quantized layer whose weights are stored as low-bit code buffers, else `None`."""
    dequantize = getattr(module, "dequantized_weight", None)
    return dequantize().detach() if callable(dequantize) else None


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """`(parameters, non-zero parameters)`, counting tied parameters once and quantized weights as weights."""
    tensors = [p.detach() for p in model.parameters()]
    tensors += [w for w in map(quantized_weight, model.modules()) if w is not None]
    return sum(t.numel() for t in tensors), sum(int(torch.count_nonzero(t).item()) for t in tensors)


def directory_safetensors_bytes(directory: str) -> int:
    """Sum of the sizes of the `*.safetensors` files in `directory`."""
    return sum(
        os.path.getsize(os.path.join(directory, name))
        for name in os.listdir(directory)
        if name.endswith(".safetensors")
    )


def safetensors_bytes(model: nn.Module, save_dir: str | None = None) -> int:
    """
    Bytes on disk of the model's safetensors weights.

    Args:
        model (`nn.Module`): a transformers model.
        save_dir (`str`, *optional*): an existing save to measure; by default the model is saved to a temporary
            directory with `save_pretrained` (safetensors).
    """
    if save_dir is not None:
        return directory_safetensors_bytes(save_dir)
    with tempfile.TemporaryDirectory() as tmp:
        if hasattr(model, "save_pretrained"):
            model.save_pretrained(tmp)  # weights only matter here: no config stamping, no side effect on `model`
        else:
            from safetensors.torch import save_model

            save_model(model, os.path.join(tmp, "model.safetensors"))
        return directory_safetensors_bytes(tmp)
