"""The attention-export benchmark times the three graphs it names, for the teacher and for students."""

import os

import pytest


pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

import benchmarks.onnx_attention_export as bench  # noqa: E402
from hf_compress.quantization import QuantizationConfig, quantize_  # noqa: E402
from hf_compress.serialization import save_compressed  # noqa: E402
from tests.quantization.helpers import tiny_bert  # noqa: E402


def op_types(path):
    return [node.op_type for node in onnx.load(path).graph.node]


@pytest.mark.parametrize("teacher", [True, False])
def test_each_graph_is_exported_as_named(tmp_path, teacher):
    model = tiny_bert(hidden=64)
    if not teacher:
        quantize_(model, QuantizationConfig(bits=8, mode="ptq", granularity="per_channel"))
    save_compressed(model, tmp_path / "model")
    files = bench.export_graphs("m", str(tmp_path / "model"), str(tmp_path / "work"), teacher=teacher)
    assert list(files) == list(bench.GRAPHS)
    fp32 = {graph: os.path.join(os.path.dirname(files[graph]), "model.onnx") for graph in ("sdpa", "eager")}
    assert "IsNaN" in op_types(fp32["sdpa"]) and "IsNaN" not in op_types(fp32["eager"])
    for graph in ("sdpa", "eager"):
        assert "QAttention" not in op_types(files[graph]) and "MatMulInteger" in op_types(files[graph])
    assert op_types(files["eager + fused attention"]).count("QAttention") == 2  # both layers
    # the teacher's int8 is ONNX Runtime's own quantize_dynamic (the suite's baseline); students use export_onnx
    assert all(os.path.basename(path) == ("ort_dynamic_int8.onnx" if teacher else "model_int8.onnx")
               for path in files.values())  # fmt: skip
