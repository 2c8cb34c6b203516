"""
The hf_compress benchmark suite on SST-2 (one command): a MiniLM-L6 teacher fine-tuned on SST-2, every compressed
variant with and without distillation over several seeds, and the baselines a user has without hf_compress (the fp32
teacher in PyTorch, the teacher quantized by ONNX Runtime's own dynamic int8, torch.nn.utils.prune + fine-tuning).

Writes `benchmarks/results/suite_sst2.json`, the plots in `benchmarks/results/plots/` and `BENCHMARKS.md`
(`--quick`: every variant on a subsample, one seed, in minutes, written under `benchmarks/results/quick/`).
Interrupted runs resume: finished (variant, seed) models in the work directory are reused when the settings match.

Usage: python benchmarks/run_suite.py [--quick] [--seeds 0 1 2] [--steps 100] [--variants paper80_kd ...]
       python benchmarks/run_suite.py --report-only benchmarks/results/suite_sst2.json   # rewrite BENCHMARKS.md
"""

import argparse
import datetime
import json
import os
import sys
import time


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks.pruning_sst2 import accuracy  # noqa: E402
from benchmarks.quantization_sst2 import (  # noqa: E402
    CACHE,
    environment,
    eval_batches,
    file_bytes,
    interleaved_latency,
    onnx_accuracy,
    ort_dynamic_int8,
    prepare_sst2,
    teacher_dir,
    teacher_is_cached,
    teacher_train_seconds,
)
from benchmarks.results_io import repo_relative, write_json  # noqa: E402
from benchmarks.suite.baseline_torch_prune import compress_torch_prune  # noqa: E402
from benchmarks.suite.compress import SAMPLINGS, TrainingPlan, compress  # noqa: E402
from benchmarks.suite.ledger import canonical, run_identity  # noqa: E402
from benchmarks.suite.measure import export_and_check, load_saved, measure_model  # noqa: E402
from benchmarks.suite.named_runs import named_run_targets  # noqa: E402
from benchmarks.suite.report import (  # noqa: E402
    LATENCY_METHOD,
    aggregate,
    check_targets,
    latency_columns,
    markdown,
    plot,
)
from benchmarks.suite.variants import ORDERS, select  # noqa: E402
from hf_compress import DistillationConfig, compression_report, export_onnx  # noqa: E402
from hf_compress.distillation.teacher_cache import teacher_fingerprint  # noqa: E402


# students batch rows of similar length: SST-2's random batches of 32 are ~2/3 padding, and grouping trains the same
# steps 2.3-2.7x faster; "length_buckets" puts those batches in random order, where the Trainer's "group_by_length"
# goes from the longest rows to the shortest in every 50 batches and cost the 100-step students 0.3-3.6 pt
# (benchmarks/results/side_length_buckets/, NOTES.md)
FULL = {"train_rows": 67349, "student_rows": 0, "dev_rows": 0, "validation_rows": None, "steps": 100,
        "seeds": [0, 1, 2], "latency_repeats": {1: 30, 32: 7}, "latency_rounds": 5,
        "sampling": "length_buckets"}  # fmt: skip
# --quick only shows that every variant runs (its 256-row teacher is at chance, so seeds add no spread): one seed, the
# long recipes stop at 8 steps and one-shot pruning and block dropping rank on 1 calibration batch instead of 16.
# Fresh runs: 22.6 min with 64 steps, 16 batches and 2 seeds on a 2-core Intel Xeon (2026-12-02); 21.8 min with 8
# steps, 4 batches and 2 seeds on a 2-core AMD EPYC, where ranking was ~half of a run's time (2026-12-06)
QUICK = {"train_rows": 256, "student_rows": 0, "dev_rows": 0, "validation_rows": 200, "steps": 4, "max_steps": 8,
         "calibration_batches": 1, "seeds": [0], "latency_repeats": {1: 5, 32: 2}, "latency_rounds": 2,
         "sampling": "length_buckets"}  # fmt: skip
