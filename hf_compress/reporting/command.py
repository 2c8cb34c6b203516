"""`hf-compress report DIR [DIR ...] [--teacher DIR]`: the report of saved compressed models, re-measured."""

import json
import os
from typing import Any

from .plots import plot_sweep
from .summary import build_report, summary_text


def _previous(directory: str) -> dict[str, Any]:
    path = os.path.join(directory, "report.json")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def report_for(directory: str, teacher: str | None = None, latency: bool = True) -> dict[str, Any]:
    """
    Reload the model in `directory` (and its teacher: `teacher`, else `directory/teacher` when present) and
    rebuild the side-by-side report; eval metrics come from the run's `report.json` when there is one.

    Args:
        directory (`str`): a folder written by `hf-compress run` or `save_compressed`.
        teacher (`str`, *optional*): the teacher folder.
        latency (`bool`, defaults to `True`): measure CPU latency.
    """
    from ..serialization.load import load_compressed

    if not os.path.isfile(os.path.join(directory, "config.json")):
        raise FileNotFoundError(f"{directory!r} has no config.json; pass a folder written by hf-compress run")
    teacher = teacher or (
        os.path.join(directory, "teacher") if os.path.isdir(os.path.join(directory, "teacher")) else None
    )
    if teacher is not None and not os.path.isfile(os.path.join(teacher, "config.json")):
        raise FileNotFoundError(f"teacher {teacher!r} has no config.json")
    previous = _previous(directory)
    evaluation = {**(previous.get("evaluation") or {}), "latency": latency}
    model = load_compressed(directory)
    teacher_model = load_compressed(teacher) if teacher else None
    metrics = (previous.get("compressed") or {}).get("metrics")
    teacher_metrics = (previous.get("teacher") or {}).get("metrics")
    extra = {key: previous[key] for key in ("name", "task", "dataset", "eval_examples") if key in previous}
    report = build_report(model, teacher_model, metrics, teacher_metrics, evaluation, save_dir=directory, extra=extra)
    report["output_dir"] = os.path.abspath(directory)
    return report


def report_command(dirs: list[str], teacher: str | None = None, latency: bool = True, plot: str | None = None) -> str:
    """The text `hf-compress report` prints; with several folders and `plot`, also accuracy vs FLOPs as a PNG."""
    texts, points = [], []
    for directory in dirs:
        report = report_for(directory, teacher, latency)
        texts.append(summary_text(report, f"hf-compress report: {directory}"))
        metric = report["compressed"]["metrics"].get("accuracy")
        points.append({"label": os.path.basename(os.path.normpath(directory)), "flops": report["compressed"]["flops"],
                       "accuracy": metric})  # fmt: skip
        if report.get("teacher") and report["teacher"]["metrics"].get("accuracy") is not None:
            points.append({"label": "teacher", "flops": report["teacher"]["flops"], "teacher": True,
                           "accuracy": report["teacher"]["metrics"]["accuracy"]})  # fmt: skip
    if plot:
        plot_sweep(points, plot)
        texts.append(f"accuracy vs FLOPs plot: {plot}")
    return "\n\n".join(texts)
