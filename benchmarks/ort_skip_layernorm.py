"""
Does ONNX Runtime's SkipLayerNormalization fusion make our models faster or slower on this CPU? Both graphs of the
same models, timed side by side in one run.

ONNX Runtime's `ORT_ENABLE_ALL` graph optimization replaces each residual `Add` (+ bias `Add`) followed by
`LayerNormalization` with one fused `SkipLayerNormalization` node. On an Intel Xeon (AVX-512) with onnxruntime 1.32
that fused kernel took several times the time of the nodes it replaced, so `hf_compress.onnx_session` leaves that one
fusion out (`SLOW_FUSIONS`). This script measures it again, on whatever machine runs it:

- `micro`: one residual block's `Add + Add + LayerNormalization` over (batch, 64, 384) floats, fused and not, at 1 and
  2 threads (medians of interleaved repeats);
- `models`: the suite's cached teacher (fp32 ONNX and ONNX Runtime's dynamic int8) and its cached int8 students, each
  in both graphs, timed round-robin (`quantization_sst2.interleaved_latency`, 2 threads, sequence length 64),
  with the student's speedup over the int8 teacher under each graph.

Run (after `python benchmarks/run_suite.py ...` has left ONNX files in `benchmarks/cache/suite/`):

    python benchmarks/ort_skip_layernorm.py

Prints a table and writes `benchmarks/results/ort_skip_layernorm.json`.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from latency_method import HERE, SUITE  # noqa: E402
from quantization_sst2 import THREADS, interleaved_latency, latency_inputs, run_header  # noqa: E402
from results_io import write_json  # noqa: E402

from hf_compress.export.check import SLOW_FUSIONS, onnx_session  # noqa: E402


TEACHERS = {
    "teacher fp32 (ONNX)": os.path.join(SUITE, "teacher_onnx", "model.onnx"),
    "teacher ORT int8": os.path.join(SUITE, "teacher_onnx", "ort_dynamic_int8.onnx"),
}
GRAPHS = {"all fusions": (), "without SkipLayerNorm fusion": SLOW_FUSIONS}
REPEATS = {1: 30, 32: 7}
HIDDEN, SEQUENCE = 384, 64


def residual_block_graph() -> bytes:
    """`LayerNormalization(x + bias + y)` over the last axis (`HIDDEN`), serialized: the pattern the fusion matches."""
    import onnx
    from onnx import TensorProto, helper

    def vector(name: str, value: float):
        return helper.make_tensor(name, TensorProto.FLOAT, [HIDDEN], np.full(HIDDEN, value, np.float32))

    shape = ["batch", SEQUENCE, HIDDEN]
    nodes = [
        helper.make_node("Add", ["x", "bias"], ["biased"]),
        helper.make_node("Add", ["biased", "y"], ["summed"]),
        helper.make_node("LayerNormalization", ["summed", "gamma", "beta"], ["out"], axis=-1, epsilon=1e-12),
    ]
    graph = helper.make_graph(
        nodes,
        "residual_block",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("x", "y")],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)],
        [vector("bias", 0.1), vector("gamma", 1.0), vector("beta", 0.0)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def micro(repeats: int = 200, rounds: int = 5) -> list[dict]:
    """Microseconds per call of the residual block, fused and not, for batch 1 / 32 at 1 / 2 threads."""
    graph, rows = residual_block_graph(), []
    for batch in (1, 32):
        rng = np.random.default_rng(batch)
        feed = {n: rng.standard_normal((batch, SEQUENCE, HIDDEN), dtype=np.float32) for n in ("x", "y")}
        for threads in (1, 2):
            sessions = {name: onnx_session(graph, threads, disabled) for name, disabled in GRAPHS.items()}
            times = {name: [] for name in sessions}
            for _ in range(rounds):  # alternate the two graphs so load changes hit both
                for name, session in sessions.items():
                    for _ in range(20):
                        session.run(None, feed)
                    calls = []
                    for _ in range(repeats):
                        start = time.perf_counter()
                        session.run(None, feed)
                        calls.append(time.perf_counter() - start)
                    times[name].append(statistics.median(calls) * 1e6)
            row = {"batch": batch, "threads": threads}
            row.update({f"us_{name}": statistics.median(t) for name, t in times.items()})
            row["fused_over_unfused"] = row["us_all fusions"] / row["us_without SkipLayerNorm fusion"]
            rows.append(row)
    return rows


def session_runner(model: tuple[str, tuple[str, ...]], batch_size: int, threads: int):
    """`interleaved_latency`'s runner for a `(path, disabled_optimizers)` pair."""
    path, disabled = model
    session = onnx_session(path, threads=threads, disabled_optimizers=disabled)
    inputs = latency_inputs(batch_size)
    feed = {i.name: inputs[i.name].numpy() for i in session.get_inputs()}
    return lambda: session.run(None, feed)


