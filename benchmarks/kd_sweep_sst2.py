"""
Which distillation loss pays within the suite's short budget? A sweep of `DistillationConfig` settings (and the
labels-only baseline) on one suite variant, scored on a dev slice of SST-2's *training* rows, never on validation.

The suite's teacher was fine-tuned on all 67,349 training rows, so no training row is unseen by it: the dev slice is
the last `--dev-rows` rows of the suite's shuffled order, which the students here never train on. Accuracy on it is
inflated for every student alike (they all start from the teacher); it ranks the settings, it is not a result.

Writes `benchmarks/results/kd_sweep/<variant>_<steps>steps_<sampling>[_<tag>].json` and prints a table (mean +/-
std over seeds, and the share of the gap to the teacher that each setting recovers over labels only at the same
learning rate). `--refit-solve` first refits every setting's pruned layers to the teacher (`refit_to_teacher_`).

Usage: python benchmarks/kd_sweep_sst2.py [--variant paper80_kd] [--steps 100] [--seeds 0 1] [--settings ...]
"""

import argparse
import dataclasses
import datetime
import json
import os
import statistics
import sys


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import torch  # noqa: E402
from torch.utils.data import Subset  # noqa: E402

from benchmarks.pruning_sst2 import accuracy  # noqa: E402
from benchmarks.quantization_sst2 import CACHE, environment, prepare_sst2, teacher_dir  # noqa: E402
from benchmarks.results_io import write_json  # noqa: E402
from benchmarks.run_suite import FULL  # noqa: E402
from benchmarks.suite.compress import SAMPLINGS, TrainingPlan, compress  # noqa: E402
from benchmarks.suite.measure import load_saved  # noqa: E402
from benchmarks.suite.variants import KD, LONG_KD, select  # noqa: E402
from hf_compress import PruningConfig  # noqa: E402


# name -> (DistillationConfig kwargs or None for labels only, peak learning rate)
SETTINGS = {
    "labels": (None, 1e-4),
    "kd_long": (dict(LONG_KD), 1e-4),
    "kd_suite": (dict(KD), 1e-4),
    "kd_hidden10": ({**KD, "hidden_loss_weight": 10.0}, 1e-4),
    "kd_hidden30": ({**KD, "hidden_loss_weight": 30.0}, 1e-4),
    "kd_soft_only_hidden10": ({**KD, "alpha": 1.0, "hidden_loss_weight": 10.0}, 1e-4),
    "kd_hidden10_attention1": ({**KD, "hidden_loss_weight": 10.0, "attention_loss_weight": 1.0}, 1e-4),
    "labels_lr3e-4": (None, 3e-4),
    "kd_hidden10_lr3e-4": ({**KD, "hidden_loss_weight": 10.0}, 3e-4),
    "kd_hidden30_lr3e-4": ({**KD, "hidden_loss_weight": 30.0}, 3e-4),
    "kd_hidden100_lr3e-4": ({**KD, "hidden_loss_weight": 100.0}, 3e-4),
    "labels_lr1e-3": (None, 1e-3),
    "kd_hidden30_lr1e-3": ({**KD, "hidden_loss_weight": 30.0}, 1e-3),
    "kd_hidden30_logit_mse_lr3e-4": ({**KD, "hidden_loss_weight": 30.0, "logit_loss": "mse"}, 3e-4),
    "kd_hidden30_alpha0.9_lr3e-4": ({**KD, "hidden_loss_weight": 30.0, "alpha": 0.9}, 3e-4),
    "kd_hidden30_T1_lr3e-4": ({**KD, "hidden_loss_weight": 30.0, "temperature": 1.0}, 3e-4),
    "kd_hidden30_attention1_lr3e-4": ({**KD, "hidden_loss_weight": 30.0, "attention_loss_weight": 1.0}, 3e-4),
    "kd_hidden30_T4_lr3e-4": ({**KD, "hidden_loss_weight": 30.0, "temperature": 4.0}, 3e-4),
    "kd_hidden30_T8_lr3e-4": ({**KD, "hidden_loss_weight": 30.0, "temperature": 8.0}, 3e-4),
    # logits only / a light hidden-state term: for students whose hidden states stay far from the teacher's
    "kd_logits_lr3e-4": ({**KD, "hidden_loss_weight": 0.0}, 3e-4),
    "kd_logits_alpha0.9_lr3e-4": ({**KD, "hidden_loss_weight": 0.0, "alpha": 0.9}, 3e-4),
    "kd_hidden1_lr3e-4": ({**KD, "hidden_loss_weight": 1.0}, 3e-4),
}


