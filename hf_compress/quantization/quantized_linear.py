"""`QuantizedLinear`: the converted layer holding real low-bit weights (int8, packed 4/2/1-bit, or a codebook)."""

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from .fake_quant import (
    activation_codes,
    dynamic_activation_qparams,
    fake_quantize_activation,
    fake_quantize_dynamic_activation,
)
from .integer_matmul import activation_weight_product, weight_code_sums
from .packing import pack, packed_length, unpack
from .qscheme import QuantSpec, dequantize


class QuantizedLinear(nn.Module):
    """
    A linear layer stored in low bits; `forward` dequantizes the weight (exactly what QAT simulated).

    Storage (all safetensors-friendly buffers):
    - `qweight`: `int8 (out, in)` for symmetric 8-bit, `uint8 (out, in)` for asymmetric 8-bit, else `uint8` packed
      codes `(out, ceil(in * code_bits / 8))`; for weight sharing the codes are codebook indices.
    - `scale` `float32 (rows, groups)`, `zero_point` `uint8 (rows, groups)` (asymmetric only), or `codebook`
      `float32 (K,)` for weight sharing; `input_scale` / `input_zero_point` when activations are quantized.

    Args:
        in_features (`int`) / out_features (`int`) / bias (`bool`): as `nn.Linear`.
        spec (`QuantSpec`): weight scheme.
        code_bits (`int`): bits per stored code (8, 4, 2 or 1).
        codebook_size (`int`, *optional*): number of centroids when weights are shared.
        activation_bits (`int`, *optional*): input fake-quantization bits.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool, spec: QuantSpec, code_bits: int,
                 codebook_size: int | None = None, activation_bits: int | None = None):  # fmt: skip
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.spec, self.code_bits, self.codebook_size, self.activation_bits = (
            spec,
            code_bits,
            codebook_size,
            activation_bits,
        )
        if code_bits == 8:
            dtype = torch.int8 if spec.symmetric and codebook_size is None else torch.uint8
            self.register_buffer("qweight", torch.zeros(out_features, in_features, dtype=dtype))
        else:
            self.register_buffer(
                "qweight", torch.zeros(out_features, packed_length(in_features, code_bits), dtype=torch.uint8)
            )
        if codebook_size is not None:
            self.register_buffer("codebook", torch.zeros(codebook_size))
        else:
            rows, groups = self.qparam_shape()
            self.register_buffer("scale", torch.ones(rows, groups))
            if self.has_zero_point:
                self.register_buffer("zero_point", torch.zeros(rows, groups, dtype=torch.uint8))
        if isinstance(activation_bits, int):
            self.register_buffer("input_scale", torch.tensor(1.0))
            self.register_buffer("input_zero_point", torch.tensor(0.0))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    @property
    def has_zero_point(self) -> bool:
        return self.spec.is_integer and not self.spec.symmetric and self.codebook_size is None

    @property
    def hf_compress_bits(self) -> int | str:
        return self.spec.bits

    def qparam_shape(self) -> tuple[int, int]:
        if self.spec.granularity == "per_tensor":
            return 1, 1
        groups = 1 if self.spec.granularity == "per_channel" else self.in_features // self.spec.group_size
        return self.out_features, groups

    def code_offset(self) -> int:
        """Stored unsigned code = signed code + offset."""
        if self.codebook_size is not None or (self.spec.is_integer and not self.spec.symmetric):
            return 0
        if self.spec.is_integer:
            return 0 if self.code_bits == 8 else 2 ** (self.spec.bits - 1)
        return 1 if self.code_bits == 2 else 0

    def set_codes(self, codes: torch.Tensor) -> None:
        """Store signed/unsigned integer codes (or codebook indices) of shape `(out, in)`."""
        stored = codes.round().to(torch.int32) + self.code_offset()
        if self.spec.bits == 1 and self.code_bits == 1:
            stored = (codes > 0).to(torch.int32)
        if self.code_bits == 8:
            self.qweight.copy_(stored.to(self.qweight.dtype))
        else:
            self.qweight.copy_(pack(stored, self.code_bits))

    def codes(self) -> torch.Tensor:
        """Signed integer codes (or indices), `(out, in)` int32."""
        if self.code_bits == 8:
            stored = self.qweight.to(torch.int32)
        else:
            stored = unpack(self.qweight, self.code_bits, self.in_features)
        if self.spec.bits == 1 and self.code_bits == 1 and self.codebook_size is None:
            return stored * 2 - 1
        return stored - self.code_offset()

    def dequantized_weight(self) -> torch.Tensor:
        if self.dequantizes_in_place():
            return self._dequantize_in_place()
        codes = self.codes()
        if self.codebook_size is not None:
            return self.codebook[codes.long()]
        zero_point = self.zero_point.float() if self.has_zero_point else torch.zeros_like(self.scale)
        qparams = {"scale": self.scale, "zero_point": zero_point}
        return dequantize(codes, qparams, self.spec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inference = not (torch.is_grad_enabled() and x.requires_grad)  # the integer path has no gradient
        if self.activation_bits == "dynamic" and self.integer_matmul_exact() and inference:
            return self._integer_forward(x)
        if self.activation_bits == "dynamic":
            x = fake_quantize_dynamic_activation(x)
        elif self.activation_bits:
            x = fake_quantize_activation(x, self.input_scale, self.input_zero_point, self.activation_bits)
        return F.linear(x, self.dequantized_weight().to(x.dtype), self.bias)

    def dequantizes_in_place(self) -> bool:
        """Whether `dequantized_weight` works on one float buffer (signed integer codes times their scales)."""
        return self.integer_matmul_exact()

    def _dequantize_in_place(self) -> torch.Tensor:
        """
        `codes * scale` on one float buffer: bit-identical to `dequantize`, without its extra weight-sized buffers,
        whose allocations cost more on CPU than the arithmetic (5x an int8 layer's matmul at batch 1).
        """
        if self.code_bits == 8:
            weight = self.qweight.float()
        else:
            weight = unpack(self.qweight, self.code_bits, self.in_features, torch.float32).sub_(self.code_offset())
        if self.spec.granularity == "per_group":
            weight.view(self.out_features, -1, self.spec.group_size).mul_(self.scale.unsqueeze(-1))
            return weight
        return weight.mul_(self.scale)

    def integer_matmul_exact(self) -> bool:
        """Whether the integer product can be computed exactly, as integer kernels do (symmetric integer codes)."""
        return self.codebook_size is None and self.spec.is_integer and self.spec.symmetric

    def _integer_forward(self, x: torch.Tensor) -> torch.Tensor:
        """
        Dynamic int8 activations times integer weight codes, accumulated exactly (`activation_weight_product`: the
        int8 GEMM on CPU) and scaled once, the way ONNX Runtime's `DynamicQuantizeMatMul` / `MatMulIntegerToFloat`
        compute, so the exported model and this one round the same way.
        """
        scale_x, zero_point = dynamic_activation_qparams(x)
        codes_x = activation_codes(x.detach().float() / scale_x, zero_point, 0, 255)
        weight_codes = self.qweight if self.code_bits == 8 else self.codes()
        if self.spec.granularity == "per_group":  # one scale per group: accumulate each group separately
            groups = self.scale.shape[1]
            xs = (codes_x - zero_point).double().unflatten(-1, (groups, -1))
            acc = torch.einsum("...gi,ogi->...og", xs, weight_codes.double().unflatten(-1, (groups, -1)))
            out = (acc.float() * (scale_x * self.scale)).sum(-1)
        else:
            acc = activation_weight_product(codes_x, zero_point, weight_codes, self._weight_code_sums(weight_codes))
            out = acc * (scale_x * self.scale.reshape(-1))
        if self.bias is not None:
            out = out + self.bias
        return out.to(x.dtype)

    def _weight_code_sums(self, weight_codes: torch.Tensor) -> torch.Tensor:
        """
        Per-row sums of the weight codes, kept until `qweight` changes (it is identified by its storage and its
        in-place version counter, which loading and `set_codes` both advance).
        """
        key = (self.qweight.data_ptr(), self.qweight._version)
        if getattr(self, "_code_sums_key", None) != key:
            self._code_sums, self._code_sums_key = weight_code_sums(weight_codes), key
        return self._code_sums

    def layout_entry(self) -> dict[str, Any]:
        """JSON description used to rebuild this module before loading weights."""
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "spec": self.spec.to_dict(),
            "code_bits": self.code_bits,
            "codebook_size": self.codebook_size,
            "activation_bits": self.activation_bits,
            "qweight_shape": list(self.qweight.shape),
        }

    @classmethod
    def from_layout_entry(cls, entry: dict[str, Any]) -> "QuantizedLinear":
        return cls(entry["in_features"], entry["out_features"], entry["bias"], QuantSpec(**entry["spec"]),
                   entry["code_bits"], entry.get("codebook_size"), entry.get("activation_bits"))  # fmt: skip

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, spec={self.spec}, code_bits={self.code_bits}"
