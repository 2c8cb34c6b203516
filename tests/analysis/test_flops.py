"""The FLOPs counter against hand counts."""

import torch
import torch.nn as nn

from hf_compress.analysis import compression_report, count_flops
from hf_compress.pruning.callback import PruningCallback
from hf_compress.pruning.config import PruningConfig
from tests.pruning.tiny_models import tiny_bert, tiny_llama


def bert_macs(L, H, heads_dim_total, inter, layers=2, labels=2):
    per_layer = 3 * L * H * heads_dim_total + L * heads_dim_total * H + 2 * L * L * heads_dim_total + 2 * L * H * inter
    return layers * per_layer + H * H + H * labels  # pooler and classifier see only the [CLS] token


def test_bert_hand_count():
    count = count_flops(tiny_bert(), sequence_length=16)
    # H=32, 4 heads x 8 = 32, FFN 64: 2 x (3*16*32*32 + 16*32*32 + 2*16*16*32 + 2*16*32*64) + 32*32 + 32*2
    assert count.total_macs == 296000 == bert_macs(16, 32, 32, 64)
    assert count.total_flops == 2 * 296000
    rows = count.by_name()
    assert rows["bert.encoder.layer.0.attention.self"].kind == "attention"
    assert rows["bert.encoder.layer.0.attention.self"].macs == 2 * 16 * 16 * 32
    assert rows["bert.embeddings.word_embeddings"].macs == 0  # reported, 0 MACs
    assert count_flops(tiny_bert(), sequence_length=32).total_macs == bert_macs(32, 32, 32, 64)


def test_shrunk_bert_counts_actual_shapes():
    model = tiny_bert()
    callback = PruningCallback(PruningConfig(structure="heads+neurons", target_sparsity=0.5, schedule="oneshot"))
    callback.setup(model, max_steps=1)
    callback.prune(0.5)
    callback.shrink(model)
    assert count_flops(model, sequence_length=16).total_macs == bert_macs(16, 32, 16, 32)


def test_llama_gqa_attention_count():
    count = count_flops(tiny_llama(), sequence_length=8)
    # q: 4 heads x 8 = 32 wide, k/v: 2 heads x 8 = 16 wide; QK^T and AV over every query head
    rows = count.by_name()
    assert rows["model.layers.0.self_attn"].macs == 2 * 8 * 8 * 32
    assert rows["model.layers.0.self_attn.k_proj"].macs == 8 * 32 * 16
    per_layer = 8 * 32 * (32 + 16 + 16) + 8 * 32 * 32 + 2 * 8 * 8 * 32 + 3 * 8 * 32 * 64
    assert count.total_macs == 2 * per_layer + 8 * 32 * 100  # + lm_head on every token


def test_small_cnn_hand_count():
    cnn = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.Conv2d(16, 16, 3, padding=1, groups=16),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )
    count = count_flops(cnn, inputs=torch.zeros(1, 3, 8, 8))
    # 8x8x8 outputs x 3x3x3 + 16x4x4 outputs x 8x3x3 + 16x4x4 x 1x3x3 (depthwise) + 16x10
    assert [row.macs for row in count.rows] == [13824, 18432, 2304, 160]
    assert count.total_macs == 34720


def test_report_rows_totals_and_teacher_ratio(tmp_path):
    teacher = tiny_bert()
    student = tiny_bert()
    callback = PruningCallback(PruningConfig(structure="neurons", target_sparsity=0.5, schedule="oneshot"))
    callback.setup(student, max_steps=1)
    callback.prune(0.5)
    callback.shrink(student)
    report = compression_report(student, teacher=teacher, sequence_length=16)
    assert report.params == sum(p.numel() for p in student.parameters())
    assert report.flops == 2 * bert_macs(16, 32, 32, 32)
    assert report.teacher_flops == 2 * 296000
    assert abs(report.ratios()["flops"] - report.flops / report.teacher_flops) < 1e-12
    assert report.bytes_on_disk < report.teacher_bytes_on_disk
    assert sum(row.flops for row in report.rows) == report.flops
    rows = {row.name: row for row in report.rows}
    assert rows["bert.encoder.layer.0.intermediate.dense"].params == 32 * 32 + 32
    assert rows["bert.encoder.layer.0.intermediate.dense"].bits == 32
    assert "| **total** |" in report.to_markdown() and "flops vs teacher" in str(report)
    assert report.to_dict()["ratios"]["params"] < 1
    assert getattr(teacher.config, "quantization_config", None) is None  # measuring bytes has no side effect


def test_report_sparsity_and_bits_hook():
    model = tiny_bert()
    callback = PruningCallback(PruningConfig(structure="unstructured", target_sparsity=0.5, schedule="oneshot"))
    callback.setup(model, max_steps=1)
    callback.prune(0.5)
    model.bert.encoder.layer[0].output.dense.hf_compress_bits = 4
    report = compression_report(model, sequence_length=8, measure_bytes=False)
    rows = {row.name: row for row in report.rows}
    assert abs(rows["bert.encoder.layer.0.output.dense"].sparsity - 0.5 * 64 * 32 / (64 * 32 + 32)) < 1e-3
    assert rows["bert.encoder.layer.0.output.dense"].bits == 4
    assert report.bytes_on_disk is None and 0 < report.sparsity < 0.5


def test_quantized_layers_still_count_as_parameters_with_their_bits():
    from hf_compress.analysis.size import count_parameters
    from hf_compress.quantization import QuantizationConfig, quantize_

    model = tiny_bert()
    before = count_parameters(model)
    quantize_(model, QuantizationConfig(mode="ptq", bits=8))
    report = compression_report(model, measure_bytes=False)
    assert report.params == before[0]
    assert abs(report.nonzero_params - before[1]) <= before[0] * 0.01  # rounding may zero a few tiny weights
    quantized_rows = [row for row in report.rows if row.type == "QuantizedLinear"]
    assert quantized_rows and all(row.bits == 8 and row.params > 0 for row in quantized_rows)


def test_quantizing_does_not_change_the_flops_count():
    from hf_compress.quantization import QuantizationConfig, quantize_

    model = tiny_bert()
    quantize_(model, QuantizationConfig(mode="ptq", bits=8))
    count = count_flops(model, sequence_length=16)
    assert count.total_macs == bert_macs(16, 32, 32, 64)  # attention matmuls found behind quantized q/k too
    assert count.by_name()["bert.encoder.layer.1.attention.self"].kind == "attention"
