"""What makes two ledger runs (`benchmarks/cache/suite/runs.jsonl`) the same student: read by `run_suite` to reuse
finished students and by `kd_share_uncertainty` to pool seeds of one recipe."""

import json


# the distillation settings of every ledger run recorded before runs carried them (until 2026-11-27)
FIRST_KD = {"temperature": 2.0, "alpha": 0.5, "hidden_loss_weight": 1.0}


def canonical(distillation: dict | None) -> str | None:
    return None if distillation is None else json.dumps(distillation, sort_keys=True)


def recorded_distillation(run: dict) -> str | None:
    """The distillation settings a ledger run was trained with (`None`: labels only), as canonical JSON."""
    if "distillation" in run:
        return canonical(run["distillation"])
    return canonical(FIRST_KD) if run["distill"] else None


def run_identity(run: dict) -> tuple:
    """
    What makes two student runs the same: variant, seed, steps, rows, distillation settings, learning rate,
    batching, the layer-wise refit after pruning, the teacher (`teacher_fingerprint`: class, config, weights), the
    variant a run starts from (`None` for the teacher), the calibration batches of one-shot pruning (16 for runs
    recorded before they were) and the word-swapped copies it also trained on (`None`: none).
    Runs recorded before the ledger held the last four used `FIRST_KD`, random batches and no refit; their learning
    rate is unknown (`None`), so no current recipe reuses them; nor does one with a fingerprinted teacher reuse a run
    without one.
    """
    return (run["key"], run["seed"], run["steps"], run["student_rows"], recorded_distillation(run),
            run.get("learning_rate"), run.get("sampling", "random"), canonical(run.get("refit")),
            run.get("teacher"), run.get("start_from"), run.get("calibration_batches", 16),
            canonical(run.get("augmentation")))  # fmt: skip
