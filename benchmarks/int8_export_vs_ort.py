"""
Our int8 ONNX export vs ONNX Runtime's own `quantize_dynamic`, on the same fine-tuned MiniLM teacher (SST-2).

Both start from the fp32 teacher: ours is `quantize_(mode="ptq", bits=8, activations="dynamic")` + `export_onnx(...,
quantize_embeddings=True)`, theirs is `quantize_dynamic` of the fp32 ONNX export with its defaults. Reports accuracy
on the 872 validation rows, file bytes, and latency (batch 1 and 32, sequence length 64, medians of interleaved
repeats at 2 and at 1 thread); writes `benchmarks/results/int8_export_vs_ort.json`.

Usage: python benchmarks/int8_export_vs_ort.py [--teacher benchmarks/cache/teacher_minilm_sst2_rows12000_...]
"""

import argparse
import glob
import os
import sys
import tempfile

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks.quantization_sst2 import (  # noqa: E402
    eval_batches,
    file_bytes,
    interleaved_latency,
    onnx_accuracy,
    ort_dynamic_int8,
)
from benchmarks.results_io import write_json  # noqa: E402
from hf_compress import QuantizationConfig, check_onnx_export, export_onnx, quantize_  # noqa: E402
from tests.realdata import read_sst2, tokenize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cached = sorted(glob.glob(os.path.join(REPO, "benchmarks/cache/teacher_minilm_sst2_rows12000*")))
    parser.add_argument("--teacher", default=cached[0] if cached else None)
    parser.add_argument("--granularity", default="per_channel", choices=["per_channel", "per_tensor"])
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks/results/int8_export_vs_ort.json"))
    args = parser.parse_args()
    if not args.teacher:
        parser.error("--teacher is required (benchmarks/run_suite.py or quantization_sst2.py caches one)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(2)
    tokenizer = AutoTokenizer.from_pretrained(args.teacher)
    batches = eval_batches(tokenize(read_sst2("validation"), tokenizer), DataCollatorWithPadding(tokenizer))
    work = tempfile.mkdtemp(prefix="int8_vs_ort-")
    teacher = AutoModelForSequenceClassification.from_pretrained(args.teacher).eval()
    fp32 = export_onnx(teacher, os.path.join(work, "fp32"), quantize=None)["onnx"]
    paths = {"ORT quantize_dynamic (defaults)": ort_dynamic_int8(fp32, os.path.join(work, "ort_int8.onnx"))}
    ours = AutoModelForSequenceClassification.from_pretrained(args.teacher).eval()
    quantize_(ours, QuantizationConfig(bits=8, mode="ptq", activations="dynamic", granularity=args.granularity))
    exported = export_onnx(ours, os.path.join(work, "ours"), quantize="int8", quantize_embeddings=True)
    paths["hf_compress int8 PTQ export"] = exported["onnx_int8"]
    rows = {}
    for name, path in paths.items():
        rows[name] = {"accuracy": onnx_accuracy(path, batches), "bytes": file_bytes(path)}
    agreement = check_onnx_export(exported["onnx_int8"], ours, batches)
    rows["hf_compress int8 PTQ export"].update(
        argmax_agreement_with_pytorch=agreement["argmax_agreement"], max_abs_logit_diff=agreement["max_abs_logit_diff"]
    )
    for threads in (2, 1):
        medians = interleaved_latency(paths, {1: 40, 32: 10}, threads)
        for name in paths:
            rows[name][f"latency_ms_b1_{threads}t"] = medians[name][1]
            rows[name][f"latency_ms_b32_{threads}t"] = medians[name][32]
    print(f"{'model':<34}{'acc':>8}{'MB':>7}{'b1 2t':>8}{'b32 2t':>8}{'b1 1t':>8}{'b32 1t':>8}")
    for name, row in rows.items():
        print(f"{name:<34}{row['accuracy']:>8.4f}{row['bytes'] / 1e6:>7.1f}{row['latency_ms_b1_2t']:>8.2f}"
              f"{row['latency_ms_b32_2t']:>8.1f}{row['latency_ms_b1_1t']:>8.2f}{row['latency_ms_b32_1t']:>8.1f}")  # fmt: skip
    write_json(args.output, {"teacher": os.path.basename(args.teacher), "granularity": args.granularity, "rows": rows})


if __name__ == "__main__":
    main()
