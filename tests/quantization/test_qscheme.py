import pytest
import torch

from hf_compress.quantization.fake_quant import fake_quantize, fake_quantize_activation
from hf_compress.quantization.packing import pack, unpack
from hf_compress.quantization.qscheme import QuantSpec, compute_qparams, dequantize, grouped, quantize


ALL_BITS = [8, 4, 2, "ternary", 1]
GRANULARITIES = ["per_tensor", "per_channel", "per_group"]


def test_fake_quant_int8_per_channel_matches_hand_computation():
    w = torch.tensor([[0.5, -1.0, 0.25, 0.1], [2.0, 0.0, -0.3, 1.0]])
    spec = QuantSpec(8, "per_channel", symmetric=True)
    out = fake_quantize(w, compute_qparams(w, spec), spec)
    scale = torch.tensor([[1.0 / 127], [2.0 / 127]])
    expected = torch.clamp(torch.round(w / scale), -128, 127) * scale
    torch.testing.assert_close(out, expected, rtol=0, atol=0)


def test_fake_quant_asymmetric_4bit_per_group_matches_hand_computation():
    w = torch.tensor([[0.2, 0.6, -0.4, 1.2]])
    spec = QuantSpec(4, "per_group", group_size=2, symmetric=False)
    out = fake_quantize(w, compute_qparams(w, spec), spec)
    expected = []
    for group in (w[0, :2], w[0, 2:]):
        low, high = min(group.min().item(), 0.0), max(group.max().item(), 0.0)
        scale = (high - low) / 15
        zp = min(max(round(-low / scale), 0), 15)
        expected += [(min(max(round(v / scale) + zp, 0), 15) - zp) * scale for v in group.tolist()]
    torch.testing.assert_close(out[0], torch.tensor(expected), rtol=1e-6, atol=1e-7)


def test_ternary_follows_twn_and_binary_uses_mean_abs():
    w = torch.tensor([[0.9, -0.05, 0.4, -0.7, 0.02, 0.0]])
    spec = QuantSpec("ternary", "per_channel")
    delta = 0.7 * w.abs().mean()
    alpha = w.abs()[w.abs() > delta].mean()
    expected = torch.sign(w) * (w.abs() > delta) * alpha
    torch.testing.assert_close(fake_quantize(w, compute_qparams(w, spec), spec), expected)
    spec = QuantSpec(1, "per_tensor")
    nonzero = w[w != 0].abs().mean()
    torch.testing.assert_close(fake_quantize(w, compute_qparams(w, spec), spec), torch.sign(w) * nonzero)


SCHEMES = [(b, g, s) for b in ALL_BITS for g in GRANULARITIES for s in (True, False) if s or b in (8, 4, 2)]


@pytest.mark.parametrize("bits, granularity, symmetric", SCHEMES)
def test_levels_per_scale_group_and_zero_is_exact(bits, granularity, symmetric):
    torch.manual_seed(0)
    w = torch.randn(6, 16) + (0.0 if symmetric else 0.7)
    w[0, :5] = 0.0
    spec = QuantSpec(bits, granularity, group_size=8, symmetric=symmetric)
    deq = fake_quantize(w, compute_qparams(w, spec), spec)
    levels = {8: 256, 4: 16, 2: 4, "ternary": 3, 1: 2}[bits]
    for group in grouped(deq, spec).reshape(-1, grouped(deq, spec).shape[-1]):
        # zero is one of the levels of every scheme but binary, where pruned zeros add a third (stored) code
        assert group[group != 0].unique().numel() <= (levels if bits == 1 else levels - 1)
        assert group.unique().numel() <= levels + (bits == 1)
    assert (deq[0, :5] == 0).all(), "pruned zeros must stay exactly zero"


def test_ste_gradient_passes_inside_range_and_blocks_clamped_values():
    w = torch.tensor([[0.5, -1.0, 0.25, 3.0]], requires_grad=True)
    spec = QuantSpec(4, "per_tensor", symmetric=True)
    qparams = compute_qparams(w, spec)
    qparams["scale"] = torch.tensor([[0.1]])  # 3.0 / 0.1 = 30 > 7: clamped
    fake_quantize(w, qparams, spec).sum().backward()
    torch.testing.assert_close(w.grad, torch.tensor([[1.0, 0.0, 1.0, 0.0]]))
    x = torch.tensor([0.0, 0.5, 5.0], requires_grad=True)
    fake_quantize_activation(x, torch.tensor(1.0 / 255), torch.tensor(0.0)).sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([1.0, 1.0, 0.0]))


def test_quantize_dequantize_roundtrip_error_bounded_by_half_step():
    torch.manual_seed(0)
    w = torch.randn(8, 32)
    spec = QuantSpec(8, "per_group", group_size=16)
    qparams = compute_qparams(w, spec)
    err = (dequantize(quantize(w, qparams, spec), qparams, spec) - w).abs()
    step = qparams["scale"].repeat_interleave(16, dim=1)
    assert (err <= step / 2 + 1e-7).all()


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_pack_unpack_roundtrip(bits):
    codes = torch.randint(0, 2**bits, (3, 13))
    packed = pack(codes, bits)
    assert packed.dtype == torch.uint8 and packed.shape == (3, -(-13 * bits // 8))
    assert torch.equal(unpack(packed, bits, 13), codes.to(torch.int32))
    as_floats = unpack(packed, bits, 13, torch.float32)
    assert as_floats.dtype == torch.float32 and torch.equal(as_floats, codes.float())
    with pytest.raises(ValueError, match="codes must lie"):
        pack(codes + 2**bits, bits)
