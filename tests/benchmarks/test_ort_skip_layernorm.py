"""The SkipLayerNormalization benchmark times the graph it says it times, and finds the suite's students."""

import pytest


pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import benchmarks.ort_skip_layernorm as bench  # noqa: E402
from tests.onnx_graphs import optimized_op_types  # noqa: E402


def test_the_residual_block_is_fused_only_when_the_fusion_is_on(tmp_path):
    graph = bench.residual_block_graph()
    ops = {name: optimized_op_types(graph, disabled, tmp_path) for name, disabled in bench.GRAPHS.items()}
    assert ops["all fusions"] == ["SkipLayerNormalization"]
    assert sorted(ops["without SkipLayerNorm fusion"]) == ["Add", "Add", "LayerNormalization"]


def test_micro_rows_cover_both_batches_and_thread_counts_with_both_graphs():
    rows = bench.micro(repeats=2, rounds=1)
    assert [(r["batch"], r["threads"]) for r in rows] == [(1, 1), (1, 2), (32, 1), (32, 2)]
    for row in rows:
        assert row["fused_over_unfused"] == row["us_all fusions"] / row["us_without SkipLayerNorm fusion"] > 0


def test_students_are_the_int8_exports_beside_the_teacher(tmp_path, monkeypatch):
    for entry, files in {"teacher_onnx": ["ort_dynamic_int8.onnx"], "paper80_kd_onnx": ["model_int8.onnx"],
                         "paper90_kd_onnx": ["model.onnx"], "paper80_kd_seed0": ["model_int8.onnx"]}.items():  # fmt: skip
        (tmp_path / entry).mkdir()
        for name in files:
            (tmp_path / entry / name).write_bytes(b"")
    monkeypatch.setattr(bench, "SUITE", str(tmp_path))
    assert bench.students() == {"paper80_kd": str(tmp_path / "paper80_kd_onnx" / "model_int8.onnx")}
    monkeypatch.setattr(bench, "SUITE", str(tmp_path / "missing"))
    assert bench.students() == {}
