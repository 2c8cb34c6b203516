"""Fake quantization with a straight-through estimator (STE) for weights and activations."""

import torch

from .qscheme import QuantSpec, dequantize, in_range_mask, quantize


class _FakeQuantizeSTE(torch.autograd.Function):
    """Forward: `dequantize(quantize(w))`. Backward: identity inside the clamping range, zero outside (Bengio 2013)."""

    @staticmethod
    def forward(ctx, weight, scale, zero_point, threshold, spec):
        qparams = {"scale": scale, "zero_point": zero_point, "threshold": threshold}
        ctx.save_for_backward(in_range_mask(weight, qparams, spec))
        return dequantize(quantize(weight, qparams, spec), qparams, spec).to(weight.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (mask,) = ctx.saved_tensors
        return grad_output * mask, None, None, None, None


def fake_quantize(weight: torch.Tensor, qparams: dict[str, torch.Tensor], spec: QuantSpec) -> torch.Tensor:
    """
    Quantize-dequantize `weight` with `qparams`, passing gradients straight through.

    Args:
        weight (`torch.Tensor`): 2-D weight `(out_features, in_features)`.
        qparams (`dict[str, torch.Tensor]`): `scale`, `zero_point`, `threshold` from `compute_qparams` or an observer.
        spec (`QuantSpec`): the scheme.
    """
    return _FakeQuantizeSTE.apply(weight, qparams["scale"], qparams["zero_point"], qparams["threshold"], spec)


def activation_codes(ratio: torch.Tensor, zero_point: torch.Tensor, qmin: int, qmax: int) -> torch.Tensor:
    """
    Integer codes (as floats) of an activation from `ratio = x / scale`: `clamp(round_half_even(ratio) + zero_point)`,
    in ONNX Runtime's order (rounding before adding the zero point decides ties as its `QuantizeLinear` kernels do).
    """
    return (ratio.round() + zero_point).clamp(qmin, qmax)


class _FakeQuantizeActivationSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        ratio = x / scale
        codes = activation_codes(ratio, zero_point, qmin, qmax)
        scaled = ratio + zero_point
        ctx.save_for_backward((scaled >= qmin - 0.5) & (scaled <= qmax + 0.5))
        return ((codes - zero_point) * scale).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (mask,) = ctx.saved_tensors
        return grad_output * mask, None, None, None, None


def dynamic_activation_qparams(x: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Per-tensor asymmetric scale and zero point computed from `x` itself, as ONNX Runtime's `DynamicQuantizeLinear`
    does: the range is `[min(0, x.min()), max(0, x.max())]` and the zero point is rounded half to even.
    """
    qmax = 2**bits - 1
    low = x.detach().float().min().clamp(max=0.0)
    high = x.detach().float().max().clamp(min=0.0)
    scale = (high - low) / qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    zero_point = (-low / scale).round().clamp(0, qmax)
    return scale, zero_point


def fake_quantize_dynamic_activation(x: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """8-bit fake quantization of `x` with its own range (`dynamic_activation_qparams`), STE backward."""
    scale, zero_point = dynamic_activation_qparams(x, bits)
    return fake_quantize_activation(x, scale, zero_point, bits)


def fake_quantize_activation(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, bits: int = 8):
    """
    Per-tensor asymmetric fake quantization of an activation (codes in `[0, 2^bits - 1]`), STE backward.

    Args:
        x (`torch.Tensor`): the activation.
        scale (`torch.Tensor`) / zero_point (`torch.Tensor`): scalars from an activation observer.
        bits (`int`, defaults to 8): activation bit width.
    """
    return _FakeQuantizeActivationSTE.apply(x, scale, zero_point, 0, 2**bits - 1)
