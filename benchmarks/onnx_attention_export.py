"""
Which attention graph should `export_onnx` write? The same SST-2 models exported three ways, timed side by side.

transformers runs BERT's attention through PyTorch's scaled-dot-product attention (SDPA) by default, and
`torch.onnx.export` writes that as a longer graph than the eager attention: the 1/sqrt(d) scale on queries and keys
separately, and an `IsNaN` + `Where` guard over every attention matrix. This script exports the suite's cached teacher
and its cached int8 students

- `sdpa`: as exported until 2026-12-05 (`export_onnx(..., attn_implementation=None)`, the model's own SDPA);
- `eager`: `export_onnx`'s default since then;
- `eager + fused attention`: `export_onnx(..., fuse_attention=True)`, the eager graph with every attention block
  fused by ONNX Runtime's transformer optimizer (`hf_compress/export/fusion.py` first writes each pruned layer's
  head count, which ONNX Runtime cannot find), quantized as `QAttention`, which re-quantizes the query/key/value
  weights to 7 bits.

The teacher's int8 graph in each row is ONNX Runtime's own `quantize_dynamic` of its fp32 graph (the suite's
baseline); the students' int8 graphs are `export_onnx(..., quantize="int8", quantize_embeddings=True)` (the suite's).
Latency: `quantization_sst2.interleaved_latency` (2 threads, sequence length 64, medians of `--rounds` round-robin
passes); accuracy: the 872 SST-2 validation rows.

Run (after `python benchmarks/run_suite.py ...` has cached the teacher and some students in `benchmarks/cache/`):

    python benchmarks/onnx_attention_export.py --students order_pqdlong_kd_seed0

Prints a table and writes `benchmarks/results/onnx_attention_export.json`.
"""

import argparse
import os
import statistics
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from latency_method import HERE, SUITE  # noqa: E402
from quantization_sst2 import (  # noqa: E402
    THREADS,
    eval_batches,
    interleaved_latency,
    onnx_accuracy,
    ort_dynamic_int8,
    prepare_sst2,
    run_header,
    teacher_cache_path,
)
from results_io import write_json  # noqa: E402

from benchmarks.run_suite import FULL  # noqa: E402
from benchmarks.suite.measure import load_saved  # noqa: E402
from hf_compress import export_onnx  # noqa: E402


GRAPHS = ("sdpa", "eager", "eager + fused attention")
REPEATS = {1: 30, 32: 7}
RATIOS = ("speedup_vs_fp32", "speedup_vs_teacher_int8_same_graph", "speedup_vs_teacher_int8_sdpa")


def export_graphs(name: str, path: str, work: str, teacher: bool) -> dict[str, str]:
    """The int8 ONNX file of `path` in every graph of `GRAPHS`."""
    model, files = load_saved(path), {}
    for graph, attention in (("sdpa", None), ("eager", "eager")):
        out = os.path.join(work, name, graph)
        if teacher:
            fp32 = export_onnx(model, out, quantize=None, attn_implementation=attention)["onnx"]
            files[graph] = ort_dynamic_int8(fp32, os.path.join(out, "ort_dynamic_int8.onnx"))
        else:
            files[graph] = export_onnx(model, out, quantize="int8", quantize_embeddings=True, sequence_length=16,
                                       attn_implementation=attention)["onnx_int8"]  # fmt: skip
    out = os.path.join(work, name, "fused")
    if teacher:
        fused = export_onnx(model, out, quantize=None, fuse_attention=True)["onnx_fused"]
        files[GRAPHS[2]] = ort_dynamic_int8(fused, os.path.join(out, "ort_dynamic_int8.onnx"))
    else:
        files[GRAPHS[2]] = export_onnx(model, out, quantize="int8", quantize_embeddings=True, sequence_length=16,
                                       fuse_attention=True)["onnx_int8"]  # fmt: skip
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", nargs="+", default=["order_pqdlong_kd_seed0"],
                        help="Saved students under benchmarks/cache/suite/.")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3, help="Round-robin passes over the models (median taken).")
    parser.add_argument("--data-dir", default=os.path.join(HERE, "..", "..", "shared", "data", "sst2"))
    parser.add_argument("--output", default=os.path.join(HERE, "results", "onnx_attention_export.json"))
    args = parser.parse_args()
    settings = {**FULL, "teacher_lr": 1e-4}  # the full run's teacher and validation rows
    teacher_path = teacher_cache_path(settings)
    paths = {"teacher": teacher_path, **{s: os.path.join(SUITE, s) for s in args.students}}
    missing = [p for p in paths.values() if not os.path.isfile(os.path.join(p, "config.json"))]
    if missing:
        raise SystemExit(f"missing {missing}: run `python benchmarks/run_suite.py` first")
    prepare_sst2(args.data_dir, settings, THREADS)
    batches = eval_batches(settings["splits"]["validation"], settings["collator"])
    work = os.path.join(HERE, "cache", "onnx_attention_export")
    files = {name: export_graphs(name, path, work, name == "teacher") for name, path in paths.items()}
    timed = {(name, graph): file for name, graphs in files.items() for graph, file in graphs.items()}
    timed[("teacher", "fp32 PyTorch")] = load_saved(teacher_path)
    order = list(timed)
    passes = [
        interleaved_latency({i: timed[key] for i, key in enumerate(order)}, REPEATS, THREADS)
        for _ in range(args.rounds)
    ]
    median = {key: {b: statistics.median(p[i][b] for p in passes) for b in REPEATS} for i, key in enumerate(order)}
    rows = []
    for name, graphs in files.items():
        for graph, file in graphs.items():
            row = {"model": name, "graph": graph, "accuracy": onnx_accuracy(file, batches)}
            for b in REPEATS:
                row[f"ms_b{b}"] = median[(name, graph)][b]
                row[f"speedup_vs_fp32_b{b}"] = median[("teacher", "fp32 PyTorch")][b] / row[f"ms_b{b}"]
                row[f"speedup_vs_teacher_int8_same_graph_b{b}"] = median[("teacher", graph)][b] / row[f"ms_b{b}"]
                row[f"speedup_vs_teacher_int8_sdpa_b{b}"] = median[("teacher", "sdpa")][b] / row[f"ms_b{b}"]
            rows.append(row)
    fp32 = median[("teacher", "fp32 PyTorch")]
    print(f"\nfp32 teacher in PyTorch: {fp32[1]:.2f} ms (batch 1), {fp32[32]:.1f} ms (batch 32)")
    print(f"{'model':<26}{'graph':<26}{'acc %':>7}{'b1 ms':>8}{'b32 ms':>8}{'x fp32 b1/b32':>15}"
          f"{'x teacher int8 same graph':>27}{'x teacher int8 sdpa':>21}")  # fmt: skip
    for r in rows:
        ratios = [f"{r[f'{kind}_b1']:.2f} / {r[f'{kind}_b32']:.2f}" for kind in RATIOS]
        print(f"{r['model']:<26}{r['graph']:<26}{100 * r['accuracy']:>7.2f}{r['ms_b1']:>8.2f}{r['ms_b32']:>8.1f}"
              f"{ratios[0]:>15}{ratios[1]:>27}{ratios[2]:>21}")  # fmt: skip
    header = run_header("python benchmarks/onnx_attention_export.py --students " + " ".join(args.students))
    write_json(args.output, {**header, "rounds": args.rounds, "fp32_teacher_ms": fp32, "rows": rows})


if __name__ == "__main__":
    main()
