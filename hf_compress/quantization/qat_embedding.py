"""`QATEmbedding`: an `nn.Embedding` whose table is fake-quantized per row during training (weight-only)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import EMBEDDING_BITS
from .fake_quant import fake_quantize
from .observers import WeightObserver
from .qscheme import QuantSpec, compute_qparams
from .weight_fake_quant import WeightFakeQuantMixin


TABLE_BITS = tuple(bits for bits in EMBEDDING_BITS if bits is not None)


def embedding_spec(bits: int) -> QuantSpec:
    """The scheme of a quantized embedding table: symmetric integer codes with one scale per row (token)."""
    return QuantSpec(bits=bits, granularity="per_channel", symmetric=True)


class QATEmbedding(WeightFakeQuantMixin, nn.Embedding):
    """
    Looks up rows of a fake-quantized table, with a straight-through estimator.

    The scale of a row depends on that row only, so `forward` quantizes just the rows it looks up: the values are
    those of quantizing the whole table, at the cost of the batch's tokens rather than the vocabulary's. `weight` is
    the very same leaf `Parameter` as the original layer's (optimizer, state-dict keys and checkpoints keep working).
    It shares `QATLinear`'s `WeightFakeQuantMixin` (`apply_mask`, `masked_weight`, `weight_observer`), so the
    `QuantizationCallback` freezes, checkpoints and converts both alike.

    Args:
        embedding (`nn.Embedding`): the layer to wrap; its weight is reused, not copied.
        spec (`QuantSpec`): the row-wise scheme (`embedding_spec(bits)`).
    """

    def __init__(self, embedding: nn.Embedding, spec: QuantSpec):
        nn.Module.__init__(self)
        self.num_embeddings, self.embedding_dim = embedding.num_embeddings, embedding.embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = (
            embedding.padding_idx,
            embedding.max_norm,
            embedding.norm_type,
        )
        self.scale_grad_by_freq, self.sparse = embedding.scale_grad_by_freq, embedding.sparse
        self.weight = embedding.weight
        self.spec = spec
        self.weight_observer = WeightObserver(spec)
        self.input_observer, self.activation_bits, self.calibrating = None, None, False
        self.register_buffer("keep_mask", None, persistent=False)
        self.lock_zeros()

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        flat = input_ids.reshape(-1)
        rows = F.embedding(
            flat, self.weight, self.padding_idx, self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse
        )
        if self.keep_mask is not None:
            rows = rows * self.keep_mask[flat]
        if self.weight_observer.frozen and self.weight_observer.scale.numel():
            qparams = {k: v[flat] for k, v in self.weight_observer.qparams().items()}
        else:
            qparams = compute_qparams(rows, self.spec)
        return fake_quantize(rows, qparams, self.spec).reshape(*input_ids.shape, self.embedding_dim)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, spec={self.spec}"
