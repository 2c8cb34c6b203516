"""
Pruning without training: how much of the accuracy that one-shot structured pruning loses does `refit_to_teacher_`
(the layer-wise least-squares repair against the unpruned model) give back, with no gradient step?

For each FLOPs target the suite's teacher is pruned once (heads + neurons, first-order Taylor importance on 16
labelled batches, physically shrunk); each refit setting then starts from that same pruned model. Settings are
ranked on a dev slice of the training rows (the last `--dev-rows` of the suite's shuffled order, never used for
calibration); validation accuracy (872 rows) is reported for all, and the dev-chosen one is also quantized (int8 PTQ,
what a user would ship) and measured again.

Writes `benchmarks/results/refit_sst2.json` and prints a table.

Usage: python benchmarks/refit_sst2.py [--targets 0.5 0.8 0.9] [--dev-rows 2000]
"""

import argparse
import copy
import datetime
import json
import os
import sys
import time


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import torch  # noqa: E402
from torch.utils.data import DataLoader, Subset  # noqa: E402
from transformers import AutoModelForSequenceClassification  # noqa: E402

from benchmarks.pruning_sst2 import accuracy  # noqa: E402
from benchmarks.quantization_sst2 import CACHE, environment, prepare_sst2, teacher_dir  # noqa: E402
from benchmarks.results_io import write_json  # noqa: E402
from benchmarks.run_suite import FULL  # noqa: E402
from benchmarks.suite.variants import structured  # noqa: E402
from hf_compress import PruningConfig, QuantizationConfig, prune_, quantize_, refit_to_teacher_  # noqa: E402
from hf_compress.export.onnx import materialize_quantized  # noqa: E402


# name -> refit_to_teacher_ keyword arguments
SETTINGS = {
    "weights_damping0.01": {"solve": "weights", "damping": 0.01},
    "weights_damping0.1": {"solve": "weights", "damping": 0.1},
    "weights_damping1": {"solve": "weights", "damping": 1.0},
    "scales_damping0.1": {"solve": "scales", "damping": 0.1},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=float, nargs="+", default=[0.5, 0.8, 0.9], help="FLOPs fractions removed.")
    parser.add_argument("--dev-rows", type=int, default=2000)
    parser.add_argument("--calibration-batches", type=int, default=16, help="Batches of 32 rows (Taylor + refit).")
    parser.add_argument("--data-dir", default=os.path.join(REPO, "..", "shared", "data", "sst2"))
    args = parser.parse_args()
    bad = [t for t in args.targets if not 0 < t < 1]
    if bad:
        parser.error(f"--targets: {bad} are not fractions in (0, 1).")
    return args


def int8(model):
    """Weight int8 PTQ, materialized as plain float weights on the int8 grid (what the saved model computes)."""
    model = copy.deepcopy(model)
    quantize_(model, QuantizationConfig(mode="ptq", bits=8))
    return materialize_quantized(model)[0]


def main() -> None:
    args = parse_args()
    settings = {**FULL, "teacher_lr": 1e-4}
    pretrained = prepare_sst2(args.data_dir, settings, train_threads=2)
    rows, validation, collator = settings["splits"]["teacher"], settings["splits"]["validation"], settings["collator"]
    dev = Subset(rows, range(len(rows) - args.dev_rows, len(rows)))
    calibration = DataLoader(Subset(rows, range(32 * args.calibration_batches)), batch_size=32, collate_fn=collator)
    settings["work"] = os.path.join(CACHE, "refit")
    teacher_path = teacher_dir(pretrained, settings)
    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_path).eval()
    table = [{"target": 0.0, "setting": "teacher", "dev": accuracy(teacher, dev, collator),
              "validation": accuracy(teacher, validation, collator)}]  # fmt: skip
    for target in args.targets:
        pruned = AutoModelForSequenceClassification.from_pretrained(teacher_path)
        prune_(pruned, PruningConfig(**structured(target)), calibration_data=calibration)
        rows_here = [{"target": target, "setting": "pruned", "dev": accuracy(pruned, dev, collator),
                      "validation": accuracy(pruned, validation, collator), "refit_s": 0.0}]  # fmt: skip
        models = {}
        for name, kwargs in SETTINGS.items():
            model = copy.deepcopy(pruned)
            start = time.time()
            refit_to_teacher_(model, teacher, calibration, **kwargs)
            seconds = time.time() - start
            models[name] = model
            rows_here.append({"target": target, "setting": name, "dev": accuracy(model, dev, collator),
                              "validation": accuracy(model, validation, collator), "refit_s": seconds})  # fmt: skip
        chosen = max(rows_here[1:], key=lambda row: row["dev"])
        chosen["chosen_on_dev"] = True
        chosen["validation_int8"] = accuracy(int8(models[chosen["setting"]]), validation, collator)
        rows_here[0]["validation_int8"] = accuracy(int8(pruned), validation, collator)
        table += rows_here
        for row in rows_here:
            print(json.dumps(row), flush=True)
    print(f"\n{'FLOPs removed':>13} {'setting':<20} {'dev %':>7} {'validation %':>13} {'int8 %':>7} {'refit s':>8}")
    for row in table:
        int8_text = f"{100 * row['validation_int8']:.2f}" if "validation_int8" in row else "-"
        mark = " *" if row.get("chosen_on_dev") else ""
        print(f"{row['target']:>13.0%} {row['setting'] + mark:<20} {100 * row['dev']:>7.2f} "
              f"{100 * row['validation']:>13.2f} {int8_text:>7} {row.get('refit_s', 0.0):>8.1f}")  # fmt: skip
    output = os.path.join(REPO, "benchmarks", "results", "refit_sst2.json")
    payload = {
        "command": "python benchmarks/refit_sst2.py " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "environment": environment(),
        "torch_threads": torch.get_num_threads(),
        "dev_rows": args.dev_rows,
        "calibration_rows": 32 * args.calibration_batches,
        "settings": SETTINGS,
        "rows": table,
    }
    write_json(output, payload)


if __name__ == "__main__":
    main()