THREADS = 2


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="Every variant on a subsample, in minutes.")
    parser.add_argument("--data-dir", default=os.path.join(REPO, "..", "shared", "data", "sst2"))
    seeds_help = f"Student seeds (default {FULL['seeds']}; --quick: {QUICK['seeds']})."
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help=seeds_help)
    parser.add_argument("--steps", type=int, default=None, help="Optimizer steps (batch 32) per student.")
    parser.add_argument("--variants", nargs="+", default=None, help="Variant keys (default: all).")
    parser.add_argument("--teacher-lr", type=float, default=1e-4)
    parser.add_argument(
        "--train-rows", type=int, default=None,
        help="SST-2 training rows of the teacher (and students); not the default: its own cache and results dirs.",
    )  # fmt: skip
    parser.add_argument("--sampling", default=None, choices=SAMPLINGS,
                        help="How students batch their rows (TrainingPlan; default length_buckets).")  # fmt: skip
    parser.add_argument("--train-threads", type=int, default=THREADS, help="torch threads while training.")
    parser.add_argument("--output-dir", default=None, help="Results directory (default benchmarks/results[/quick]).")
    parser.add_argument("--markdown", default=None, help="Markdown path (default BENCHMARKS.md; --quick: results).")
    parser.add_argument("--report-only", default=None, metavar="JSON", help="Rewrite the markdown and plots of a run.")
    return parser.parse_args()


