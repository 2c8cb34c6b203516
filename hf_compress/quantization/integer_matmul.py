"""
Exact products of 8-bit activation codes and integer weight codes, as ONNX Runtime's `MatMulInteger` computes them.

On CPU the product runs on PyTorch's int8 GEMM (`torch._int_mm`, int8 x int8 -> int32; about 10x a float64 product
and 4x a float32 one at MiniLM's layer sizes); elsewhere, or where that kernel is missing, it falls back to a float64
product, which holds every int32 sum exactly. Both give the same integers.
"""

import torch


# |sum_k (a_k - zp) w_k| <= 255 * 128 * K must stay below 2**31
MAX_INT32_EXACT_FEATURES = (2**31 - 1) // (255 * 128)


def weight_code_sums(weight_codes: torch.Tensor) -> torch.Tensor:
    """`sum_k weight_codes[n, k]` as int32 `(N,)`: what `activation_weight_product` adds back per output."""
    return weight_codes.sum(dim=1, dtype=torch.int32)


def activation_weight_product(
    codes_x: torch.Tensor, zero_point: torch.Tensor, weight_codes: torch.Tensor, code_sums: torch.Tensor | None = None
):
    """
    `sum_k (codes_x[..., k] - zero_point) * weight_codes[n, k]`, exactly, as a float32 tensor `(..., N)`.

    Args:
        codes_x (`torch.Tensor`): unsigned 8-bit activation codes in `[0, 255]` (any float or integer dtype), `(..., K)`.
        zero_point (`torch.Tensor`): the activation's zero point, a scalar in `[0, 255]`.
        weight_codes (`torch.Tensor`): signed integer weight codes in `[-128, 127]`, `(N, K)`.
        code_sums (`torch.Tensor`, *optional*): `weight_code_sums(weight_codes)`, when the caller keeps it between
            calls (at batch 1 the sum costs 3x the int8 product itself).
    """
    features = codes_x.shape[-1]
    if codes_x.device.type == "cpu" and features <= MAX_INT32_EXACT_FEATURES and hasattr(torch, "_int_mm"):
        try:
            sums = weight_code_sums(weight_codes) if code_sums is None else code_sums
            return _int8_gemm(codes_x, zero_point, weight_codes, sums).float()
        except RuntimeError:  # a build without the int8 kernel for these shapes: the float64 product below
            pass
    centered = codes_x.double() - zero_point.double()
    return (centered @ weight_codes.double().T).float()


def _int8_gemm(codes_x, zero_point, weight_codes, code_sums) -> torch.Tensor:
    """
    The int32 product on the int8 kernel: the codes are shifted by 128 into int8 range, and the shift's share,
    `(128 - zero_point) * sum_k w[n, k]`, is added back per output.
    """
    lead, features = codes_x.shape[:-1], codes_x.shape[-1]
    shifted = (codes_x.reshape(-1, features) - 128).to(torch.int8)
    weight = weight_codes.to(torch.int8)
    accumulated = torch._int_mm(shifted, weight.T)
    correction = (128 - zero_point.round().to(torch.int32)) * code_sums
    return (accumulated + correction).reshape(*lead, weight.shape[0])
