"""
Back from integer codes to float layers: `dequantize_` turns every `QuantizedLinear` of a model into an `nn.Linear`
(and every `QuantizedEmbedding` into an `nn.Embedding`) holding its exact dequantized weights, so a compressed model
can be pruned, quantized or fine-tuned again.
"""

import torch
import torch.nn as nn

from .convert import set_submodule
from .quantized_embedding import QuantizedEmbedding
from .quantized_linear import QuantizedLinear


@torch.no_grad()
def dequantized_linear(module: QuantizedLinear, dtype: torch.dtype | None = None) -> nn.Linear:
    """
    The `nn.Linear` computing what `module` computes with float inputs (its weight is `module.dequantized_weight()`).

    The new layer records its shape for `save_compressed`, so a layer that pruning made smaller than the config says
    still reloads at its own size.

    Args:
        module (`QuantizedLinear`): the quantized layer.
        dtype (`torch.dtype`, *optional*): dtype of the new weight and bias (default: float32).
    """
    from ..pruning.shrink import SHAPE_ATTR, module_spec  # lazy: pruning -> serialization -> quantization

    weight = module.dequantized_weight().to(dtype or torch.float32)
    linear = nn.Linear(module.in_features, module.out_features, bias=module.bias is not None,
                       device=weight.device, dtype=weight.dtype)  # fmt: skip
    linear.weight.copy_(weight)
    if module.bias is not None:
        linear.bias.copy_(module.bias)
    setattr(linear, SHAPE_ATTR, module_spec(linear))
    return linear


@torch.no_grad()
def dequantized_embedding(module: QuantizedEmbedding, dtype: torch.dtype | None = None) -> nn.Embedding:
    """The `nn.Embedding` looking up what `module` looks up (its table is `module.dequantized_weight()`)."""
    weight = module.dequantized_weight()
    weight = weight.to(dtype) if dtype is not None else weight
    embedding = nn.Embedding(module.num_embeddings, module.embedding_dim, module.padding_idx,
                             device=weight.device, dtype=weight.dtype)  # fmt: skip
    embedding.weight.copy_(weight)
    return embedding


def dequantize_layers_(model: nn.Module, dtype: torch.dtype | None = None) -> list[str]:
    """
    Replace every `QuantizedLinear` of `model` by `dequantized_linear(module, dtype)` and every `QuantizedEmbedding`
    by `dequantized_embedding(module, dtype)`; returns the names of the linear layers (the ones ONNX export re-quantizes).
    """
    names = [name for name, module in model.named_modules() if isinstance(module, QuantizedLinear)]
    for name in names:
        set_submodule(model, name, dequantized_linear(model.get_submodule(name), dtype))
    for name in [name for name, module in model.named_modules() if isinstance(module, QuantizedEmbedding)]:
        set_submodule(model, name, dequantized_embedding(model.get_submodule(name), dtype))
    return names


def dequantize_(model: nn.Module, dtype: torch.dtype | None = None) -> tuple[nn.Module, list[str]]:
    """
    Replace every `QuantizedLinear` of `model` by its float `nn.Linear` (and every `QuantizedEmbedding` by its
    `nn.Embedding`), in place, and drop the model's quantization
    config, so it trains and saves as a float model (its pruned shapes are kept). A model loaded with
    `load_compressed` / `from_pretrained` can call `model.dequantize()` instead, which does the same.

    Args:
        model (`nn.Module`): a converted or reloaded compressed model.
        dtype (`torch.dtype`, *optional*): dtype of the new layers (default: float32).

    Returns:
        `(model, names)`: the same model object and the names of the Linear layers that were quantized.

    Example:

    ```python
    >>> student = load_compressed("my-int8-student")
    >>> student.dequantize()  # or dequantize_(student)
    >>> prune_(student, PruningConfig(structure="heads+neurons", target_flops_reduction=0.5), calibration_data=batches)
    ```
    """
    names = dequantize_layers_(model, dtype)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    elif getattr(getattr(model, "config", None), "quantization_config", None) is not None:
        del model.config.quantization_config
    return model, names
