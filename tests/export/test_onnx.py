"""ONNX export of a quantized model: outputs agree with PyTorch; int8 MatMuls really are int8."""

import json
import os

import pytest
import torch


pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from hf_compress.export import check_onnx_export, export_onnx  # noqa: E402
from hf_compress.export.deps import require  # noqa: E402
from hf_compress.quantization import QuantizationConfig, quantize_  # noqa: E402
from hf_compress.quantization.fake_quant import activation_codes, dynamic_activation_qparams  # noqa: E402
from tests.onnx_graphs import onnxruntime_int8_matmul_is_exact, optimized_op_types, ort_dynamic_int8_linear  # noqa: E402
from tests.quantization.helpers import inputs, tiny_bert  # noqa: E402


def batches(n=8):
    return [
        {**inputs(batch=16, length=12, seed=s), "token_type_ids": torch.zeros(16, 12, dtype=torch.long)}
        for s in range(n)
    ]


@pytest.mark.parametrize("granularity", ["per_tensor", "per_channel"])
def test_int8_export_matches_pytorch(tmp_path, granularity):
    model = tiny_bert(hidden=64)
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", granularity=granularity))
    result = export_onnx(model, tmp_path, quantize="int8")
    fp32 = check_onnx_export(result["onnx"], model, batches())
    assert fp32["argmax_agreement"] == 1.0 and fp32["max_abs_logit_diff"] < 1e-4
    int8 = check_onnx_export(result["onnx_int8"], model, batches())
    assert int8["num_examples"] == 128 and int8["passed"], int8
    assert int8["max_abs_logit_diff"] < 0.05
    ops = [node.op_type for node in onnx.load(result["onnx_int8"]).graph.node]
    # 12 encoder MatMuls and the pooler (exported as a Gemm) run as MatMulInteger; the classifier is not quantized
    assert len(result["quantized_layers"]) == 13 and ops.count("MatMulInteger") == 13


def test_bad_quantize_value_and_missing_dependency_message(tmp_path):
    with pytest.raises(ValueError, match=r"quantize='int4' is not supported; allowed values: \[None, 'int8'\]"):
        export_onnx(tiny_bert(), tmp_path, quantize="int4")
    with pytest.raises(ImportError, match=r"pip install hf-compress\[onnx\]"):
        require("onnxruntime_not_installed_anywhere")


def test_cli_exports_a_saved_compressed_model(tmp_path, capsys):
    from hf_compress.export.cli import main
    from hf_compress.serialization import save_compressed

    model = tiny_bert(hidden=64)
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", granularity="per_tensor"))
    save_compressed(model, tmp_path / "model")
    result = main([str(tmp_path / "model"), "--format", "onnx"])
    assert result["onnx_int8"].endswith("model_int8.onnx") and '"onnx_int8"' in capsys.readouterr().out
    assert check_onnx_export(result["onnx_int8"], model, batches(2))["passed"]


@pytest.mark.parametrize("flag, int8_tables", [([], True), (["--no-quantize-embeddings"], False)])
def test_cli_follows_the_saved_tables_unless_told_otherwise(tmp_path, flag, int8_tables):
    from hf_compress.export.cli import main
    from hf_compress.serialization import save_compressed

    model = tiny_bert(hidden=64)
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", embeddings=8))
    save_compressed(model, tmp_path / "model")
    result = main([str(tmp_path / "model"), "--format", "onnx", *flag])
    names = {t.name for t in onnx.load(result["onnx_int8"]).graph.initializer}
    assert ("model.bert.embeddings.word_embeddings.weight_quantized" in names) is int8_tables


def test_dynamic_activations_make_the_int8_export_match_the_pytorch_model(tmp_path):
    """Weight-only int8 differs from ORT's int8 by ORT's run-time activation quantization; "dynamic" simulates it."""
    pytest.importorskip("onnxruntime")
    agreement = {}
    for activations in (None, "dynamic"):
        model = tiny_bert(hidden=64)
        quantize_(model, QuantizationConfig(bits=8, mode="ptq", activations=activations))
        result = export_onnx(model, tmp_path / str(activations), quantize="int8")
        agreement[activations] = check_onnx_export(result["onnx_int8"], model, batches())
    dynamic = agreement["dynamic"]
    assert dynamic["argmax_agreement"] == 1.0 and dynamic["passed"], dynamic
    if onnxruntime_int8_matmul_is_exact():  # without VNNI, ORT's int16 pair saturation outweighs the rounding
        assert dynamic["max_abs_logit_diff"] < 1e-3, dynamic
        assert dynamic["max_abs_logit_diff"] < agreement[None]["max_abs_logit_diff"]


