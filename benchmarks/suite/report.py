"""Aggregate the per-seed results, check the targets, and write the JSON, the plots and `BENCHMARKS.md`."""

import math
import os
import re
import statistics

from .named_runs import named_runs_markdown


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def aggregate(runs: list[dict], teacher: dict, timed: dict) -> list[dict]:
    """
    One row per variant: accuracy mean/std over seeds (in points vs the teacher too), the architecture columns of
    its lowest seed (FLOPs, params, bytes) and the latency/export columns measured for the variant's timed model.

    Args:
        runs (`list[dict]`): per (variant, seed) results with `key`, `label`, `family`, `distill`, `seed`,
            `accuracy`, `compress_s` and the `measure_model` columns.
        teacher (`dict`): the teacher row (`accuracy`, `latency_ms_b1`, `latency_ms_b32`, `safetensors_bytes`).
        timed (`dict`): key -> export/latency columns of the variant's model of the run's first seed.
    """
    rows = []
    for key in dict.fromkeys(run["key"] for run in runs):
        seeds = sorted((run for run in runs if run["key"] == key), key=lambda run: run["seed"])
        first = seeds[0]
        accuracy, spread = mean_std([run["accuracy"] for run in seeds])
        row = {k: first[k] for k in ("key", "label", "family", "distill", "order")}
        row.update(
            seeds=[run["seed"] for run in seeds],
            accuracies=[run["accuracy"] for run in seeds],
            accuracy_mean=accuracy,
            accuracy_std=spread,
            delta_points=100 * (accuracy - teacher["accuracy"]),
            compress_s=statistics.fmean(run["compress_s"] for run in seeds),
        )
        for column in (
            "gflops",
            "flops_removed",
            "params_m",
            "nonzero_params_m",
            "safetensors_bytes",
            "shrinks",
            "steps",
        ):
            row[column] = first.get(column)
        row.update(timed.get(key, {}))
        add_ratios(row, teacher)
        rows.append(row)
    return rows


REFERENCES = {"fp32": "teacher", "ort_int8": "ort_int8"}  # speedup column suffix -> the model timed as reference
LEGEND_ROWS = 30  # entries per legend column in the plots


def latency_columns(rounds: list[dict], teacher: dict, timed: dict) -> None:
    """
    Fill the latency columns from rounds of interleaved timing (each round: model -> batch size -> median ms).
    A latency is the median of its rounds' medians; a speedup is taken within each round (both models timed side by
    side, ~1 min from the next round) and `speedup_b*_vs_*_rounds` keeps all of them, so the reported
    speedup is the median ratio and its spread over rounds is on record.
    """
    for batch in (1, 32):
        teacher[f"latency_ms_b{batch}"] = statistics.median(r["teacher"][batch] for r in rounds)
        teacher[f"ort_int8_latency_ms_b{batch}"] = statistics.median(r["ort_int8"][batch] for r in rounds)
        for key, entry in timed.items():
            entry[f"latency_ms_b{batch}"] = statistics.median(r[key][batch] for r in rounds)
            for suffix, reference in REFERENCES.items():
                entry[f"speedup_b{batch}_vs_{suffix}_rounds"] = [r[reference][batch] / r[key][batch] for r in rounds]


def add_ratios(row: dict, teacher: dict) -> None:
    """
    Speedups vs the fp32 PyTorch teacher and the ORT int8 teacher (the median of per-round ratios where the rounds
    are recorded, else the ratio of latencies), size ratio vs the fp32 teacher's safetensors.
    """
    for batch in ("b1", "b32"):
        latency = row.get(f"latency_ms_{batch}")
        if not latency:
            continue
        for suffix, reference in (("fp32", "latency_ms"), ("ort_int8", "ort_int8_latency_ms")):
            per_round = row.get(f"speedup_{batch}_vs_{suffix}_rounds")
            ratio = statistics.median(per_round) if per_round else teacher[f"{reference}_{batch}"] / latency
            row[f"speedup_{batch}_vs_{suffix}"] = ratio
    deployed = row.get("onnx_bytes") or (row.get("latency_ms_b1") and row.get("safetensors_bytes"))
    if deployed:
        row["smaller_x"] = teacher["safetensors_bytes"] / deployed


