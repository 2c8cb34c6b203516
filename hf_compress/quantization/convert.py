"""Convert fake-quantized (QAT / weight-sharing) layers into real low-bit `QuantizedLinear` / `QuantizedEmbedding`."""

import torch
import torch.nn as nn

from .qat_embedding import QATEmbedding
from .qat_linear import QATLinear
from .qscheme import QuantSpec, quantize
from .quantized_embedding import QuantizedEmbedding
from .quantized_linear import QuantizedLinear
from .shared_linear import SharedWeightLinear


def code_bits_for(spec: QuantSpec, codes: torch.Tensor | None = None, codebook_size: int | None = None) -> int:
    """Bits per stored code: 8/4/2 for integers, 2 for ternary, 1 for binary (2 when pruned zeros must be kept)."""
    if codebook_size is not None:
        return int(spec.bits)
    if spec.bits == "ternary":
        return 2
    if spec.bits == 1:
        return 2 if codes is not None and bool((codes == 0).any()) else 1
    return int(spec.bits)


@torch.no_grad()
def convert_module(module: QATLinear) -> QuantizedLinear:
    """
    Build the `QuantizedLinear` holding exactly the weights `module` simulates (same codes, same scales).

    Args:
        module (`QATLinear`): a prepared layer (`SharedWeightLinear` gives a codebook + indices).
    """
    weight = module.masked_weight().detach().float()
    bias = module.bias is not None
    if module.activation_bits == "dynamic":
        act_bits = "dynamic"
    elif module.input_observer is not None and bool(module.input_observer.initialized):
        act_bits = module.activation_bits
    else:
        act_bits = None
    if isinstance(module, SharedWeightLinear):
        codebook, indices = module.codebook()
        out = QuantizedLinear(module.in_features, module.out_features, bias, module.spec,
                              code_bits_for(module.spec, codebook_size=codebook.numel()), codebook.numel(), act_bits)  # fmt: skip
        out.codebook.copy_(codebook)
        out.set_codes(indices)
    else:
        qparams = module.weight_observer(weight)
        codes = quantize(weight, qparams, module.spec)
        out = QuantizedLinear(module.in_features, module.out_features, bias, module.spec,
                              code_bits_for(module.spec, codes), None, act_bits)  # fmt: skip
        out.scale.copy_(qparams["scale"])
        if out.has_zero_point:
            out.zero_point.copy_(qparams["zero_point"].to(torch.uint8))
        out.set_codes(codes)
    if bias:
        out.bias = nn.Parameter(module.bias.detach().clone(), requires_grad=module.bias.requires_grad)
    if isinstance(act_bits, int):
        scale, zero_point = module.input_observer.qparams()
        out.input_scale.copy_(scale)
        out.input_zero_point.copy_(zero_point)
    return out.to(module.weight.device)


@torch.no_grad()
def convert_embedding(module: QATEmbedding) -> QuantizedEmbedding:
    """
    Build the `QuantizedEmbedding` holding exactly the table `module` simulates (same codes, same row scales).

    Args:
        module (`QATEmbedding`): a prepared embedding.
    """
    weight = module.masked_weight().detach()
    dtype = str(weight.dtype).removeprefix("torch.")
    out = QuantizedEmbedding(module.num_embeddings, module.embedding_dim, module.padding_idx, module.spec.bits, dtype)
    table = weight.float()
    qparams = module.weight_observer(table)
    out.scale.copy_(qparams["scale"])
    out.set_codes(quantize(table, qparams, module.spec))
    return out.to(weight.device)


def convert(model: nn.Module) -> nn.Module:
    """
    Replace every `QATLinear` / `SharedWeightLinear` of `model` by its `QuantizedLinear`, and every `QATEmbedding` by
    its `QuantizedEmbedding`, in place.

    Args:
        model (`nn.Module`): a model prepared by `prepare_qat` (and trained, for QAT).

    Returns:
        `nn.Module`: the same model object.
    """
    for name, module in list(model.named_modules()):
        if isinstance(module, QATLinear):
            set_submodule(model, name, convert_module(module))
        elif isinstance(module, QATEmbedding):
            set_submodule(model, name, convert_embedding(module))
    return model


def set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    """Replace the submodule at dotted path `name`."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)
