"""
Shrinking fake-quantized layers: pruning and QAT at once (`QuantizationCallback(start_after_pruning=False)`) leaves
`QATLinear` layers to shrink at the end of training. The smaller layer computes exactly what the masked one did: it
keeps the weight scales the masked layer used (rows and groups selected, then frozen) and the input observer's range.
"""

import torch
import torch.nn as nn

from .qat_linear import QATLinear
from .shared_linear import SharedWeightLinear


def qat_shrink_refusal(module: QATLinear, dim: int, kept: torch.Tensor) -> str | None:
    """
    Why `module` cannot lose the units of `dim` (0: outputs, 1: inputs) outside `kept`, or `None` when it can.

    Args:
        module (`QATLinear`): the fake-quantized layer.
        dim (`int`): 0 to remove output rows, 1 to remove input columns.
        kept (`torch.Tensor`): sorted indices of the rows / columns that stay.
    """
    if isinstance(module, SharedWeightLinear):
        return "weight-shared (codebook) layers keep their clusters over the whole weight"
    spec = module.spec
    if dim == 1 and spec.granularity == "per_group":
        keep = torch.zeros(module.in_features, dtype=torch.bool)
        keep[kept.cpu()] = True
        per_group = keep.view(-1, spec.group_size)
        if not bool((per_group.all(-1) | ~per_group.any(-1)).all()):
            return f"per_group scales (group_size={spec.group_size}) span kept and removed input features"
    return None


@torch.no_grad()
def shrunk_qat_linear(module: QATLinear, out_idx: torch.Tensor | None, in_idx: torch.Tensor | None) -> QATLinear:
    """
    A smaller `QATLinear` with the rows `out_idx` and columns `in_idx` of `module` (`None`: all of them).

    Its weight observer is frozen at the scales (zero-points, thresholds) `module` used, selected like the weight, so
    that the removed (zero) units cannot change the scales of the kept ones; check `qat_shrink_refusal` first.
    """
    weight = module.masked_weight().detach()
    qparams = {name: value.clone() for name, value in module.weight_observer(weight).items()}
    bias = module.bias.detach() if module.bias is not None else None
    if out_idx is not None:
        out_idx = out_idx.to(weight.device)
        weight = weight.index_select(0, out_idx)
        bias = bias.index_select(0, out_idx) if bias is not None else None
        qparams = {name: _rows(value, out_idx, module.out_features) for name, value in qparams.items()}
    if in_idx is not None:
        in_idx = in_idx.to(weight.device)
        weight = weight.index_select(1, in_idx)
        if module.spec.granularity == "per_group":
            groups = torch.unique(in_idx // module.spec.group_size)
            qparams = {name: value.index_select(1, groups) for name, value in qparams.items()}
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, device=weight.device,
                       dtype=weight.dtype)  # fmt: skip
    linear.weight.copy_(weight)
    linear.weight.requires_grad_(module.weight.requires_grad)
    if bias is not None:
        linear.bias.copy_(bias)
        linear.bias.requires_grad_(module.bias.requires_grad)
    new = QATLinear(linear, module.spec, module.activation_bits)
    new.weight_observer.load_qparams(qparams)
    new.weight_observer.frozen = True
    if module.input_observer is not None:
        new.input_observer.set_state(module.input_observer.get_state())
        new.input_observer.frozen = module.input_observer.frozen
    new.calibrating = module.calibrating
    return new.train(module.training)


def _rows(value: torch.Tensor, out_idx: torch.Tensor, out_features: int) -> torch.Tensor:
    """Select the rows of a per-row quantization parameter; per-tensor ones (a single row) stay as they are."""
    return value.index_select(0, out_idx) if value.shape[0] == out_features else value