def test_dynamic_activation_qparams_follow_onnx_runtime_rules():
    from hf_compress.quantization.fake_quant import dynamic_activation_qparams, fake_quantize_dynamic_activation

    x = torch.tensor([[-1.0, 0.5, 3.0]])
    scale, zero_point = dynamic_activation_qparams(x)
    assert scale.item() == pytest.approx(4.0 / 255) and zero_point.item() == round(1.0 / (4.0 / 255))
    positive = torch.tensor([0.5, 2.0])  # the range always includes 0
    assert dynamic_activation_qparams(positive)[1].item() == 0
    quantized = fake_quantize_dynamic_activation(x)
    assert (quantized - x).abs().max().item() <= scale.item() / 2 + 1e-6


def test_dynamic_activation_layers_save_and_reload_identically(tmp_path):
    from hf_compress import load_compressed, save_compressed

    model = tiny_bert(hidden=64).eval()
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", activations="dynamic"))
    save_compressed(model, tmp_path / "saved")
    reloaded = load_compressed(tmp_path / "saved").eval()
    batch = batches(1)[0]
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, reloaded(**batch).logits)
    assert reloaded.bert.encoder.layer[0].attention.self.query.activation_bits == "dynamic"


def test_quantized_embeddings_shrink_the_int8_file_and_still_agree(tmp_path):
    model = tiny_bert(hidden=64)
    quantize_(model, QuantizationConfig(bits=8, mode="ptq"))
    plain = export_onnx(model, tmp_path / "plain", quantize="int8")
    small = export_onnx(model, tmp_path / "small", quantize="int8", quantize_embeddings=True)
    graph = onnx.load(small["onnx_int8"]).graph
    eight_bit = (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)
    tables = {t.name for t in graph.initializer if t.data_type in eight_bit and t.name.endswith("_quantized")}
    assert {f"model.bert.embeddings.{k}_embeddings.weight_quantized" for k in ("word", "position")} <= tables
    fp32_tables = [t for t in onnx.load(plain["onnx_int8"]).graph.initializer if "embeddings" in t.name]
    assert all(t.data_type == onnx.TensorProto.FLOAT for t in fp32_tables)
    assert os.path.getsize(small["onnx_int8"]) < os.path.getsize(plain["onnx_int8"])
    check = check_onnx_export(small["onnx_int8"], model, batches())
    assert check["passed"] and check["max_abs_logit_diff"] < 0.05, check


def test_a_model_with_quantized_tables_exports_int8_tables_by_default(tmp_path):
    model = tiny_bert(hidden=64)
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", embeddings=8))
    exported = export_onnx(model, tmp_path / "tables", quantize="int8")
    graph = onnx.load(exported["onnx_int8"]).graph
    eight_bit = (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)
    tables = {t.name for t in graph.initializer if t.data_type in eight_bit and t.name.endswith("_quantized")}
    assert "model.bert.embeddings.word_embeddings.weight_quantized" in tables
    check = check_onnx_export(exported["onnx_int8"], model, batches())
    assert check["passed"] and check["max_abs_logit_diff"] < 0.05, check


