"""
What a compressed model costs when it is reloaded and run in PyTorch (`from_pretrained`, no export), side by side
with the fp32 teacher, the same student dequantized once to fp32 (the floor of the PyTorch path), the student's int8
layers on the generic dequantization (every layer's codes through the general `(codes - zero_point) * scale`, what
`QuantizedLinear` did for int8 before 2026-11-28), the student quantizing its layers' inputs at run time
(`activation_bits="dynamic"`: ONNX Runtime's arithmetic, on PyTorch's int8 GEMM), and its int8 ONNX export on ONNX
Runtime (and, to show what the int8 GEMM buys, on the exact float64 product it falls back to).

Every call of an int8 `QuantizedLinear` turns its codes back into a float weight; at batch 1 that is most of the
layer's time unless it is one conversion and an in-place multiply. Run:

    python benchmarks/pytorch_int8_latency.py

Defaults to the suite's cached teacher and 2-epoch -80% student (run `benchmarks/run_suite.py` first); prints a table
and writes `benchmarks/results/pytorch_int8_latency.json`. Latency: `interleaved_latency` (round-robin, 100 ms
switch-in, 2 threads, sequence length 64), medians over 3 rounds; speedups are medians of per-round ratios.
"""

import argparse
import copy
import os
import statistics
import sys
import time
from unittest import mock

import torch
import torch.nn as nn


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quantization_sst2 import CACHE, THREADS, environment, interleaved_latency  # noqa: E402
from results_io import write_json  # noqa: E402

from hf_compress import load_compressed  # noqa: E402
from hf_compress.export.onnx import materialize_quantized  # noqa: E402
from hf_compress.quantization import QuantizedLinear  # noqa: E402


TEACHER = os.path.join(CACHE, "teacher_minilm_sst2_rows67349_lr0.0001_len64_seed0")
STUDENT = os.path.join(CACHE, "suite", "paper80x2ep_kd_seed0")
STUDENT_ONNX = os.path.join(CACHE, "suite", "paper80x2ep_kd_onnx", "model_int8.onnx")
REPEATS = {1: 30, 32: 5}


def with_quantized_layers(model: nn.Module, **attributes) -> nn.Module:
    """A copy of `model` whose every `QuantizedLinear` has `attributes` set (a path switch, not new weights)."""
    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, QuantizedLinear):
            for name, value in attributes.items():
                setattr(module, name, value)
    return model.eval()


def generic_dequantization_copy(model: nn.Module) -> nn.Module:
    """The model with its quantized layers forced onto the general dequantization path."""
    return with_quantized_layers(model, dequantizes_in_place=lambda: False)


def dynamic_activations_copy(model: nn.Module) -> nn.Module:
    """The model with its quantized layers quantizing their inputs at run time, as the ONNX export does."""
    return with_quantized_layers(model, activation_bits="dynamic")


def _missing_int8_kernel(*args, **kwargs):
    raise RuntimeError("timing the float64 fallback")


class WithoutInt8Kernel(nn.Module):
    """Runs a model as on a PyTorch build without `torch._int_mm`: dynamic layers take the exact float64 product."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, **inputs):
        with mock.patch.object(torch, "_int_mm", _missing_int8_kernel):
            return self.model(**inputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teacher", default=TEACHER)
    parser.add_argument("--student", default=STUDENT)
    parser.add_argument("--student-onnx", default=STUDENT_ONNX)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--output", default=os.path.join(os.path.dirname(CACHE), "results", "pytorch_int8_latency.json")
    )
    args = parser.parse_args()
    missing = [p for p in (args.teacher, args.student, args.student_onnx) if not os.path.exists(p)]
    if missing:
        raise SystemExit(f"missing {missing}: run `python benchmarks/run_suite.py` first")
    student = load_compressed(args.student).eval()
    models = {
        "teacher fp32 (PyTorch)": load_compressed(args.teacher).eval(),
        "student (PyTorch)": student,
        "student, general dequantization": generic_dequantization_copy(student),
        "student dequantized to fp32 (PyTorch)": materialize_quantized(student)[0],
        "student + dynamic int8 inputs (PyTorch)": dynamic_activations_copy(student),
        "  the same, float64 product": WithoutInt8Kernel(dynamic_activations_copy(student)),
        "student int8 ONNX (ORT)": args.student_onnx,
    }
    rounds = [interleaved_latency(models, REPEATS, THREADS) for _ in range(args.rounds)]
    teacher = next(iter(models))
    rows = []
    print(f"\n{'model':<46}{'ms b1':>8}{'ms b32':>9}{'x fp32 b1':>11}{'x fp32 b32':>12}")
    for name in models:
        row = {"model": name}
        for b in REPEATS:
            row[f"latency_ms_b{b}"] = statistics.median(r[name][b] for r in rounds)
            ratios = [r[teacher][b] / r[name][b] for r in rounds]
            row[f"speedup_vs_fp32_b{b}"] = statistics.median(ratios)
            row[f"speedup_vs_fp32_b{b}_range"] = [min(ratios), max(ratios)]
        rows.append(row)
        print(f"{name:<46}{row['latency_ms_b1']:>8.2f}{row['latency_ms_b32']:>9.1f}"
              f"{row['speedup_vs_fp32_b1']:>11.2f}{row['speedup_vs_fp32_b32']:>12.2f}")  # fmt: skip
    payload = {"command": "python benchmarks/pytorch_int8_latency.py", "date": time.strftime("%Y-%m-%d %H:%M UTC"),
               "environment": environment(), "threads": THREADS, "repeats": REPEATS, "rounds": args.rounds,
               "sequence_length": 64, "teacher": args.teacher, "student": args.student, "rows": rows}  # fmt: skip
    write_json(args.output, payload)


if __name__ == "__main__":
    main()
