import os

import pytest
import torch
from safetensors.torch import save_file

from hf_compress.quantization import QuantizationConfig, QuantizedLinear, SharedWeightLinear, convert_qat, quantize_
from hf_compress.quantization.qscheme import dequantize, grouped
from hf_compress.quantization.weight_sharing import kmeans_codebook

from .helpers import inputs, tiny_bert


CASES = [
    {"bits": 8},
    {"bits": 8, "symmetric": False, "granularity": "per_tensor"},
    {"bits": 4, "granularity": "per_group", "group_size": 16},
    {"bits": 4, "symmetric": False},
    {"bits": 2},
    {"bits": "ternary"},
    {"bits": 1},
    {"bits": 4, "weight_sharing": True},
    {"bits": 8, "activations": 8},
]


def quantized_layers(model):
    return {n: m for n, m in model.named_modules() if isinstance(m, QuantizedLinear)}


@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: "-".join(f"{v}" for v in k.values()))
def test_converted_model_reproduces_qat_and_uses_few_levels(kwargs):
    model, x = tiny_bert(), inputs()
    config = QuantizationConfig(**kwargs)
    quantize_(model, config)
    model.train()
    model(**x).logits.sum().backward()  # observers see one training batch
    model.eval()
    with torch.no_grad():
        qat_logits = model(**x).logits
    convert_qat(model)
    with torch.no_grad():
        assert torch.equal(model(**x).logits, qat_logits)
    layers = quantized_layers(model)
    assert len(layers) == 2 * 6 + 1  # 6 Linears per layer + pooler; classifier and embeddings excluded
    assert not isinstance(model.classifier, QuantizedLinear)
    for layer in layers.values():
        assert layer.hf_compress_bits == config.bits
        weight = layer.dequantized_weight()
        if layer.codebook_size is not None:
            assert layer.codebook.numel() <= 2**config.bits
            assert weight.unique().numel() <= 2**config.bits
            continue
        groups = grouped(weight, layer.spec)
        for group in groups.reshape(-1, groups.shape[-1]):
            assert group.unique().numel() <= config.num_levels


def test_kmeans_codebook_size_and_zero_centroid():
    torch.manual_seed(0)
    w = torch.randn(64, 64)
    w[w.abs() < 0.5] = 0.0
    codebook, indices = kmeans_codebook(w, 16)
    assert codebook.numel() <= 16 and codebook[0] == 0
    assert (codebook[indices][w == 0] == 0).all()
    shared = codebook[indices]
    assert ((shared == 0) == (w == 0)).all(), "sparsity must be unchanged by clustering"
    assert ((shared - w)[w != 0] ** 2).mean() < 0.02 * (w[w != 0] ** 2).mean()


def test_shared_weight_finetuning_sums_cluster_gradients_and_keeps_clusters():
    model = tiny_bert()
    quantize_(model, QuantizationConfig(bits=2, weight_sharing=True))
    layer = model.bert.encoder.layer[0].attention.self.query
    assert isinstance(layer, SharedWeightLinear)
    before = layer.weight.detach().clone()
    x = torch.randn(3, 32, requires_grad=False)
    out = layer(x)
    weight_grad = torch.autograd.grad(out.sum(), layer.weight)[0]
    plain_grad = torch.ones(3, 32).T @ x  # d(sum(x W^T))/dW for a plain linear
    for c in range(layer.num_centroids):
        members = layer.indices == c
        assert torch.allclose(weight_grad[members], plain_grad[members].sum().expand(int(members.sum())), atol=1e-4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(3):
        optimizer.zero_grad()
        model(**inputs(), labels=torch.tensor([0, 1, 0, 1])).loss.backward()
        optimizer.step()
    assert not torch.equal(layer.weight, before)
    assert layer.weight.unique().numel() <= 4


def _tensor_bytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


@pytest.mark.parametrize("bits, limit", [(8, 0.3), (4, 0.17)])
def test_size_on_disk_of_quantized_tensors(tmp_path, bits, limit):
    model = tiny_bert(hidden=128)
    names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and "classifier" not in n]
    fp32 = {f"{n}.weight": model.get_submodule(n).weight.detach().clone() for n in names}
    save_file(fp32, tmp_path / "fp32.safetensors")
    extra = {"granularity": "per_group", "group_size": 32} if bits == 4 else {}
    quantize_(model, QuantizationConfig(bits=bits, mode="ptq", **extra))
    quantized = {}
    for name, layer in quantized_layers(model).items():
        for key, buffer in layer.named_buffers():
            quantized[f"{name}.{key}"] = buffer.contiguous()
    save_file(quantized, tmp_path / "q.safetensors")
    ratio = os.path.getsize(tmp_path / "q.safetensors") / os.path.getsize(tmp_path / "fp32.safetensors")
    assert ratio <= limit, ratio
    assert _tensor_bytes(quantized.values()) / _tensor_bytes(fp32.values()) <= limit


@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: "-".join(f"{v}" for v in k.values()))
def test_signed_integer_weights_dequantize_in_place_bit_for_bit(kwargs):
    model = tiny_bert()
    quantize_(model, QuantizationConfig(**kwargs))
    model.train()
    model(**inputs()).logits.sum().backward()  # observers see one training batch
    convert_qat(model)
    for layer in quantized_layers(model).values():
        generic = dequantize(layer.codes(), _qparams(layer), layer.spec) if layer.codebook_size is None else None
        short = layer.dequantizes_in_place()
        signed_integer = kwargs["bits"] in (8, 4, 2) and kwargs.get("symmetric", True)
        assert short == (signed_integer and not kwargs.get("weight_sharing"))
        if generic is not None:
            assert torch.equal(layer.dequantized_weight(), generic)
        if short:  # two calls share no storage: callers may modify what they get
            first = layer.dequantized_weight()
            first.zero_()
            assert torch.equal(layer.dequantized_weight(), generic)


def _qparams(layer):
    zero_point = layer.zero_point.float() if layer.has_zero_point else torch.zeros_like(layer.scale)
    return {"scale": layer.scale, "zero_point": zero_point}