class MaskingCollator:
    """
    Pads like `collator`, then replaces each real, non-special token with the mask token with probability
    `probability` (torch's global generator, which the Trainer seeds). The teacher sees the same masked rows, so on
    text it was not fine-tuned on verbatim its soft labels carry more than the gold label; the labels-only runs see
    the same masked rows with their gold labels.
    """

    def __init__(self, collator, probability: float):
        self.collator, self.probability = collator, probability
        tokenizer = collator.tokenizer
        self.mask_id, self.special_ids = tokenizer.mask_token_id, torch.tensor(tokenizer.all_special_ids)

    def __call__(self, features):
        batch = self.collator(features)
        ids = batch["input_ids"]
        maskable = batch["attention_mask"].bool() & ~torch.isin(ids, self.special_ids)
        chosen = maskable & (torch.rand(ids.shape) < self.probability)
        batch["input_ids"] = ids.masked_fill(chosen, self.mask_id)
        return batch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default="paper80_kd", help="A distilled suite variant key (its recipe).")
    parser.add_argument(
        "--steps",
        type=int,
        default=100,
        help="The suite's base steps (batch 32); a long recipe trains its steps_factor times this.",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--dev-rows", type=int, default=2000)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), help=f"Any of {list(SETTINGS)}.")
    parser.add_argument("--sampling", default="random", choices=SAMPLINGS,
                        help="The students' batches (TrainingPlan's sampling: the last two pad less per step).")  # fmt: skip
    parser.add_argument("--refit-solve", choices=["weights", "scales"], default=None,
                        help="Every setting (labels only too) first refits the pruned layers to the teacher's outputs.")  # fmt: skip
    parser.add_argument("--refit-damping", type=float, default=0.1, help="refit_to_teacher_'s damping.")
    parser.add_argument("--mask-probability", type=float, default=0.0,
                        help="Training rows (all settings) get this share of their tokens masked (MaskingCollator).")  # fmt: skip
    parser.add_argument("--tag", default="", help="Appended to the JSON file name (and work directory), so a new round "
                        "keeps the old one and rounds can run side by side.")  # fmt: skip
    parser.add_argument("--device", default="cpu", choices=["cpu", "accelerator"],
                        help="Where students train: this machine's CPU, or an accelerator the Trainer finds (a lent "
                        "GPU: a faster look at long recipes; the suite's own numbers come from the CPU).")  # fmt: skip
    parser.add_argument("--validation", action="store_true",
                        help="Also score every student on the validation split: recorded next to dev, never used to "
                        "rank settings (the suite reports validation).")  # fmt: skip
    parser.add_argument("--pruning", nargs="+", default=[], metavar="FIELD=VALUE",
                        help="Override fields of the variant's PruningConfig for every setting, e.g. method=movement "
                        "scope=global (values are read as JSON where they parse, else as strings).")  # fmt: skip
    parser.add_argument("--data-dir", default=os.path.join(REPO, "..", "shared", "data", "sst2"))
    args = parser.parse_args()
    unknown = [name for name in args.settings if name not in SETTINGS]
    if unknown:
        parser.error(f"--settings: unknown {unknown}; allowed values: {list(SETTINGS)}.")
    try:
        args.pruning = pruning_overrides(args.pruning)
    except ValueError as error:
        parser.error(str(error))
    return args


def pruning_overrides(pairs: list[str]) -> dict:
    """`["method=movement", "target_sparsity=0.8"]` -> `{"method": "movement", "target_sparsity": 0.8}`."""
    overrides = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field:
            raise ValueError(f"--pruning: {pair!r} is not FIELD=VALUE.")
        try:
            overrides[field] = json.loads(value)
        except json.JSONDecodeError:
            overrides[field] = value
    return overrides


def device_name(device: str) -> str:
    """What trained the students, for the JSON: `"cpu"`, or the accelerator's own name where there is one."""
    if device != "cpu" and torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return device


def variant_with(base, distillation: dict | None, learning_rate: float):
    """The suite variant's recipe, distilled with `distillation` (labels only when `None`) at `learning_rate`."""
    if distillation is None:
        return dataclasses.replace(base, key=base.key.replace("_kd", "_labels"), distill=False,
                                   learning_rate=learning_rate)  # fmt: skip
    return dataclasses.replace(base, distillation=distillation, learning_rate=learning_rate)


def summarize(results: dict[str, list[float]], teacher_accuracy: float) -> list[dict]:
    """
    Mean/std per setting and the share of the gap to the teacher that it recovers over the labels-only run at the same
    learning rate (`None` when the sweep has no such run).
    """
    labels = {
        SETTINGS[name][1]: statistics.mean(scores) for name, scores in results.items() if SETTINGS[name][0] is None
    }
    rows = []
    for name, scores in results.items():
        mean = statistics.mean(scores)
        baseline = labels.get(SETTINGS[name][1])
        gap = None if baseline is None else teacher_accuracy - baseline
        rows.append({
            "setting": name,
            "dev_accuracy_mean": mean,
            "dev_accuracy_std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
            "seeds": scores,
            "recovered_share": None if not gap or gap <= 0 else (mean - baseline) / gap,
        })  # fmt: skip
    return rows


def main() -> None:
    args = parse_args()
    refit = None if args.refit_solve is None else {"solve": args.refit_solve, "damping": args.refit_damping}
    base = dataclasses.replace(select([args.variant])[0], refit=refit)
    if not base.distill:
        raise ValueError(f"--variant: {args.variant!r} is not distilled; pass a key ending in '_kd'.")
    if args.pruning:
        if base.pruning is None:
            raise ValueError(f"--pruning: {args.variant!r} does not prune.")
        pruning = {**base.pruning, **args.pruning}
        PruningConfig(**pruning)  # a bad field or value fails here, before the teacher loads
        base = dataclasses.replace(base, pruning=pruning)
    settings = {**FULL, "teacher_lr": 1e-4}
    pretrained = prepare_sst2(args.data_dir, settings, train_threads=2)
    rows = settings["splits"]["teacher"]
    dev = Subset(rows, range(len(rows) - args.dev_rows, len(rows)))
    settings["work"] = os.path.join(CACHE, "kd_sweep", args.tag)
    os.makedirs(settings["work"], exist_ok=True)
    teacher_path = teacher_dir(pretrained, settings)
    teacher = load_saved(teacher_path)
    teacher_accuracy = accuracy(teacher, dev, settings["collator"])
    train = Subset(rows, range(len(rows) - args.dev_rows))
    collator = settings["collator"]
    if args.mask_probability:
        collator = MaskingCollator(collator, args.mask_probability)
    plan = TrainingPlan(
        teacher_path, train, collator, args.steps, settings["work"], sampling=args.sampling,
        use_cpu=args.device == "cpu",
    )  # fmt: skip
    validation = settings["splits"]["validation"]
    teacher_validation = accuracy(teacher, validation, settings["collator"]) if args.validation else None
    del teacher
    results, seconds_by_setting, validation_by_setting = {}, {}, {}
    for name in args.settings:
        distillation, learning_rate = SETTINGS[name]
        variant = variant_with(base, distillation, learning_rate)
        for seed in args.seeds:
            path, seconds = compress(variant, seed, plan)
            student = load_saved(path)
            score = accuracy(student, dev, settings["collator"])
            results.setdefault(name, []).append(score)
            line = {"setting": name, "seed": seed, "dev_accuracy": score, "compress_s": seconds}
            if args.validation:
                line["validation_accuracy"] = accuracy(student, validation, settings["collator"])
                validation_by_setting.setdefault(name, []).append(line["validation_accuracy"])
            print(json.dumps(line), flush=True)
            seconds_by_setting.setdefault(name, []).append(seconds)
    table = summarize(results, teacher_accuracy)
    print(f"\nteacher dev accuracy {teacher_accuracy:.4f} ({args.dev_rows} training rows it was fine-tuned on)")
    print(f"{'setting':<28} {'dev acc %':>16} {'recovers':>9}")
    for row in table:
        share = "-" if row["recovered_share"] is None else f"{row['recovered_share']:.0%}"
        print(
            f"{row['setting']:<28} {100 * row['dev_accuracy_mean']:>8.2f} +/- {100 * row['dev_accuracy_std']:.2f} {share:>9}"
        )
    output = os.path.join(
        REPO,
        "benchmarks",
        "results",
        "kd_sweep",
        f"{args.variant}_{base.steps(args.steps)}steps_{args.sampling}{'_' + args.tag if args.tag else ''}.json",
    )
    payload = {
        "command": "python benchmarks/kd_sweep_sst2.py " + " ".join(sys.argv[1:]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "environment": environment(),
        "variant": args.variant,
        "steps": base.steps(args.steps),
        "dev_rows": args.dev_rows,
        "sampling": args.sampling,
        "refit": refit,
        "mask_probability": args.mask_probability,
        "pruning": base.pruning,
        "teacher_dev_accuracy": teacher_accuracy,
        "settings": {
            name: {"distillation": SETTINGS[name][0], "learning_rate": SETTINGS[name][1]} for name in results
        },
        "rows": table,
        "compress_s": seconds_by_setting,
        "device": device_name(args.device),
        "validation": {"teacher": teacher_validation, "students": validation_by_setting} if args.validation else None,
    }
    write_json(output, payload)


if __name__ == "__main__":
    main()
