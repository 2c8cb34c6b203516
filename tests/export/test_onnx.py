"""ONNX export of a quantized model: outputs agree with PyTorch; int8 MatMuls really are int8."""

import pytest
import torch


pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from hf_compress.export import check_onnx_export, export_onnx  # noqa: E402
from hf_compress.export.deps import require  # noqa: E402
from hf_compress.quantization import QuantizationConfig, quantize_  # noqa: E402
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
