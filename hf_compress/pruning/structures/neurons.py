"""FFN-neuron pruning: a neuron is a row of the up (and gate) projection and the matching column of the down one."""

import torch.nn as nn

from .base import PruneGroup, get_submodule, linear_slices


# (input projections, output projection) as dotted paths below one module
_FFN_PATTERNS = (
    (("gate_proj", "up_proj"), "down_proj"),  # Llama, Mistral, Qwen, Gemma (gated MLP)
    (("intermediate.dense",), "output.dense"),  # BERT, RoBERTa, ViT, DeiT, ...
    (("fc1",), "fc2"),  # OPT, CLIP, Whisper, ...
    (("lin1",), "lin2"),  # DistilBERT
)


def find_neuron_groups(model: nn.Module) -> list[PruneGroup]:
    """
    One group per feed-forward block.

    Args:
        model (`nn.Module`): the model to scan.
    """
    groups = []
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        for inputs, output in _FFN_PATTERNS:
            ins = [get_submodule(module, path) for path in inputs]
            out = get_submodule(module, output)
            if not (all(isinstance(m, nn.Linear) for m in ins) and isinstance(out, nn.Linear)):
                continue
            width = out.in_features
            if any(m.out_features != width for m in ins):
                continue
            slices = []
            for path, mod in zip(inputs, ins):
                slices += linear_slices(prefix + path, mod, 0)
            slices += linear_slices(prefix + output, out, 1)
            modules = [prefix + path for path in inputs] + [prefix + output]
            groups.append(
                PruneGroup(name=name, structure="neurons", num_units=width, slices=slices, modules=[name, *modules])
            )
            break
    return groups