def settings_from(args: argparse.Namespace) -> dict:
    settings = dict(QUICK if args.quick else FULL)
    for key in ("seeds", "steps", "train_rows", "sampling"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    settings["teacher_lr"] = args.teacher_lr
    return settings


def work_dir(settings: dict, quick: bool) -> str:
    """The cache of a run's students: a teacher trained on other rows than the default gets its own directory."""
    work = os.path.join(CACHE, "suite_quick" if quick else "suite")
    if settings["train_rows"] != (QUICK if quick else FULL)["train_rows"]:
        work += f"_rows{settings['train_rows']}"
    return work


def measure_teacher(teacher_path: str, settings: dict, batches: list[dict]) -> tuple[dict, object, str]:
    """The fp32 teacher's accuracy/FLOPs/size, and its ONNX Runtime dynamic int8 export (the users' baseline)."""
    teacher = load_saved(teacher_path)
    report = compression_report(teacher, sequence_length=64, save_dir=teacher_path)
    row = {
        "path": teacher_path,
        "accuracy": accuracy(teacher, settings["splits"]["validation"], settings["collator"]),
        "gflops": report.flops / 1e9,
        "params_m": report.params / 1e6,
        "safetensors_bytes": file_bytes(teacher_path),
    }
    onnx_dir = os.path.join(settings["work"], "teacher_onnx")
    fp32 = export_onnx(teacher, onnx_dir, quantize=None)["onnx"]
    ort = ort_dynamic_int8(fp32, os.path.join(onnx_dir, "ort_dynamic_int8.onnx"))
    row.update(ort_int8_accuracy=onnx_accuracy(ort, batches), ort_int8_bytes=file_bytes(ort), ort_int8_path=ort)
    return row, teacher, ort


def run_variants(variants, settings: dict, plan: TrainingPlan, teacher) -> list[dict]:
    """Train (or reuse) every (variant, seed) and measure it; seed-major so a partial run covers every variant."""
    ledger_path = os.path.join(settings["work"], "runs.jsonl")
    done = {}
    if os.path.isfile(ledger_path):
        with open(ledger_path, encoding="utf-8") as handle:
            for line in handle:
                run = json.loads(line)
                done[run_identity(run)] = run
    runs = []
    for seed in settings["seeds"]:
        for variant in variants:
            distillation = variant.distillation if variant.distill else None
            recipe = {"key": variant.key, "seed": seed, "steps": plan.steps_for(variant), "distill": variant.distill,
                      "student_rows": settings["train_rows"], "distillation": distillation,
                      "learning_rate": variant.learning_rate, "sampling": plan.sampling,
                      "refit": variant.refit, "teacher": settings.get("teacher_fingerprint"),
                      "start_from": variant.start_from, "calibration_batches": plan.calibration_batches,
                      "augmentation": variant.augmentation}  # fmt: skip
            ident = run_identity(recipe)
            if ident in done and os.path.isdir(done[ident]["path"]):
                runs.append({**done[ident], "reused": True})
                continue
            builder = compress_torch_prune if variant.family == "baseline" else compress
            path, seconds = builder(variant, seed, plan)
            if variant.start_from is not None:  # the whole compression: the source's and this stage's
                seconds += next(r["compress_s"] for r in runs if r["key"] == variant.start_from and r["seed"] == seed)
            run = {**recipe, "label": variant.label, "family": variant.family, "order": variant.order,
                   "shrinks": variant.shrinks, "path": path, "compress_s": seconds}  # fmt: skip
            run.update(measure_model(path, teacher, settings["splits"]["validation"], settings["collator"]))
            print(json.dumps({k: v for k, v in run.items() if k != "path"}), flush=True)
            with open(ledger_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(run) + "\n")
            runs.append(run)
    return runs


def export_timed(variants, runs: list[dict], settings: dict, batches: list[dict]) -> dict:
    """
    The model of the run's first seed for every timed variant: its int8 ONNX export and checks (the PyTorch model
    for the fp32 baseline).
    """
    timed = {}
    first_seed = settings["seeds"][0]
    for variant in [v for v in variants if v.timed]:
        run = next(r for r in runs if r["key"] == variant.key and r["seed"] == first_seed)
        if variant.quantization is None:
            timed[variant.key] = {"runtime": "pytorch fp32", "latency_target": run["path"]}
            continue
        exported = export_and_check(run["path"], os.path.join(settings["work"], f"{variant.key}_onnx"), batches)
        timed[variant.key] = {"runtime": "onnxruntime int8", "latency_target": exported["onnx"], **exported}
    return timed


def measure_latency(teacher, ort_path: str, timed: dict, settings: dict) -> list[dict[str, dict[int, float]]]:
    """
    `latency_rounds` rounds of interleaved medians of every timed model, the fp32 teacher and the ORT int8 teacher,
    side by side. One round is not enough on this machine: the int8 ONNX models switch between two speeds ~1.5x
    apart for minutes at a time (at batch 32: 35 or 52 ms for -80%, 108 or 135 ms for the ORT int8 teacher) while the
    fp32 teacher moves less, so a single round's speedup vs fp32 lands anywhere between 6x and 9x.
    """
    models = {"teacher": teacher, "ort_int8": ort_path}
    for key, entry in timed.items():
        target = entry["latency_target"]
        models[key] = load_saved(target) if entry["runtime"].startswith("pytorch") else target
    rounds = []
    for index in range(settings["latency_rounds"]):
        rounds.append(interleaved_latency(models, settings["latency_repeats"], THREADS))
        print(json.dumps({"latency_round": index, **rounds[-1]}), flush=True)
    return rounds


def fresh_run_seconds(total_s: float, runs: list[dict], cached_teacher_s: float | None) -> float:
    """
    What a run from an empty cache would take: this run's wall time, plus the training time of every student it
    reused, plus `cached_teacher_s`, the fine-tuning time of a teacher that came from the cache (`0.0` when this run
    trained it; `None` when it was cached without a recorded time, which then is not counted).
    """
    reused = sum(run["compress_s"] for run in runs if run.get("reused"))
    return total_s + reused + (cached_teacher_s or 0.0)


def write_report(payload: dict, output_dir: str, md_path: str) -> dict[str, str]:
    """
    Plots + `BENCHMARKS.md`; the top-level one also lists the targets that only named runs of the same teacher
    measured, and gets `benchmarks/suite/NOTES.md`, the current findings, appended (a side run's or an archived run's
    report is only its own numbers).
    """
    with_notes = os.path.abspath(md_path) == os.path.join(REPO, "BENCHMARKS.md")
    plots = plot(payload["rows"], payload["teacher"], os.path.join(output_dir, "plots"))
    notes_path = os.path.join(REPO, "benchmarks", "suite", "NOTES.md")
    notes = ""
    if with_notes and os.path.isfile(notes_path):
        with open(notes_path, encoding="utf-8") as handle:
            notes = handle.read()
    named = named_run_targets(os.path.join(REPO, "benchmarks", "results"), payload) if with_notes else []
    with open(md_path, "w", encoding="utf-8") as handle:
        handle.write(markdown(payload, plots, os.path.dirname(os.path.abspath(md_path)), notes, named))
    return plots


def results_dir(work: str, quick: bool, named: list[str] | None) -> str:
    """
    Where a run's JSON and plots go: `benchmarks/results[/quick]`, in a subdirectory named after the work directory
    for a teacher on other rows and after the variants for a run of named variants, so that a side run never
    overwrites the full run's results.
    """
    parts = ["quick"] if quick else []
    if os.path.basename(work) not in ("suite", "suite_quick"):
        parts.append(os.path.basename(work))
    if named:
        parts.append("+".join(named))
    return os.path.join(REPO, "benchmarks", "results", *parts)


def default_markdown_path(json_path: str, quick: bool) -> str:
    """Only the default full run owns the top-level `BENCHMARKS.md`; `--quick` and side runs keep theirs by the JSON."""
    directory = os.path.dirname(os.path.abspath(json_path))
    if not quick and directory == os.path.join(REPO, "benchmarks", "results"):
        return os.path.join(REPO, "BENCHMARKS.md")
    return os.path.join(directory, "BENCHMARKS.md")


def report_only(json_path: str, markdown_path: str | None) -> None:
    with open(json_path, encoding="utf-8") as handle:
        payload = json.load(handle)
    quick = "--quick" in payload["command"]
    md_path = markdown_path or default_markdown_path(json_path, quick)
    write_report(payload, os.path.dirname(os.path.abspath(json_path)), md_path)
    print(f"wrote {md_path}")


def main() -> None:
    args = parse_args()
    if args.report_only:
        report_only(args.report_only, args.markdown)
        return
    wall = time.time()
    settings = settings_from(args)
    variants = select(args.variants, args.quick)
    base = prepare_sst2(args.data_dir, settings, args.train_threads)
    # as in the paper (and for a user with one dataset), students train on the rows the teacher was trained on
    settings["splits"]["student"] = settings["splits"]["teacher"]
    settings["work"] = work_dir(settings, args.quick)
    os.makedirs(settings["work"], exist_ok=True)
    batches = eval_batches(settings["splits"]["validation"], settings["collator"])

    teacher_was_cached = teacher_is_cached(settings)
    teacher_path = teacher_dir(base, settings)
    teacher_row, teacher, ort_path = measure_teacher(teacher_path, settings, batches)
    settings["teacher_fingerprint"] = teacher_fingerprint(teacher)[:16]
    print(json.dumps({k: v for k, v in teacher_row.items() if "path" not in k}), flush=True)
    plan = TrainingPlan(teacher_path, settings["splits"]["student"], settings["collator"], settings["steps"],
                        settings["work"], sampling=settings["sampling"], max_steps=settings.get("max_steps"),
                        calibration_batches=settings.get("calibration_batches", 16))  # fmt: skip
    runs = run_variants(variants, settings, plan, teacher)
    timed = export_timed(variants, runs, settings, batches)
    latency_rounds = measure_latency(teacher, ort_path, timed, settings)
    latency_columns(latency_rounds, teacher_row, timed)
    rows = aggregate(runs, teacher_row, timed)
    total_s = time.time() - wall
    teacher_train_s = teacher_train_seconds(teacher_path)
    fresh_run_s = fresh_run_seconds(total_s, runs, teacher_train_s if teacher_was_cached else 0.0)
    targets = check_targets(rows, teacher_row, fresh_run_s, args.quick, whole=args.variants is None)

    output_dir = args.output_dir or results_dir(settings["work"], args.quick, args.variants)
    json_path = os.path.join(output_dir, "suite_sst2.json")
    md_path = args.markdown or default_markdown_path(json_path, args.quick)
    public = {k: v for k, v in settings.items() if k not in ("collator", "splits")}
    public["latency_repeats"] = {str(k): v for k, v in settings["latency_repeats"].items()}
    payload = repo_relative(
        {
            "command": "python benchmarks/run_suite.py " + " ".join(sys.argv[1:]),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "environment": environment(latency_threads=THREADS),
            "settings": public,
            "setup": setup_text(settings, variants),
            "seeds": settings["seeds"],
            "validation_rows": len(settings["splits"]["validation"]),
            "orders": ORDERS,
            "latency_method": LATENCY_METHOD,
            "total_s": total_s,
            "fresh_run_s": fresh_run_s,
            "teacher_train_s": teacher_train_s,
            "teacher_was_cached": teacher_was_cached,
            "reused_runs": sum(1 for run in runs if run.get("reused")),
            "json": os.path.relpath(json_path, REPO),
            "teacher": teacher_row,
            "latency_by_round": latency_rounds,
            "runs": runs,
            "rows": rows,
            "targets": targets,
        }
    )
    write_json(json_path, payload)
    write_report(payload, output_dir, md_path)
    print()
    for target in targets:
        print(f"[{'PASS' if target['passed'] else 'FAIL'}] {target['target']}: {target['measured']}")
    print(f"\nwrote {json_path} and {md_path} ({total_s / 60:.1f} min)")


def describe_kd(distillation: dict) -> str:
    """The distillation loss of `DistillationConfig(**distillation)` in words, for the report's setup line."""
    config = DistillationConfig(**distillation)
    terms = [f"KL of T={config.temperature:g} softened logits (alpha {config.alpha:g})"]
    if config.hidden_loss_weight:
        terms.append(f"hidden-state MSE (weight {config.hidden_loss_weight:g})")
    if config.attention_loss_weight:
        terms.append(f"attention-map KL (weight {config.attention_loss_weight:g})")
    return " + ".join(terms)


def describe_recipes(variants) -> str:
    """Which distillation loss (against the frozen teacher) and peak learning rate each group of variants trains with."""
    groups: dict[tuple, list[str]] = {}
    for variant in variants:
        if variant.distill:
            groups.setdefault((canonical(variant.distillation), variant.learning_rate), []).append(variant.key)
    return "; ".join(
        f"KD = {describe_kd(json.loads(distillation))} against the frozen teacher, peak lr {lr:g} ({', '.join(keys)})"
        for (distillation, lr), keys in groups.items()
    )


SAMPLING_TEXT = {
    "random": "batches drawn at random",
    "group_by_length": "batches grouped by length (the Trainer's group_by_length: longest to shortest in each run "
    "of 50 batches)",
    "length_buckets": "batches of similar length in random order",
}


def setup_text(settings: dict, variants) -> str:
    return (
        f"teacher = the pretrained all-MiniLM-L6-v2 fine-tuned 1 epoch on {settings['train_rows']} SST-2 train rows "
        f"(lr {settings['teacher_lr']:g}); every student starts from it and trains {settings['steps']} steps of "
        f"batch 32 on the same rows (as in the paper: the user's one training set), "
        f"{SAMPLING_TEXT[settings['sampling']]}; {describe_recipes(variants)}; 'no KD' = the same run on the labels only. "
        "Structured variants are pruned one-shot (heads and neurons ranked by first-order Taylor importance, "
        "sum of (weight x gradient)^2 over 16 labelled batches) and physically shrunk before training (the paper's "
        "prune -> quantize -> distill); unstructured 90% is pruned gradually (cubic, target reached halfway) and "
        "2:4 at step 0 inside the run, int8 QAT starting when pruning ends."
    )


if __name__ == "__main__":
    main()
