"""Fused attention export: pruned layers keep their own head counts, and the fused graph computes the same."""

import pytest
import torch


pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

from hf_compress import export_onnx  # noqa: E402
from hf_compress.export import onnx_session  # noqa: E402
from hf_compress.export.fusion import fuse_attention_blocks, resolve_head_counts  # noqa: E402
from hf_compress.quantization import QuantizationConfig, quantize_  # noqa: E402
from tests.pruning.test_shrink import masked_then_shrunk  # noqa: E402
from tests.pruning.tiny_models import tiny_bert, tiny_llama  # noqa: E402


def uneven_heads_bert():
    """Two layers left with 1 and 3 of their 4 heads: the first layer's three lowest heads carry nothing."""
    model = tiny_bert()
    attention = model.bert.encoder.layer[0].attention
    with torch.no_grad():
        for linear in (attention.self.query, attention.self.key, attention.self.value):
            linear.weight[:24] = 0
            linear.bias[:24] = 0
        attention.output.dense.weight[:, :24] = 0
    masked_then_shrunk(model, structure="heads", target_sparsity=0.5, scope="global").shrink(model)
    assert [layer.attention.self.num_attention_heads for layer in model.bert.encoder.layer] == [1, 3]
    return model.eval()


def padded_batch():
    ids = torch.randint(1, 100, (4, 12), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[2:, 8:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def run(path, batch):
    session = onnx_session(str(path), threads=1)
    return session.run(None, {i.name: batch[i.name].numpy() for i in session.get_inputs()})[0]


def reference(model, batch):
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.numpy()


def test_head_counts_are_written_per_layer_and_the_graph_computes_the_same(tmp_path):
    model, batch = uneven_heads_bert(), padded_batch()
    exported = onnx.load(export_onnx(model, tmp_path, quantize=None)["onnx"])
    assert resolve_head_counts(exported) == 6  # query, key and value of both layers
    heads = [t for t in exported.graph.initializer if t.name.endswith("_heads")]
    assert sorted(int(numpy_helper.to_array(t)[0]) for t in heads) == [1, 1, 1, 3, 3, 3]
    assert resolve_head_counts(exported) == 0  # nothing left to resolve
    onnx.save(exported, tmp_path / "resolved.onnx")
    torch.testing.assert_close(run(tmp_path / "resolved.onnx", batch), reference(model, batch), atol=1e-5, rtol=0)


def test_onnx_runtime_alone_fuses_no_pruned_layer_and_fuse_attention_fuses_both(tmp_path):
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    fp32 = export_onnx(uneven_heads_bert(), tmp_path, quantize=None)["onnx"]
    plain = optimize_model(fp32, model_type="bert", num_heads=0, hidden_size=0,
                           optimization_options=FusionOptions("bert"), opt_level=0)  # fmt: skip
    assert plain.get_fused_operator_statistics()["Attention"] == 0
    assert fuse_attention_blocks(fp32, tmp_path / "fused.onnx") == 2


def test_fused_int8_export_quantizes_each_block_as_one_qattention_and_agrees(tmp_path):
    model, batch = uneven_heads_bert(), padded_batch()
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", granularity="per_channel"))
    result = export_onnx(model, tmp_path, quantize="int8", fuse_attention=True)
    assert result["fused_attention_blocks"] == 2
    fused_ops = [node.op_type for node in onnx.load(result["onnx_fused"]).graph.node]
    assert fused_ops.count("Attention") == 2 and "SkipLayerNormalization" not in fused_ops
    torch.testing.assert_close(run(result["onnx_fused"], batch), reference(model, batch), atol=1e-5, rtol=0)
    int8_ops = [node.op_type for node in onnx.load(result["onnx_int8"]).graph.node]
    # 2 layers x (query+key+value in one QAttention, output, intermediate, output dense) + the pooler
    assert int8_ops.count("QAttention") == 2 and int8_ops.count("MatMulInteger") == 7
    assert len(result["quantized_layers"]) == 13
    int8 = run(result["onnx_int8"], batch)
    assert (int8.argmax(-1) == reference(model, batch).argmax(-1)).all()
    assert abs(int8 - reference(model, batch)).max() < 0.05


def tiny_encoder(model_type: str):
    from transformers import AutoConfig, AutoModelForSequenceClassification

    sizes = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    if model_type == "distilbert":
        sizes = dict(vocab_size=100, dim=32, n_layers=2, n_heads=4, hidden_dim=64)
    torch.manual_seed(0)
    config = AutoConfig.for_model(model_type, max_position_embeddings=64, **sizes)
    return AutoModelForSequenceClassification.from_config(config).eval()


@pytest.mark.parametrize("model_type", ["roberta", "xlm-roberta", "camembert", "electra", "distilbert"])
def test_other_bert_type_encoders_fuse_and_quantize_every_block(tmp_path, model_type):
    model, batch = tiny_encoder(model_type), padded_batch()
    batch.pop("token_type_ids")
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", granularity="per_channel"))
    result = export_onnx(model, tmp_path, quantize="int8", fuse_attention=True, input_names=list(batch))
    assert result["fused_attention_blocks"] == 2
    torch.testing.assert_close(run(result["onnx_fused"], batch), reference(model, batch), atol=1e-5, rtol=0)
    int8_ops = [node.op_type for node in onnx.load(result["onnx_int8"]).graph.node]
    assert int8_ops.count("QAttention") == 2
    int8 = run(result["onnx_int8"], batch)
    assert (int8.argmax(-1) == reference(model, batch).argmax(-1)).all()


def test_fuse_attention_rejects_other_models_and_sdpa_before_writing_anything(tmp_path):
    with pytest.raises(
        ValueError, match=r"fuse_attention=True supports config.model_type in \['bert', .*'xlm-roberta'\], not 'llama'"
    ):
        export_onnx(tiny_llama(), tmp_path / "llama", fuse_attention=True)
    with pytest.raises(ValueError, match=r"needs attn_implementation='eager', not 'sdpa'"):
        export_onnx(tiny_bert(), tmp_path / "sdpa", fuse_attention=True, attn_implementation="sdpa")
    assert not (tmp_path / "llama").exists() and not (tmp_path / "sdpa").exists()


def test_a_fused_block_whose_query_key_value_were_not_all_quantized_is_refused(tmp_path):
    model = tiny_bert().eval()
    quantize_(
        model, QuantizationConfig(bits=8, mode="ptq", granularity="per_channel", targets=[r"\.(query|value|dense)$"])
    )
    with pytest.raises(RuntimeError, match="a fused block needs its query, key and value quantized"):
        export_onnx(model, tmp_path, quantize="int8", fuse_attention=True)


def test_cli_fuse_attention_flag_writes_the_fused_int8_graph(tmp_path):
    from hf_compress.export.cli import main
    from hf_compress.serialization import save_compressed

    model = uneven_heads_bert()
    quantize_(model, QuantizationConfig(bits=8, mode="ptq", granularity="per_channel"))
    save_compressed(model, tmp_path / "model")
    result = main([str(tmp_path / "model"), "--format", "onnx", "--fuse-attention"])
    assert result["fused_attention_blocks"] == 2
    assert [node.op_type for node in onnx.load(result["onnx_int8"]).graph.node].count("QAttention") == 2
    plain = main([str(tmp_path / "model"), "--output-dir", str(tmp_path / "plain")])
    assert "onnx_fused" not in plain and "QAttention" not in {
        n.op_type for n in onnx.load(plain["onnx_int8"]).graph.node
    }
