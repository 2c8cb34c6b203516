"""Pack unsigned codes of 1, 2 or 4 bits into `uint8` bytes along the last dimension (little end first)."""

import torch


PACKABLE_BITS = (1, 2, 4)


def packed_length(length: int, bits: int) -> int:
    """Bytes needed for `length` codes of `bits` bits."""
    per_byte = 8 // bits
    return (length + per_byte - 1) // per_byte


def pack(codes: torch.Tensor, bits: int) -> torch.Tensor:
    """
    Pack a `(rows, length)` tensor of unsigned codes `< 2**bits` into `(rows, packed_length(length, bits))` uint8.

    Args:
        codes (`torch.Tensor`): integer codes in `[0, 2**bits)`.
        bits (`int`): 1, 2 or 4.
    """
    if bits not in PACKABLE_BITS:
        raise ValueError(f"pack: bits={bits!r} is not supported; allowed values: {list(PACKABLE_BITS)}.")
    codes = codes.to(torch.int32)
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= 2**bits):
        raise ValueError(f"pack: codes must lie in [0, {2**bits - 1}] for bits={bits}.")
    rows, length = codes.shape
    per_byte = 8 // bits
    padded = packed_length(length, bits) * per_byte
    codes = torch.nn.functional.pad(codes, (0, padded - length)).reshape(rows, -1, per_byte)
    shifts = torch.arange(per_byte, dtype=torch.int32, device=codes.device) * bits
    return (codes << shifts).sum(-1).to(torch.uint8)


def unpack(packed: torch.Tensor, bits: int, length: int, dtype: torch.dtype = torch.int32) -> torch.Tensor:
    """
    Inverse of `pack`: `(rows, length)` codes as `dtype` (int32 by default; a float dtype gives the codes as floats
    without an int32 copy of the weight in between).
    """
    if bits not in PACKABLE_BITS:
        raise ValueError(f"unpack: bits={bits!r} is not supported; allowed values: {list(PACKABLE_BITS)}.")
    per_byte, mask = 8 // bits, 2**bits - 1
    packed = packed.to(torch.uint8)
    codes = torch.empty(packed.shape[0], packed.shape[1] * per_byte, dtype=dtype, device=packed.device)
    for position in range(per_byte):  # strided writes: 2-3x faster on CPU than one broadcast shift over a new axis
        codes[:, position::per_byte] = (packed >> (position * bits)) & mask
    return codes if codes.shape[1] == length else codes[:, :length].contiguous()
