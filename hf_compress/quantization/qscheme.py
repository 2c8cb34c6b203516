"""
Pure quantization arithmetic: scales, zero-points, quantize and dequantize for 8/4/2 bits, ternary and binary.

Weights of shape `(out_features, in_features)` are viewed as `(rows, groups, group_len)`: per-tensor is one group
for the whole tensor, per-channel one group per output row, per-group `in_features // group_size` groups per row.
Quantization parameters have shape `(rows, groups)` (`(1, 1)` for per-tensor). Zero always maps to zero exactly:
symmetric schemes have no zero-point, asymmetric ones widen the range to include 0 and round the zero-point, ternary
and binary map exact zeros (pruned weights) to the zero code.
"""

from dataclasses import asdict, dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class QuantSpec:
    """
    The quantization scheme of one weight tensor.

    Args:
        bits (`int` or `str`): 8, 4, 2, `"ternary"` or 1 (binary).
        granularity (`str`): `"per_tensor"`, `"per_channel"` or `"per_group"`.
        group_size (`int`): inputs per scale for `"per_group"`.
        symmetric (`bool`): symmetric (no zero-point) or asymmetric.
    """

    bits: int | str = 8
    granularity: str = "per_channel"
    group_size: int = 128
    symmetric: bool = True

    @property
    def is_integer(self) -> bool:
        return self.bits in (8, 4, 2)

    @property
    def num_levels(self) -> int:
        return {"ternary": 3, 1: 2}.get(self.bits) or 2**self.bits

    @property
    def storage_bits(self) -> int:
        """Bits per stored code (ternary needs 2; binary 1, plus the zero code when pruned, see `packing`)."""
        return 2 if self.bits == "ternary" else int(self.bits)

    def qrange(self) -> tuple[int, int]:
        """Integer code range `(qmin, qmax)`."""
        if not self.is_integer:
            return -1, 1
        if self.symmetric:
            return -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1
        return 0, 2**self.bits - 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def grouped(weight: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    """View a 2-D weight as `(rows, groups, group_len)` for `spec.granularity`."""
    rows, cols = weight.shape
    if spec.granularity == "per_tensor":
        return weight.reshape(1, 1, rows * cols)
    if spec.granularity == "per_channel":
        return weight.reshape(rows, 1, cols)
    if cols % spec.group_size:
        raise ValueError(f"group_size={spec.group_size} does not divide in_features={cols}.")
    return weight.reshape(rows, cols // spec.group_size, spec.group_size)


def compute_qparams(weight: torch.Tensor, spec: QuantSpec) -> dict[str, torch.Tensor]:
    """
    Scales (and zero-points / ternary thresholds) of `weight` for `spec`, each of shape `(rows, groups)`.

    Ternary follows TWN (Li et al. 2016): threshold `0.7 * mean|w|`, scale = mean of `|w|` above the threshold.
    Binary follows XNOR-Net's scaling of BinaryConnect: scale = mean of the non-zero `|w|`.
    """
    w = grouped(weight.detach().float(), spec)
    absw = w.abs()
    zero_point = torch.zeros(w.shape[:2], dtype=torch.float32, device=w.device)
    threshold = torch.zeros_like(zero_point)
    tiny = torch.finfo(torch.float32).tiny
    if spec.bits == "ternary":
        threshold = 0.7 * absw.mean(-1)
        above = (absw > threshold.unsqueeze(-1)).float()
        scale = (absw * above).sum(-1) / above.sum(-1).clamp_min(1.0)
    elif spec.bits == 1:
        nonzero = (absw > 0).float()
        scale = absw.sum(-1) / nonzero.sum(-1).clamp_min(1.0)
    elif spec.symmetric:
        scale = absw.amax(-1) / spec.qrange()[1]
    else:
        qmin, qmax = spec.qrange()
        low, high = w.amin(-1).clamp_max(0.0), w.amax(-1).clamp_min(0.0)
        scale = (high - low) / (qmax - qmin)
        zero_point = (qmin - low / scale.clamp_min(tiny)).round().clamp(qmin, qmax)
    return {"scale": scale.clamp_min(tiny), "zero_point": zero_point, "threshold": threshold}


def quantize(weight: torch.Tensor, qparams: dict[str, torch.Tensor], spec: QuantSpec) -> torch.Tensor:
    """Integer codes of `weight` (same shape, float dtype holding integers; zero-point included when asymmetric)."""
    w = grouped(weight.float(), spec)
    scale = qparams["scale"].unsqueeze(-1)
    if spec.bits == "ternary":
        codes = torch.sign(w) * (w.abs() > qparams["threshold"].unsqueeze(-1))
    elif spec.bits == 1:
        codes = torch.sign(w)
    else:
        qmin, qmax = spec.qrange()
        codes = (w / scale + qparams["zero_point"].unsqueeze(-1)).round().clamp(qmin, qmax)
    return codes.reshape(weight.shape)


def dequantize(codes: torch.Tensor, qparams: dict[str, torch.Tensor], spec: QuantSpec) -> torch.Tensor:
    """Float weights from integer codes: `(codes - zero_point) * scale`."""
    q = grouped(codes.float(), spec)
    values = (q - qparams["zero_point"].unsqueeze(-1)) * qparams["scale"].unsqueeze(-1)
    return values.reshape(codes.shape)


def in_range_mask(weight: torch.Tensor, qparams: dict[str, torch.Tensor], spec: QuantSpec) -> torch.Tensor:
    """Where the straight-through estimator passes gradients: inside the clamping range (all of it for ±1 codes)."""
    if not spec.is_integer:
        return torch.ones_like(weight, dtype=torch.bool)
    qmin, qmax = spec.qrange()
    w = grouped(weight.float(), spec)
    scaled = w / qparams["scale"].unsqueeze(-1) + qparams["zero_point"].unsqueeze(-1)
    return ((scaled >= qmin - 0.5) & (scaled <= qmax + 0.5)).reshape(weight.shape)
