"""Accuracy, FLOPs, parameters, bytes on disk and the int8 ONNX export of saved models."""

import torch.nn as nn

from hf_compress import check_onnx_export, compression_report, export_onnx, load_compressed

from ..pruning_sst2 import accuracy
from ..quantization_sst2 import file_bytes, onnx_accuracy


SEQUENCE_LENGTH = 64


def load_saved(path: str) -> nn.Module:
    """What a user gets back from disk (`load_compressed` also loads plain `save_pretrained` directories)."""
    return load_compressed(path).eval()


def measure_model(path: str, teacher: nn.Module, validation, collator) -> dict:
    """
    Accuracy on the validation rows, forward FLOPs at sequence length 64, parameters (total and non-zero) and the
    safetensors bytes of `path`, with ratios to the teacher.
    """
    model = load_saved(path)
    report = compression_report(model, teacher=teacher, sequence_length=SEQUENCE_LENGTH, save_dir=path)
    return {
        "accuracy": accuracy(model, validation, collator),
        "gflops": report.flops / 1e9,
        "flops_removed": 1 - report.ratios()["flops"],
        "params_m": report.params / 1e6,
        "nonzero_params_m": report.nonzero_params / 1e6,
        "safetensors_bytes": file_bytes(path),
    }


def export_and_check(path: str, output_dir: str, batches: list[dict]) -> dict:
    """
    Export a saved quantized model to int8 ONNX (int8 `MatMulInteger` + int8 embedding tables) and compare it with
    the PyTorch model on the validation batches.

    Returns:
        `dict`: `onnx` path, `onnx_bytes`, `onnx_accuracy`, `argmax_agreement`, `max_abs_logit_diff`.
    """
    model = load_saved(path)
    onnx_path = export_onnx(model, output_dir, quantize="int8", sequence_length=16, quantize_embeddings=True)[
        "onnx_int8"
    ]
    check = check_onnx_export(onnx_path, model, batches)
    return {
        "onnx": onnx_path,
        "onnx_bytes": file_bytes(onnx_path),
        "onnx_accuracy": onnx_accuracy(onnx_path, batches),
        "argmax_agreement": check["argmax_agreement"],
        "max_abs_logit_diff": check["max_abs_logit_diff"],
    }