def students() -> dict[str, str]:
    """The int8 ONNX students the suite left in its cache, by variant key."""
    if not os.path.isdir(SUITE):
        return {}
    found = {}
    for entry in sorted(os.listdir(SUITE)):
        path = os.path.join(SUITE, entry, "model_int8.onnx")
        if entry.endswith("_onnx") and entry != "teacher_onnx" and os.path.isfile(path):
            found[entry.removesuffix("_onnx")] = path
    return found


def models_table(paths: dict[str, str], rounds: int) -> list[dict]:
    """Latency of every model in both graphs (median of `rounds` round-robin passes) and the int8 speedups."""
    timed = {(name, graph): (path, disabled) for name, path in paths.items() for graph, disabled in GRAPHS.items()}
    passes = [interleaved_latency(timed, REPEATS, THREADS, make=session_runner) for _ in range(rounds)]
    median = {key: {b: statistics.median(p[key][b] for p in passes) for b in REPEATS} for key in timed}
    rows = []
    for name in paths:
        row = {"model": name}
        for graph in GRAPHS:
            for b in REPEATS:
                row[f"ms_b{b}_{graph}"] = median[(name, graph)][b]
                row[f"speedup_vs_ort_int8_b{b}_{graph}"] = (
                    median[("teacher ORT int8", graph)][b] / median[(name, graph)][b]
                )
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="Round-robin passes over the models (median taken).")
    parser.add_argument("--output", default=os.path.join(HERE, "results", "ort_skip_layernorm.json"))
    args = parser.parse_args()
    missing = [path for path in TEACHERS.values() if not os.path.isfile(path)]
    if missing:
        raise SystemExit(f"missing {missing}: run `python benchmarks/run_suite.py` first")
    micro_rows = micro()
    print(f"\n{'batch':>5}{'threads':>8}{'fused us':>10}{'Add+LN us':>11}{'fused / unfused':>17}")
    for row in micro_rows:
        print(f"{row['batch']:>5}{row['threads']:>8}{row['us_all fusions']:>10.0f}"
              f"{row['us_without SkipLayerNorm fusion']:>11.0f}{row['fused_over_unfused']:>17.2f}")  # fmt: skip

    model_rows = models_table({**TEACHERS, **students()}, args.rounds)
    fused, unfused = GRAPHS
    print(f"\n{'model':<40}{'b1 fused':>9}{'b1 not':>8}{'b32 fused':>10}{'b32 not':>9}"
          f"{'x ORT int8 b1 fused/not':>25}{'x ORT int8 b32 fused/not':>26}")  # fmt: skip
    for row in model_rows:
        print(
            f"{row['model']:<40}{row[f'ms_b1_{fused}']:>9.2f}{row[f'ms_b1_{unfused}']:>8.2f}"
            f"{row[f'ms_b32_{fused}']:>10.1f}{row[f'ms_b32_{unfused}']:>9.1f}"
            f"{row[f'speedup_vs_ort_int8_b1_{fused}']:>13.2f} / {row[f'speedup_vs_ort_int8_b1_{unfused}']:<9.2f}"
            f"{row[f'speedup_vs_ort_int8_b32_{fused}']:>14.2f} / {row[f'speedup_vs_ort_int8_b32_{unfused}']:<9.2f}"
        )
    payload = {
        **run_header("python benchmarks/ort_skip_layernorm.py"),
        "rounds": args.rounds,
        "micro": micro_rows,
        "models": model_rows,
    }
    write_json(args.output, payload)


if __name__ == "__main__":
    main()
