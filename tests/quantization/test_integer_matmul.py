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


def _dynamic_layer(seed):
    from hf_compress.quantization import QuantizedLinear
    from hf_compress.quantization.qscheme import QuantSpec

    layer = QuantizedLinear(16, 8, True, QuantSpec(bits=8, granularity="per_channel"), 8, activation_bits="dynamic")
    generator = torch.Generator().manual_seed(seed)
    layer.set_codes(torch.randint(-128, 128, (8, 16), generator=generator))
    layer.scale.copy_(torch.rand(8, 1, generator=generator) + 0.1)
    return layer


def _simulated(layer, x):
    """The same layer computed by fake-quantizing its input and multiplying by the dequantized weight."""
    from hf_compress.quantization.fake_quant import fake_quantize_dynamic_activation

    return torch.nn.functional.linear(fake_quantize_dynamic_activation(x), layer.dequantized_weight(), layer.bias)


def test_kept_code_sums_follow_new_codes_from_set_codes_and_load_state_dict():
    layer, x = _dynamic_layer(0), torch.randn(3, 16)
    with torch.no_grad():
        first = layer(x)
        assert torch.allclose(first, _simulated(layer, x), atol=1e-5)
        layer.set_codes(-layer.codes())  # in place: the kept sums must be recomputed
        assert torch.allclose(layer(x), _simulated(layer, x), atol=1e-5)
        assert not torch.allclose(layer(x), first, atol=1e-3)
        layer.load_state_dict(_dynamic_layer(1).state_dict())
        assert torch.allclose(layer(x), _simulated(layer, x), atol=1e-5)