def spread_over_rounds(ratios: list[float] | None) -> str:
    """` (rounds: 5.52-8.16x, n=5)`, or nothing for a single round or none recorded."""
    if not ratios or len(ratios) < 2:
        return ""
    return f" (rounds: {min(ratios):.2f}-{max(ratios):.2f}x, n={len(ratios)})"


# a distilled row's key: `<stem>_kd`, or `<stem>_kd_<tag>` for a sibling that changes one setting (`_lr1e-4`,
# `_labelscores`, `_hidden3`)
DISTILLED_KEY = re.compile(r"^(?P<stem>.+)_kd(_[A-Za-z0-9.-]+)?$")


def labels_only_twins(kd: dict, rows: list[dict]) -> list[dict]:
    """
    The labels-only rows of the distilled row `kd` (`<stem>_kd` or `<stem>_kd_<tag>`): `<stem>_nokd` and
    `<stem>_nokd_lr*`, in `rows`' order (none when the key is not a distilled one).
    """
    match = DISTILLED_KEY.match(kd["key"])
    if match is None:
        return []
    stem = match["stem"]
    return [r for r in rows if r["key"] == f"{stem}_nokd" or r["key"].startswith(f"{stem}_nokd_lr")]


def stronger_labels_only_twin(kd: dict, rows: list[dict]) -> dict | None:
    """The labels-only twin of `kd` in `rows` with the higher mean accuracy (`None` without twins)."""
    return stronger_run(labels_only_twins(kd, rows))


def stronger_run(runs: list[dict]) -> dict | None:
    """The row of `runs` with the higher mean accuracy (`None` when empty): what the KD check compares against."""
    return max(runs, key=lambda r: r["accuracy_mean"], default=None)


def check_targets(rows: list[dict], teacher: dict, total_s: float, quick: bool, whole: bool = True) -> list[dict]:
    """
    The issue's targets, each with the measured value and PASS/FAIL (no tolerance beyond the stated ones).
    `total_s` is the wall time of a fresh run (a resumed run adds the training time of the students it reused).
    `whole=False` (a run of named variants) leaves out the run-time target: it is about the whole suite, and the
    named variants' time says nothing about it.
    """
    targets = []

    def add(name: str, passed: bool, measured: str) -> None:
        targets.append({"target": name, "passed": bool(passed), "measured": measured})

    # every distilled paper-pipeline recipe at >= 80% FLOPs removed is checked on its own (the label names it)
    for row in [r for r in rows if r["family"] == "paper" and r["distill"] and r["flops_removed"] >= 0.795]:
        flops, label = (0.9, ">= 90% (stretch)") if row["flops_removed"] >= 0.895 else (0.8, ">= 80%")
        ok = row["delta_points"] >= -1.0
        add(f"{label} FLOPs removed within 1.0 pt of the teacher ({row['label']})", ok,
            f"{row['flops_removed']:.1%} FLOPs removed, {row['delta_points']:+.2f} pt "
            f"(+/- {100 * row['accuracy_std']:.2f})")  # fmt: skip
        if flops == 0.9 or not row.get("latency_ms_b1"):
            continue
        for batch in ("b1", "b32"):
            for suffix, name, floor in (("ort_int8", "the ORT int8 teacher", 2.0), ("fp32", "the fp32 PyTorch teacher", 6.0)):  # fmt: skip
                speedup = row[f"speedup_{batch}_vs_{suffix}"]
                add(f"{row['label']}: >= {floor:g}x faster than {name}, {batch}", speedup >= floor,
                    f"{speedup:.2f}x{spread_over_rounds(row.get(f'speedup_{batch}_vs_{suffix}_rounds'))}")  # fmt: skip
        add(f"{row['label']}: >= 6x smaller on disk than the fp32 teacher", row["smaller_x"] >= 6.0,
            f"{row['smaller_x']:.2f}x ({row['onnx_bytes'] / 1e6:.1f} MB int8 ONNX vs "
            f"{teacher['safetensors_bytes'] / 1e6:.1f} MB)")  # fmt: skip
    # each distilled run (a second learning rate is its own row) against the stronger of its labels-only twins
    for kd in [r for r in rows if r["distill"]]:
        baselines = labels_only_twins(kd, rows)
        nokd = stronger_run(baselines)
        if nokd is None:
            continue
        gap = -nokd["delta_points"]
        recovered = kd["delta_points"] - nokd["delta_points"]
        ok = gap <= 0 or recovered >= 0.5 * gap
        share = f"{recovered / gap:.0%} of it" if gap > 0 else "no gap to recover"
        against = f" (vs the better no-KD run, {nokd['key']})" if len(baselines) > 1 else ""
        add(f"distillation recovers >= half the gap: {kd['label'].replace(' + KD', '')}", ok,
            f"gap without KD {gap:.2f} pt, KD recovers {recovered:+.2f} pt ({share}){against}")  # fmt: skip
    if not whole:
        return targets
    limit = 15 * 60 if quick else 3 * 3600
    add(f"{'--quick' if quick else 'full'} run under {limit // 60} min", total_s < limit, f"{total_s / 60:.1f} min")
    return targets


