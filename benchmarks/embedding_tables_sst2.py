"""
What low-bit embedding tables (`QuantizationConfig(embeddings=8|4)`) do to SST-2 students saved in PyTorch format:
bytes on disk of the `save_compressed` directory, validation accuracy, and PyTorch latency next to the fp32 teacher.

A MiniLM student whose Linear layers are int8 still keeps its 30,522 x 384 vocabulary table (11.7 M parameters, 47 MB
in fp32) unless the tables are quantized too; this takes each saved student, quantizes only its tables after training
(`quantize_(student, QuantizationConfig(mode="ptq", embeddings=bits))`, the Linear layers are already int8), saves and
reloads it (the logits must be identical), and measures all forms side by side. Run:

    python benchmarks/embedding_tables_sst2.py [--students benchmarks/cache/suite/paper80_kd_seed0 ...]

Defaults to the suite's cached teacher and the seeds of its 100-step -80% KD student that are cached (run
`python benchmarks/run_suite.py --variants paper80_kd` first). Prints a table and writes
`benchmarks/results/embedding_tables_sst2.json`. Latency: `interleaved_latency` (round-robin, 100 ms switch-in,
2 threads, sequence length 64), medians over `--rounds` rounds; speedups are medians of per-round ratios.
"""

import argparse
import copy
import glob
import os
import statistics
import sys
import tempfile
import time

import torch
from transformers import AutoTokenizer, DataCollatorWithPadding


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pruning_sst2 import TsvDataset, accuracy  # noqa: E402
from quantization_sst2 import CACHE, THREADS, environment, file_bytes, interleaved_latency  # noqa: E402
from results_io import write_json  # noqa: E402

from hf_compress import load_compressed  # noqa: E402
from hf_compress.quantization import QuantizationConfig, quantize_  # noqa: E402
from hf_compress.serialization import save_compressed  # noqa: E402


TEACHER = os.path.join(CACHE, "teacher_minilm_sst2_rows67349_lr0.0001_len64_seed0")
STUDENTS = sorted(glob.glob(os.path.join(CACHE, "suite", "paper80_kd_seed[0-9]")))
DATA = os.path.join(os.path.dirname(CACHE), "..", "..", "shared", "data", "sst2")
REPEATS = {1: 30, 32: 5}
FORMS = {"fp32 tables (as trained)": None, "int8 tables": 8, "int4 tables": 4}


def with_tables(student: torch.nn.Module, bits: int | None, work: str, name: str, probe: dict) -> tuple:
    """The student with its tables in `bits` (a copy), saved to `work/name` and reloaded; checks the reload."""
    model = copy.deepcopy(student)
    if bits is not None:
        quantize_(model, QuantizationConfig(mode="ptq", embeddings=bits))
    path = os.path.join(work, name)
    save_compressed(model, path)
    reloaded = load_compressed(path).eval()
    with torch.no_grad():
        if not torch.equal(reloaded(**probe).logits, model.eval()(**probe).logits):
            raise RuntimeError(f"{name}: the reloaded model's logits differ from the saved one's")
    return reloaded, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teacher", default=TEACHER)
    parser.add_argument("--students", nargs="+", default=STUDENTS)
    parser.add_argument("--data-dir", default=os.path.normpath(DATA))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--output", default=os.path.join(os.path.dirname(CACHE), "results", "embedding_tables_sst2.json")
    )
    args = parser.parse_args()
    missing = [p for p in (args.teacher, *args.students) if not os.path.exists(p)]
    if missing or not args.students:
        raise SystemExit(
            f"missing {missing or 'students'}: run `python benchmarks/run_suite.py --variants paper80_kd`"
        )
    tokenizer = AutoTokenizer.from_pretrained(args.teacher)
    collator = DataCollatorWithPadding(tokenizer)
    validation = TsvDataset(os.path.join(args.data_dir, "validation.tsv"), tokenizer)
    probe = dict(collator([validation[i] for i in range(8)]))
    probe.pop("labels")
    teacher = load_compressed(args.teacher).eval()
    work = tempfile.mkdtemp(prefix="embedding_tables-")
    rows = {name: {"form": name, "accuracy": [], "safetensors_bytes": []} for name in FORMS}
    latency_models = {"teacher fp32": teacher}
    for student_path in args.students:
        student = load_compressed(student_path).eval()
        for name, bits in FORMS.items():
            key = f"{os.path.basename(student_path)}-{bits}"
            model, path = with_tables(student, bits, work, key, probe)
            rows[name]["accuracy"].append(accuracy(model, validation, collator))
            rows[name]["safetensors_bytes"].append(file_bytes(path))
            if student_path == args.students[0]:
                latency_models[name] = model
    rounds = [interleaved_latency(latency_models, REPEATS, THREADS) for _ in range(args.rounds)]
    teacher_bytes, teacher_accuracy = file_bytes(args.teacher), accuracy(teacher, validation, collator)
    print(f"\nteacher: {teacher_bytes / 1e6:.1f} MB, accuracy {100 * teacher_accuracy:.2f}%")
    print(f"{'student form':<26}{'acc % (mean)':>13}{'MB':>8}{'x smaller':>11}{'ms b1':>8}{'ms b32':>9}"
          f"{'x fp32 b1':>11}{'x fp32 b32':>12}")  # fmt: skip
    table = []
    for name, row in rows.items():
        row["accuracy_mean"] = statistics.mean(row["accuracy"])
        row["mb"] = statistics.mean(row["safetensors_bytes"]) / 1e6
        row["smaller_than_teacher"] = teacher_bytes / statistics.mean(row["safetensors_bytes"])
        for b in REPEATS:
            row[f"latency_ms_b{b}"] = statistics.median(r[name][b] for r in rounds)
            row[f"speedup_vs_fp32_b{b}"] = statistics.median(r["teacher fp32"][b] / r[name][b] for r in rounds)
        table.append(row)
        print(f"{name:<26}{100 * row['accuracy_mean']:>13.2f}{row['mb']:>8.1f}{row['smaller_than_teacher']:>11.2f}"
              f"{row['latency_ms_b1']:>8.2f}{row['latency_ms_b32']:>9.1f}{row['speedup_vs_fp32_b1']:>11.2f}"
              f"{row['speedup_vs_fp32_b32']:>12.2f}")  # fmt: skip
    payload = {"command": "python benchmarks/embedding_tables_sst2.py", "date": time.strftime("%Y-%m-%d %H:%M UTC"),
               "environment": environment(), "threads": THREADS, "repeats": REPEATS, "rounds": args.rounds,
               "sequence_length": 64, "teacher": args.teacher, "teacher_safetensors_bytes": teacher_bytes,
               "teacher_accuracy": teacher_accuracy, "students": args.students,
               "rows": table}  # fmt: skip
    write_json(args.output, payload)


if __name__ == "__main__":
    main()