def test_dynamic_int8_layer_computes_what_onnx_runtime_computes(tmp_path):
    """Exact integer accumulation + one scale, as ORT's DynamicQuantizeMatMul: outputs equal to float rounding."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(96, 40))
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", activations="dynamic", exclude=[]))
    layer = model[0]
    weight, bias = layer.dequantized_weight().T.contiguous().numpy(), layer.bias.detach().numpy()
    session = ort_dynamic_int8_linear(weight, bias, str(tmp_path))
    x = torch.randn(64, 96) * 3
    theirs = torch.from_numpy(session.run(None, {"x": x.numpy()})[0])
    with torch.no_grad():
        ours = layer(x)
    if not onnxruntime_int8_matmul_is_exact():
        # AVX2 without VNNI: ORT adds adjacent uint8 x int8 products into int16 with saturation, then sums exactly
        scale_x, zero_point = dynamic_activation_qparams(x)
        codes_x, codes_w = activation_codes(x / scale_x, zero_point, 0, 255).double(), layer.codes().double()
        pairs = (codes_x[:, None, :] * codes_w[None]).unflatten(-1, (-1, 2)).sum(-1).clamp(-(2**15), 2**15 - 1)
        saturated = (pairs.sum(-1) - zero_point.double() * codes_w.sum(1)) * (scale_x * layer.scale.reshape(-1))
        assert torch.allclose((saturated + layer.bias).float(), theirs, rtol=1e-5, atol=1e-5)
        assert (ours - theirs).abs().max() > 1e-2  # so the exact product below would not describe this CPU
        return
    assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-5), (ours - theirs).abs().max()
    simulated = layer(x.requires_grad_())  # with autograd: dequantize-then-float-matmul (differentiable) path
    assert (simulated - theirs).abs().max() > (ours - theirs).abs().max()


@pytest.mark.parametrize("granularity", ["per_tensor", "per_group"])
def test_integer_path_matches_the_simulated_path_for_every_granularity(granularity):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(64, 24))
    config = QuantizationConfig(bits=8, mode="ptq", activations="dynamic", granularity=granularity, group_size=16)
    quantize_(model, QuantizationConfig.from_dict({**config.to_dict(), "exclude": []}))
    x = torch.randn(5, 64)
    with torch.no_grad():
        exact = model(x)
    simulated = model(x.clone().requires_grad_())
    assert torch.allclose(exact, simulated, atol=1e-4), (exact - simulated).abs().max()


def test_sessions_leave_out_the_slow_skip_layernorm_fusion_and_compute_the_same(tmp_path, monkeypatch):
    from hf_compress.export import SLOW_FUSIONS, onnx_session

    model = tiny_bert(hidden=64)
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", granularity="per_tensor"))
    path = export_onnx(model, tmp_path, quantize="int8")["onnx_int8"]
    ort = require("onnxruntime")
    # the name is ONNX Runtime's own: leaving it out changes the optimized graph
    assert "SkipLayerNormalization" in optimized_op_types(path, (), tmp_path)
    assert "SkipLayerNormalization" not in optimized_op_types(path, SLOW_FUSIONS, tmp_path)
    passed = []
    real = ort.InferenceSession
    monkeypatch.setattr(
        ort, "InferenceSession", lambda *a, **k: passed.append(k["disabled_optimizers"]) or real(*a, **k)
    )
    default, fused = onnx_session(path, threads=1), onnx_session(path, threads=1, disabled_optimizers=())
    assert passed == [["SkipLayerNormFusion"], []]
    feed = {i.name: v.numpy() for i in default.get_inputs() for k, v in batches(1)[0].items() if k == i.name}
    torch.testing.assert_close(default.run(None, feed)[0], fused.run(None, feed)[0], atol=1e-5, rtol=0)


def test_export_runs_eager_attention_on_a_copy_and_keeps_padding_semantics(tmp_path):
    model = tiny_bert(hidden=64)
    assert model.config._attn_implementation == "sdpa"
    padded = batches(2)
    for batch in padded:
        batch["attention_mask"][8:, 7:] = 0  # half the rows padded, so the mask path is exercised
    graphs = {}
    for name, options in (("eager", {}), ("own", {"attn_implementation": None})):  # eager is the default
        result = export_onnx(model, tmp_path / name, quantize=None, **options)
        graphs[name] = [node.op_type for node in onnx.load(result["onnx"]).graph.node]
        check = check_onnx_export(result["onnx"], model, padded)
        assert check["argmax_agreement"] == 1.0 and check["max_abs_logit_diff"] < 1e-4, (name, check)
    # SDPA's export guards every attention matrix against fully masked rows (IsNaN + Where); eager has no such guard
    assert "IsNaN" in graphs["own"] and "IsNaN" not in graphs["eager"]
    assert len(graphs["eager"]) < len(graphs["own"])
    assert model.config._attn_implementation == "sdpa"  # the caller's model is left as it was
    with pytest.raises(ValueError, match=r"attn_implementation='flash_attention_2' is not supported; allowed values: "
                                         r"\[None, 'eager', 'sdpa'\]"):  # fmt: skip
        export_onnx(model, tmp_path / "flash", attn_implementation="flash_attention_2")
    assert not (tmp_path / "flash").exists()


def test_a_failed_export_leaves_the_output_folder_as_it_was(tmp_path, monkeypatch):
    import hf_compress.export.onnx as onnx_export

    model = tiny_bert(hidden=64)
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", granularity="per_channel"))
    target = tmp_path / "onnx"
    first = export_onnx(model, target, quantize="int8")
    (target / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def fail(*args, **kwargs):
        raise RuntimeError("fusion failed")

    monkeypatch.setattr(onnx_export, "fuse_attention_blocks", fail)
    with pytest.raises(RuntimeError, match="fusion failed"):
        export_onnx(model, target, quantize="int8", fuse_attention=True)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before  # nothing half-written, nothing lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onnx"]  # no staging folder left behind
    with pytest.raises(RuntimeError, match="fusion failed"):
        export_onnx(model, tmp_path / "new", fuse_attention=True)
    assert not (tmp_path / "new").exists()
    # a complete export replaces its own files and keeps the others
    monkeypatch.undo()
    second = export_onnx(model, target, quantize="int8", fuse_attention=True)
    assert (target / "notes.txt").read_text() == "mine" and os.path.isfile(second["onnx_fused"])
    assert second["onnx_int8"] == first["onnx_int8"] == os.path.join(target, "model_int8.onnx")
    assert json.loads((target / "hf_compress_export.json").read_text()) == second