def plot(rows: list[dict], teacher: dict, directory: str) -> dict[str, str]:
    """Write `accuracy_vs_flops.png` and `latency_vs_accuracy.png` into `directory`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(directory, exist_ok=True)
    paths = {}
    figure, axis = plt.subplots(figsize=(10, 4.5))
    for row in rows:
        marker = "o" if row["distill"] else "s"
        axis.errorbar(100 * row["flops_removed"], 100 * row["accuracy_mean"], yerr=100 * row["accuracy_std"],
                      fmt=marker, mfc=None if row["distill"] else "none", capsize=3, label=row["label"])  # fmt: skip
    axis.axhline(100 * teacher["accuracy"], color="k", lw=1, label="fp32 teacher")
    axis.axhline(100 * teacher["accuracy"] - 1, color="k", lw=1, ls="--", label="teacher - 1 pt")
    axis.set(xlabel="forward FLOPs removed (%), seq 64", ylabel="SST-2 validation accuracy (%)",
             title="Accuracy vs FLOPs removed (mean +/- std over seeds)")  # fmt: skip
    paths["accuracy_vs_flops"] = _save(figure, axis, os.path.join(directory, "accuracy_vs_flops.png"))

    figure, axis = plt.subplots(figsize=(10, 4.5))
    points = [("fp32 teacher (PyTorch)", teacher["latency_ms_b32"], teacher["accuracy"]),
              ("teacher, ORT dynamic int8", teacher["ort_int8_latency_ms_b32"], teacher["ort_int8_accuracy"])]  # fmt: skip
    points += [(r["label"], r["latency_ms_b32"], r["accuracy_mean"]) for r in rows if r.get("latency_ms_b32")]
    for label, latency, accuracy in points:
        axis.scatter(latency, 100 * accuracy, label=label)
    axis.set_xscale("log")
    axis.set(xlabel="latency, batch 32 x seq 64, 2 threads (ms, log)", ylabel="SST-2 validation accuracy (%)",
             title="Latency vs accuracy")  # fmt: skip
    paths["latency_vs_accuracy"] = _save(figure, axis, os.path.join(directory, "latency_vs_accuracy.png"))
    return paths


def _save(figure, axis, path: str) -> str:
    """
    Legend to the right of the axes (a column per `LEGEND_ROWS` entries, so a `--quick` run's every-variant legend
    fits), write the PNG with the legend inside its bounds, free the figure.
    """
    import matplotlib.pyplot as plt

    figure.tight_layout()  # lay out the axes alone: the legend grows the saved image instead of squeezing them
    columns = max(1, math.ceil(len(axis.get_legend_handles_labels()[0]) / LEGEND_ROWS))
    axis.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=columns)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


OLD_LATENCY_METHOD = "every model timed once per round, on the first call after switching from another model"
LATENCY_METHOD = (
    "every model timed once per round, after running untimed for 100 ms so that the previous model's spinning "
    "worker threads are gone; `benchmarks/latency_method.py` compares this with timing each model alone; ONNX "
    "models, the ORT int8 teacher included, run with every ONNX Runtime graph optimization but the "
    "SkipLayerNormalization fusion, slower on the CPU measured (`hf_compress.onnx_session`, "
    "`benchmarks/ort_skip_layernorm.py`)"
)


def rounds_text(rounds: int) -> str:
    if rounds < 2:
        return ""
    return (
        f", in {rounds} rounds one after another: a latency is the median of the rounds' medians, a speedup the median"
        " of the ratios taken within each round (the targets give their range over the rounds)"
    )


def markdown(
    payload: dict, plot_paths: dict[str, str], root: str, notes: str = "", named_runs: list[dict] | None = None
) -> str:
    """
    `BENCHMARKS.md`: how it was run, the targets, the main table, the order ablation, the export check, the targets
    of `named_runs` (`named_runs.named_run_targets`, linked relative to `root`) and the plots.
    """
    teacher, rows, env = payload["teacher"], payload["rows"], payload["environment"]
    first_seed = payload["seeds"][0]  # the seed whose models were exported and timed
    reused = []
    if payload.get("reused_runs"):
        reused.append(f"resumed {payload['reused_runs']} finished student runs from the work directory's ledger")
    if payload.get("teacher_was_cached") and payload.get("teacher_train_s"):
        reused.append(f"took the teacher from the cache (its fine-tuning: {payload['teacher_train_s'] / 60:.1f} min)")
    resumed = (
        f"; it {' and '.join(reused)}, so a fresh run takes ~{payload['fresh_run_s'] / 60:.1f} min" if reused else ""
    )
    lines = [
        "# Benchmarks: SST-2, MiniLM-L6",
        "",
        f"Generated by `{payload['command']}` on {payload['date']} ({payload['total_s'] / 60:.1f} min{resumed}).",
        "",
        *([payload["note"], ""] if payload.get("note") else []),
        f"Machine: {env['cpu']} ({env['cpu_count']} cores), torch {env['torch']}, transformers "
        f"{env['transformers']}, onnxruntime {env['onnxruntime']}, Python {env['python']}. Latency: medians of "
        f"interleaved repeats ({payload.get('latency_method', OLD_LATENCY_METHOD)}), {env['latency_threads']} "
        f"threads, sequence length 64{rounds_text(payload.get('settings', {}).get('latency_rounds', 1))}; the JSON is "
        f"`{payload['json']}`.",
        "",
        f"Setup: {payload['setup']}",
        "",
        "## Targets",
        "",
        "| target | result | measured |",
        "|---|---|---|",
    ]
    lines += [
        f"| {t['target']} | {'PASS' if t['passed'] else '**FAIL**'} | {t['measured']} |" for t in payload["targets"]
    ]
    lines += [
        "",
        "## Results",
        "",
        "Accuracy: mean +/- std over seeds " + ", ".join(map(str, payload["seeds"])) + " (one point is ~9 of the "
        f"{payload['validation_rows']} validation rows). Size and latency are those of the deployable artefact: the "
        "int8 ONNX export for quantized models (int8 MatMuls and embedding tables), measured once per architecture (the "
        f"distilled model of seed {first_seed}, the run's first), and the PyTorch model for the fp32 baseline. "
        '"MB st" is the `save_compressed` safetensors directory (PyTorch format; embeddings stay fp32 there).',
        "",
        "| model | acc % | d pt | FLOPs removed | GFLOPs | params M | non-zero M | MB st | MB deployed | ms b1 | ms b32 | x fp32 b1/b32 "
        "| x ORT-int8 b1/b32 | smaller | compress s | steps |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| fp32 teacher (PyTorch) | {100 * teacher['accuracy']:.2f} | 0 | 0% | {teacher['gflops']:.3f} | "
        f"{teacher['params_m']:.2f} | {teacher['params_m']:.2f} | {teacher['safetensors_bytes'] / 1e6:.1f} | "
        f"{teacher['safetensors_bytes'] / 1e6:.1f} | "
        f"{teacher['latency_ms_b1']:.2f} | {teacher['latency_ms_b32']:.1f} | 1.00 / 1.00 | | 1.0x | | |",
        f"| teacher, ORT dynamic int8 (what users have) | {100 * teacher['ort_int8_accuracy']:.2f} | "
        f"{100 * (teacher['ort_int8_accuracy'] - teacher['accuracy']):+.2f} | 0% | | | | | "
        f"{teacher['ort_int8_bytes'] / 1e6:.1f} | {teacher['ort_int8_latency_ms_b1']:.2f} | "
        f"{teacher['ort_int8_latency_ms_b32']:.1f} | "
        f"{teacher['latency_ms_b1'] / teacher['ort_int8_latency_ms_b1']:.2f} / "
        f"{teacher['latency_ms_b32'] / teacher['ort_int8_latency_ms_b32']:.2f} | 1.00 / 1.00 | "
        f"{teacher['safetensors_bytes'] / teacher['ort_int8_bytes']:.1f}x | | |",
    ]
    for row in [r for r in rows if r["family"] != "order"] + [r for r in rows if r["family"] == "order"]:
        deployed = row.get("onnx_bytes") or (row.get("latency_ms_b1") and row["safetensors_bytes"])
        flops = f"{row['flops_removed']:.1%}"
        if row["family"] == "order" and not row.get("shrinks"):
            flops = "80% (masked, not shrunk)"
        lines.append(
            f"| {row['label']} | {100 * row['accuracy_mean']:.2f} +/- {100 * row['accuracy_std']:.2f} | "
            f"{row['delta_points']:+.2f} | {flops} | {row['gflops']:.3f} | {row['params_m']:.2f} | "
            f"{row['nonzero_params_m']:.2f} | {row['safetensors_bytes'] / 1e6:.1f} | "
            f"{_fmt(deployed and deployed / 1e6, '.1f')} | {_fmt(row.get('latency_ms_b1'), '.2f')} | "
            f"{_fmt(row.get('latency_ms_b32'), '.1f')} | "
            f"{_fmt(row.get('speedup_b1_vs_fp32'), '.2f')} / {_fmt(row.get('speedup_b32_vs_fp32'), '.2f')} | "
            f"{_fmt(row.get('speedup_b1_vs_ort_int8'), '.2f')} / {_fmt(row.get('speedup_b32_vs_ort_int8'), '.2f')} | "
            f"{_fmt(row.get('smaller_x'), '.1f', '-')}{'x' if row.get('smaller_x') else ''} | {row['compress_s']:.0f} | "
            f"{_fmt(row.get('steps'), 'd')} |"
        )
    order = [r for r in rows if (r["family"] == "order" and r["distill"]) or r["key"] == "paper80_kd"]
    if order:
        lines += [
            "",
            "## Order ablation (-80% FLOPs, int8, with and without distillation)",
            "",
            "No KD: the better of the order's labels-only runs (its two learning rates).",
            "",
            "| order | steps | acc % | d pt | no KD acc % | no KD d pt |",
            "|---|---|---|---|---|---|",
        ]
        for row in order:
            name = payload["orders"][row["order"]]
            nokd = stronger_labels_only_twin(row, rows)
            without = (f"{100 * nokd['accuracy_mean']:.2f} +/- {100 * nokd['accuracy_std']:.2f} | "
                       f"{nokd['delta_points']:+.2f}" if nokd else "- | -")  # fmt: skip
            lines.append(f"| {name} | {_fmt(row.get('steps'), 'd')} | "
                         f"{100 * row['accuracy_mean']:.2f} +/- {100 * row['accuracy_std']:.2f} | "
                         f"{row['delta_points']:+.2f} | {without} |")  # fmt: skip
    exported = [r for r in rows if r.get("argmax_agreement") is not None]
    if exported:
        lines += ["", f"## Export check (seed {first_seed}: ONNX vs the PyTorch model it came from)", "",
                  "| model | ONNX acc % | argmax agreement | max abs logit diff |", "|---|---|---|---|"]  # fmt: skip
        lines += [f"| {r['label']} | {100 * r['onnx_accuracy']:.2f} | {r['argmax_agreement']:.4f} | "
                  f"{r['max_abs_logit_diff']:.4f} |" for r in exported]  # fmt: skip
    lines += named_runs_markdown(named_runs or [], root)
    lines += ["", "## Plots", ""]
    lines += [f"![{name}]({os.path.relpath(path, root)})" for name, path in plot_paths.items()]
    if notes:
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"
