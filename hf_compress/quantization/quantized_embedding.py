"""`QuantizedEmbedding`: an embedding table stored as int8 or packed int4 codes with one scale per row."""

from typing import Any

import torch
import torch.nn as nn

from .packing import pack, packed_length, unpack
from .qat_embedding import TABLE_BITS, embedding_spec


DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class QuantizedEmbedding(nn.Module):
    """
    An embedding table in low bits; `forward` dequantizes only the rows it looks up (exactly what QAT simulated).

    In a small transformer the vocabulary table is most of the bytes (MiniLM-L6: 11.7 M of its 22.7 M parameters), so
    a model whose Linear layers are int8 but whose table is fp32 is barely smaller on disk.

    Storage (safetensors-friendly buffers): `qweight` `int8 (num_embeddings, embedding_dim)` for 8 bits, or `uint8`
    packed 4-bit codes (offset by 8) `(num_embeddings, ceil(embedding_dim / 2))`; `scale` `float32 (num_embeddings, 1)`.

    Args:
        num_embeddings (`int`) / embedding_dim (`int`) / padding_idx (`int`, *optional*): as `nn.Embedding`.
        bits (`int`): 8 or 4.
        dtype (`str`, defaults to `"float32"`): dtype of the looked-up vectors (that of the original table).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None, bits: int,
                 dtype: str = "float32"):  # fmt: skip
        super().__init__()
        if bits not in TABLE_BITS:
            raise ValueError(f"QuantizedEmbedding: bits={bits!r} is not supported; allowed values: {list(TABLE_BITS)}.")  # fmt: skip
        if dtype not in DTYPES:
            raise ValueError(f"QuantizedEmbedding: dtype={dtype!r} is not supported; allowed values: {list(DTYPES)}.")
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.spec, self.dtype_name = embedding_spec(bits), dtype
        if bits == 8:
            self.register_buffer("qweight", torch.zeros(num_embeddings, embedding_dim, dtype=torch.int8))
        else:
            width = packed_length(embedding_dim, bits)
            self.register_buffer("qweight", torch.zeros(num_embeddings, width, dtype=torch.uint8))
        self.register_buffer("scale", torch.ones(num_embeddings, 1))

    @property
    def hf_compress_bits(self) -> int:
        return self.spec.bits

    @property
    def code_offset(self) -> int:
        """Stored unsigned code = signed code + offset (packed widths only)."""
        return 0 if self.spec.bits == 8 else 2 ** (self.spec.bits - 1)

    def set_codes(self, codes: torch.Tensor) -> None:
        """Store signed integer codes of shape `(num_embeddings, embedding_dim)`."""
        codes = codes.round().to(torch.int32)
        if self.spec.bits == 8:
            self.qweight.copy_(codes.to(torch.int8))
        else:
            self.qweight.copy_(pack(codes + self.code_offset, self.spec.bits))

    def row_codes(self, index: torch.Tensor) -> torch.Tensor:
        """Signed codes of the rows `index` (1-D), as float32 `(len(index), embedding_dim)`."""
        stored = self.qweight.index_select(0, index)
        if self.spec.bits == 8:
            return stored.float()
        return unpack(stored, self.spec.bits, self.embedding_dim, torch.float32).sub_(self.code_offset)

    def lookup(self, index: torch.Tensor) -> torch.Tensor:
        """Dequantized rows `index` (1-D): `codes * scale`, bit-identical to dequantizing the whole table."""
        return self.row_codes(index).mul_(self.scale.index_select(0, index)).to(DTYPES[self.dtype_name])

    def dequantized_weight(self) -> torch.Tensor:
        """The whole float table (for `dequantize_`, ONNX export and the compression report)."""
        return self.lookup(torch.arange(self.num_embeddings, device=self.qweight.device))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        rows = self.lookup(input_ids.reshape(-1))
        return rows.reshape(*input_ids.shape, self.embedding_dim)

    def layout_entry(self) -> dict[str, Any]:
        """JSON description used to rebuild this module before loading weights."""
        return {
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
            "bits": self.spec.bits,
            "dtype": self.dtype_name,
        }

    @classmethod
    def from_layout_entry(cls, entry: dict[str, Any]) -> "QuantizedEmbedding":
        return cls(entry["num_embeddings"], entry["embedding_dim"], entry.get("padding_idx"), entry["bits"],
                   entry.get("dtype", "float32"))  # fmt: skip

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, padding_idx={self.padding_idx}, bits={self.spec.bits}"
