"""`WeightFakeQuantMixin`: what every fake-quantized layer shares (locked pruned zeros, the simulated weight)."""

import torch

from .fake_quant import fake_quantize


class WeightFakeQuantMixin:
    """
    Shared by `QATLinear` and `QATEmbedding`, which set `weight`, `spec`, `weight_observer` and a `keep_mask` buffer:
    weights that are zero when the layer is prepared (pruned) stay exactly 0 (masked in `forward`, re-zeroed after
    every optimizer step by `QuantizationCallback`), and `quantized_weight` is the fake-quantized whole weight.
    """

    @property
    def hf_compress_bits(self) -> int | str:
        """Bit width read by the compression report."""
        return self.spec.bits

    @torch.no_grad()
    def lock_zeros(self) -> None:
        """Record the currently-zero weights as pruned (kept at exactly 0 from now on)."""
        zeros = self.weight == 0
        self.keep_mask = ~zeros if bool(zeros.any()) else None

    @torch.no_grad()
    def apply_mask(self) -> None:
        """Re-zero locked weights (optimizer momentum can revive them)."""
        if self.keep_mask is not None:
            self.weight.mul_(self.keep_mask)

    def masked_weight(self) -> torch.Tensor:
        return self.weight if self.keep_mask is None else self.weight * self.keep_mask

    def quantized_weight(self) -> torch.Tensor:
        """The fake-quantized weight (what `convert` stores)."""
        weight = self.masked_weight()
        return fake_quantize(weight, self.weight_observer(weight), self.spec)
