"""
Forward FLOPs, counted analytically from the shapes a forward pass actually sees (so shrunk models count right).

FLOPs = 2 x MACs. Counted: `nn.Linear` and transformers' `Conv1D` (tokens x in x out), `nn.Conv1d/2d/3d`
(output elements x in/groups x kernel), and the two attention matmuls QK^T and AV of every attention block
(batch x L_q x L_k x (heads x head_dim) each). Embeddings are 0 MACs (a lookup) but get a row. Norms, activations,
softmax and residual adds are not counted (they are O(activations), not O(weights x tokens)).
"""

import logging
from dataclasses import dataclass, field

import torch
import torch.nn as nn


logger = logging.getLogger(__name__)


@dataclass
class FlopsRow:
    """One counted operation: `name` is the module name, `kind` one of linear / conv / attention / embedding."""

    name: str
    kind: str
    macs: int

    @property
    def flops(self) -> int:
        return 2 * self.macs


@dataclass
class FlopsCount:
    """Per-layer rows and the total of one forward pass at the given input size."""

    rows: list[FlopsRow] = field(default_factory=list)
    input_shape: tuple[int, ...] = ()

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.rows)

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    def by_name(self) -> dict[str, FlopsRow]:
        return {row.name: row for row in self.rows}


def dummy_inputs(
    model: nn.Module, sequence_length: int = 128, image_size: int | None = None, batch_size: int = 1
) -> dict[str, torch.Tensor]:
    """
    A dummy batch for `model`'s main input (`input_ids` or `pixel_values`).

    Args:
        model (`nn.Module`): a transformers model (uses `main_input_name` and `config`).
        sequence_length (`int`, defaults to 128): tokens per sequence for text models.
        image_size (`int`, *optional*): image side for vision models; defaults to `config.image_size`, else 224.
        batch_size (`int`, defaults to 1): batch size.
    """
    device = next(model.parameters()).device
    name = getattr(model, "main_input_name", "input_ids")
    config = getattr(model, "config", None)
    if name == "input_ids":
        limit = getattr(config, "max_position_embeddings", None)
        if isinstance(limit, int) and sequence_length > limit:
            logger.warning(
                "count_flops: sequence_length=%d > max_position_embeddings=%d; using %d", sequence_length, limit, limit
            )
            sequence_length = limit
        return {"input_ids": torch.ones(batch_size, sequence_length, dtype=torch.long, device=device)}
    if name == "pixel_values":
        size = image_size or getattr(config, "image_size", None) or 224
        size = size[0] if isinstance(size, (list, tuple)) else size
        channels = getattr(config, "num_channels", 3)
        return {"pixel_values": torch.zeros(batch_size, channels, size, size, device=device)}
    raise ValueError(
        f"count_flops: cannot build a dummy input for main_input_name={name!r}; allowed values: "
        "['input_ids', 'pixel_values']. Pass inputs=... explicitly."
    )


def _is_linear(module: nn.Module | None) -> bool:
    return isinstance(module, nn.Linear) or type(module).__name__ == "QuantizedLinear"


def query_key_projections(model: nn.Module) -> dict[str, tuple[str, str]]:
    """
    Query and key projections of every attention block, float or quantized: `{projection name: (block name, "q" or
    "k")}`; the attention matmuls are counted from their output shapes.
    """
    from ..pruning.structures.heads import _PROJECTION_NAMES  # lazy: pruning.budget imports this module

    found = {}
    for name, module in model.named_modules():
        for q_name, k_name, _, _ in _PROJECTION_NAMES:
            if _is_linear(getattr(module, q_name, None)) and _is_linear(getattr(module, k_name, None)):
                prefix = f"{name}." if name else ""
                found[prefix + q_name], found[prefix + k_name] = (name, "q"), (name, "k")
                break
    return found


def _linear_macs(module: nn.Module, output: torch.Tensor) -> int:
    if _is_linear(module):
        return output.numel() * module.in_features
    return output.numel() * module.weight.shape[0]  # transformers Conv1D: weight is (in, out)


def _conv_macs(module: nn.Module, output: torch.Tensor) -> int:
    kernel = 1
    for k in module.kernel_size:
        kernel *= k
    return output.numel() * (module.in_channels // module.groups) * kernel


@torch.no_grad()
def count_flops(
    model: nn.Module,
    sequence_length: int = 128,
    image_size: int | None = None,
    batch_size: int = 1,
    inputs: dict[str, torch.Tensor] | torch.Tensor | None = None,
) -> FlopsCount:
    """
    Count forward FLOPs per layer by running one forward pass on a dummy input with shape-recording hooks.

    Args:
        model (`nn.Module`): the model (shrunk or not).
        sequence_length (`int`, defaults to 128) / image_size (`int`, *optional*) / batch_size (`int`, defaults to 1):
            input size of the dummy batch (see `dummy_inputs`).
        inputs (`dict[str, torch.Tensor]` or `torch.Tensor`, *optional*): a batch to use instead of the dummy one
            (a tensor is passed positionally, for plain `nn.Module`s).

    Returns:
        `FlopsCount`: rows in execution order, totals in `total_macs` / `total_flops`.
    """
    inputs = inputs if inputs is not None else dummy_inputs(model, sequence_length, image_size, batch_size)
    rows: list[FlopsRow] = []
    shapes: dict[str, list[tuple[int, ...]]] = {}
    q_and_k = query_key_projections(model)

    def hook(name: str, module: nn.Module):
        def record(_module, _inputs, output):
            if isinstance(output, (tuple, list)):
                output = output[0]
            if isinstance(module, nn.Embedding) or type(module).__name__ == "QuantizedEmbedding":
                rows.append(FlopsRow(name, "embedding", 0))
            elif isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                rows.append(FlopsRow(name, "conv", _conv_macs(module, output)))
            else:
                rows.append(FlopsRow(name, "linear", _linear_macs(module, output)))
            if name in q_and_k:
                attn, role = q_and_k[name]
                shapes.setdefault(f"{attn}:{role}", []).append(tuple(output.shape))
                if role == "k" and shapes.get(f"{attn}:q"):
                    q_shape, k_shape = shapes[f"{attn}:q"][-1], tuple(output.shape)
                    batch = q_shape[0] if len(q_shape) == 3 else 1
                    l_q, l_k = q_shape[-2], k_shape[-2]
                    rows.append(FlopsRow(attn, "attention", 2 * batch * l_q * l_k * q_shape[-1]))

        return record

    handles = []
    for name, module in model.named_modules():
        counted = isinstance(module, (nn.Linear, nn.Embedding, nn.Conv1d, nn.Conv2d, nn.Conv3d))
        if counted or type(module).__name__ in ("Conv1D", "QuantizedLinear", "QuantizedEmbedding"):
            handles.append(module.register_forward_hook(hook(name, module)))
    was_training = model.training
    model.eval()
    try:
        model(inputs) if isinstance(inputs, torch.Tensor) else model(**inputs)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    first = inputs if isinstance(inputs, torch.Tensor) else next(iter(inputs.values()))
    return FlopsCount(rows=rows, input_shape=tuple(first.shape))
