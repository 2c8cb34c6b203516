"""
How the latency timer changes the speedups: the same models timed three ways, side by side in one run.

- `alone`: one model at a time, its calls back to back (how a single deployed model is timed), two rounds.
- `interleaved, first call`: round-robin over all models, timing the first call after switching from another model
  (the suite's method before 2026-11-27).
- `interleaved, switch-in`: round-robin, each model runs untimed for 100 ms before its timed call (the suite's
  method now).

On 2 cores, ONNX Runtime's and PyTorch's worker threads keep spinning for tens of ms after each call, and the calls
right after a switch share the cores with them. Run:

    python benchmarks/latency_method.py

Defaults to the suite's cached teacher and int8 students (run `benchmarks/run_suite.py` first); prints a table and
writes `benchmarks/results/latency_method.json`.
"""

import argparse
import os
import statistics
import sys
import time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quantization_sst2 import THREADS, interleaved_latency  # noqa: E402
from results_io import write_json  # noqa: E402

from hf_compress import load_compressed  # noqa: E402


HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "cache", "suite")
DEFAULT_MODELS = {
    "teacher fp32 (PyTorch)": os.path.join(HERE, "cache", "teacher_minilm_sst2_rows12000_lr0.0001_len64_seed0"),
    "teacher ORT int8": os.path.join(SUITE, "teacher_onnx", "ort_dynamic_int8.onnx"),
    "-80% heads+neurons int8": os.path.join(SUITE, "paper80long_kd_onnx", "model_int8.onnx"),
    "2 of 6 blocks + -80% int8": os.path.join(SUITE, "depth80long_kd_onnx", "model_int8.onnx"),
}
REPEATS = {1: 30, 32: 7}


def alone(models: dict, repeats: dict[int, int], threads: int, rounds: int = 2) -> dict[str, dict[int, float]]:
    """
    Latency (ms) of each model timed on its own, back to back: `interleaved_latency` over that one model (so there is
    no switch), for `rounds` passes over the models; the median of the rounds' medians.
    """
    passes = [
        {
            name: interleaved_latency({name: model}, repeats, threads, switch_in_ms=0)[name]
            for name, model in models.items()
        }
        for _ in range(rounds)
    ]
    return {name: {b: statistics.median(p[name][b] for p in passes) for b in repeats} for name in models}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=os.path.join(HERE, "results", "latency_method.json"))
    args = parser.parse_args()
    missing = [path for path in DEFAULT_MODELS.values() if not os.path.exists(path)]
    if missing:
        raise SystemExit(f"missing {missing}: run `python benchmarks/run_suite.py` first")
    models = {
        name: path if path.endswith(".onnx") else load_compressed(path).eval() for name, path in DEFAULT_MODELS.items()
    }
    methods = {
        "alone": alone(models, REPEATS, THREADS),
        "interleaved, first call": interleaved_latency(models, REPEATS, THREADS, switch_in_ms=0),
        "interleaved, switch-in": interleaved_latency(models, REPEATS, THREADS),
    }
    fp32, ort = list(models)[:2]
    print(
        f"\n{'method':<26}{'model':<28}{'ms b1':>8}{'ms b32':>8}{'x ORT b1':>9}{'x ORT b32':>10}{'x fp32 b1':>10}{'x fp32 b32':>11}"
    )
    rows = []
    for method, medians in methods.items():
        for name in models:
            row = {"method": method, "model": name, **{f"latency_ms_b{b}": medians[name][b] for b in REPEATS}}
            for base_name, base in (("ort_int8", ort), ("fp32", fp32)):
                for b in REPEATS:
                    row[f"speedup_vs_{base_name}_b{b}"] = medians[base][b] / medians[name][b]
            rows.append(row)
            print(
                f"{method:<26}{name:<28}{row['latency_ms_b1']:>8.2f}{row['latency_ms_b32']:>8.1f}"
                f"{row['speedup_vs_ort_int8_b1']:>9.2f}{row['speedup_vs_ort_int8_b32']:>10.2f}"
                f"{row['speedup_vs_fp32_b1']:>10.2f}{row['speedup_vs_fp32_b32']:>11.2f}"
            )
    payload = {"command": "python benchmarks/latency_method.py", "date": time.strftime("%Y-%m-%d"), "threads": THREADS,
               "repeats": REPEATS, "sequence_length": 64, "rows": rows}  # fmt: skip
    write_json(args.output, payload)


if __name__ == "__main__":
    main()
