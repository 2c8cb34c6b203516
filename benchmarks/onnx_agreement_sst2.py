"""
How closely our int8 ONNX export agrees with the PyTorch int8 model it came from, on the 872 SST-2 validation rows.

    python benchmarks/quantization_sst2.py          # once: fine-tunes and caches the MiniLM teacher
    python benchmarks/onnx_agreement_sst2.py        # int8 PTQ, weight-only vs activations="dynamic"

Prints one line per activation mode with argmax agreement and the max absolute logit difference, and writes them
to `benchmarks/results/onnx_agreement_sst2.json`.
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

from benchmarks.results_io import write_json  # noqa: E402
from hf_compress import QuantizationConfig, check_onnx_export, export_onnx, quantize_  # noqa: E402
from tests.realdata import read_sst2, tokenize  # noqa: E402


def validation_batches(tokenizer, batch_size: int = 32) -> list[dict]:
    validation = tokenize(read_sst2("validation"), tokenizer)
    collator = DataCollatorWithPadding(tokenizer)
    batches = []
    for start in range(0, len(validation), batch_size):
        batch = collator([validation[i] for i in range(start, min(start + batch_size, len(validation)))])
        batches.append({k: v for k, v in batch.items() if k != "labels"})
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_teacher = sorted(glob.glob(os.path.join(REPO, "benchmarks/cache/teacher_minilm_sst2_rows12000*")))
    parser.add_argument("--teacher", default=default_teacher[0] if default_teacher else None)
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks/results/onnx_agreement_sst2.json"))
    args = parser.parse_args()
    if not args.teacher:
        parser.error("--teacher is required (run benchmarks/quantization_sst2.py first to cache one)")
    torch.set_num_threads(2)
    batches = validation_batches(AutoTokenizer.from_pretrained(args.teacher))
    results = {}
    for activations in (None, "dynamic"):
        model = AutoModelForSequenceClassification.from_pretrained(args.teacher).eval()
        quantize_(model, QuantizationConfig(bits=8, mode="ptq", activations=activations))
        with tempfile.TemporaryDirectory() as tmp:
            exported = export_onnx(model, tmp, quantize="int8")
            check = check_onnx_export(exported["onnx_int8"], model, batches)
        results[str(activations)] = {k: check[k] for k in ("argmax_agreement", "max_abs_logit_diff", "num_examples")}
        print(f"activations={activations!s:8} {results[str(activations)]}", flush=True)
    write_json(args.output, {"teacher": os.path.basename(args.teacher), "results": results})


if __name__ == "__main__":
    main()
