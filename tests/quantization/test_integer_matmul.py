import pytest
import torch

from hf_compress.quantization.integer_matmul import activation_weight_product


def _reference(codes_x, zero_point, weight_codes):
    """The float64 product of centred codes: every int32 sum is exact in float64."""
    return ((codes_x.double() - zero_point.double()) @ weight_codes.double().T).float()


@pytest.mark.parametrize("zero_point", [0, 1, 128, 255])
def test_int8_gemm_gives_the_exact_integer_product(zero_point):
    generator = torch.Generator().manual_seed(zero_point)
    codes_x = torch.randint(0, 256, (2, 5, 48), generator=generator).float()
    codes_x[0, 0] = 255.0  # the extremes of both ranges
    codes_x[0, 1] = 0.0
    weight = torch.randint(-128, 128, (24, 48), generator=generator, dtype=torch.int8)
    weight[0] = -128
    weight[1] = 127
    zp = torch.tensor(float(zero_point))
    result = activation_weight_product(codes_x, zp, weight)
    assert result.shape == (2, 5, 24) and result.dtype == torch.float32
    assert torch.equal(result, _reference(codes_x, zp, weight))


def test_without_the_int8_kernel_the_float64_product_gives_the_same_result(monkeypatch):
    generator = torch.Generator().manual_seed(0)
    codes_x = torch.randint(0, 256, (7, 32), generator=generator).float()
    weight = torch.randint(-8, 8, (16, 32), generator=generator, dtype=torch.int32)  # 4-bit codes
    zp = torch.tensor(37.0)
    with_kernel = activation_weight_product(codes_x, zp, weight)

    def unavailable(*args, **kwargs):
        raise RuntimeError("no int8 kernel in this build")

    monkeypatch.setattr(torch, "_int_mm", unavailable)
    assert torch.equal(activation_weight_product(codes_x, zp, weight), with_kernel)
    assert torch.equal(with_kernel, _reference(codes_x, zp, weight))
