"""
The teacher-vs-compressed report of a run: sizes, FLOPs, bytes, eval metrics and latency side by side with ratios,
per-layer rows from `compression_report`, as a JSON-able dict, a Markdown table and a one-screen text summary.
"""

from typing import Any

import torch.nn as nn

from ..analysis.report import compression_report
from .latency import measure_latency


def _model_entry(report, which: str, metrics: dict[str, float] | None, latency: dict[str, float] | None) -> dict:
    if which == "compressed":
        entry = {
            "params": report.params,
            "nonzero_params": report.nonzero_params,
            "flops": report.flops,
            "bytes_on_disk": report.bytes_on_disk,
        }
    else:
        entry = {
            "params": report.teacher_params,
            "flops": report.teacher_flops,
            "bytes_on_disk": report.teacher_bytes_on_disk,
        }
    entry["metrics"] = dict(metrics or {})
    entry["latency_ms"] = dict(latency or {})
    return entry


def build_report(
    model: nn.Module,
    teacher: nn.Module | None = None,
    metrics: dict[str, float] | None = None,
    teacher_metrics: dict[str, float] | None = None,
    evaluation: dict[str, Any] | None = None,
    save_dir: str | None = None,
    teacher_nonzero: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """
    Everything `report.json` holds.

    Args:
        model (`nn.Module`): the compressed model. teacher (`nn.Module`, *optional*): the reference model.
        metrics / teacher_metrics (`dict`, *optional*): held-out metrics of each.
        evaluation (`dict`, *optional*): the recipe's `evaluation:` section (latency, input size, ...).
        save_dir (`str`, *optional*): the saved compressed model, whose safetensors bytes are reported.
        extra (`dict`, *optional*): merged into the report (e.g. `{"dataset": ..., "wall_time_s": ...}`).
    """
    evaluation = {"latency": True, "latency_threads": 2, "latency_runs": 20, "batch_sizes": [1, 32],
                  "sequence_length": 128, "image_size": None, **(evaluation or {})}  # fmt: skip
    size = {"sequence_length": evaluation["sequence_length"], "image_size": evaluation["image_size"]}
    report = compression_report(model, teacher=teacher, save_dir=save_dir, **size)

    def latency(m):
        if not evaluation["latency"] or m is None:
            return None
        return measure_latency(
            m, evaluation["batch_sizes"], evaluation["latency_threads"], evaluation["latency_runs"], **size
        )

    out = {
        "input_shape": list(report.input_shape),
        "compressed": _model_entry(report, "compressed", metrics, latency(model)),
        "layers": [dict(vars(row)) for row in report.rows],
    }
    if teacher is not None:
        out["teacher"] = _model_entry(report, "teacher", teacher_metrics, latency(teacher))
        out["teacher"]["nonzero_params"] = teacher_nonzero if teacher_nonzero is not None else report.teacher_params
        out["ratios"] = ratios(out["compressed"], out["teacher"])
    out.update(extra or {})
    return out


def ratios(compressed: dict[str, Any], teacher: dict[str, Any]) -> dict[str, float]:
    """compressed / teacher for sizes, FLOPs and latency (0.2 means 80% less)."""
    out = {}
    for key in ("params", "nonzero_params", "flops", "bytes_on_disk"):
        if teacher.get(key) and compressed.get(key) is not None:
            out[key] = compressed[key] / teacher[key]
    for key, value in compressed.get("latency_ms", {}).items():
        if teacher.get("latency_ms", {}).get(key):
            out[f"latency_{key}"] = value / teacher["latency_ms"][key]
    return out


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "flops":
        return f"{value / 1e6:,.2f} M"
    if key == "bytes_on_disk":
        return f"{value / 1e6:,.3f} MB"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return f"{value:,}"


def comparison_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """`(quantity, teacher, compressed, ratio)` rows for the side-by-side table."""
    comp, teacher = report["compressed"], report.get("teacher") or {}
    ratio = report.get("ratios", {})
    rows = []
    labels = {
        "params": "params",
        "nonzero_params": "non-zero params",
        "flops": "FLOPs",
        "bytes_on_disk": "bytes on disk",
    }
    for key, label in labels.items():
        r = ratio.get(key)
        rows.append((label, _fmt(key, teacher.get(key)), _fmt(key, comp.get(key)), "-" if r is None else f"{r:.3f}x"))
    for key in comp.get("latency_ms", {}):
        r = ratio.get(f"latency_{key}")
        t = teacher.get("latency_ms", {}).get(key)
        rows.append((f"latency {key.replace('_ms', '').replace('_', ' ')} (ms)", _fmt("", t),
                     _fmt("", comp["latency_ms"][key]), "-" if r is None else f"{r:.3f}x"))  # fmt: skip
    for key, value in comp.get("metrics", {}).items():
        t = teacher.get("metrics", {}).get(key)
        delta = "-" if t is None else f"{value - t:+.4f}"
        rows.append((f"eval {key}", _fmt("", t), _fmt("", value), delta))
    return rows


def report_markdown(report: dict[str, Any], max_rows: int = 40) -> str:
    """`report.md`: the side-by-side table, then the per-layer table."""
    lines = ["| | teacher | compressed | ratio / delta |", "|---|---:|---:|---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in comparison_rows(report)]
    if report.get("dataset"):
        lines += ["", f"Held-out data: {report['dataset']}."]
    lines += [
        "",
        "| layer | type | params | non-zero | sparsity | bits | MFLOPs |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["layers"][:max_rows]:
        lines.append(
            f"| {row['name']} | {row['type']} | {row['params']:,} | {row['nonzero']:,} | {row['sparsity']:.1%} | "
            f"{row['bits']} | {row['flops'] / 1e6:.3f} |"
        )
    if len(report["layers"]) > max_rows:
        lines.append(f"| ... {len(report['layers']) - max_rows} more rows in report.json | | | | | | |")
    return "\n".join(lines) + "\n"


def summary_text(report: dict[str, Any], title: str = "hf-compress summary") -> str:
    """A one-screen plain-text table for the terminal."""
    rows = [("", "teacher", "compressed", "ratio/delta"), *comparison_rows(report)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    line = "-" * (sum(widths) + 9)
    out = [title, line]
    for i, row in enumerate(rows):
        out.append(f"{row[0]:<{widths[0]}} | {row[1]:>{widths[1]}} | {row[2]:>{widths[2]}} | {row[3]:>{widths[3]}}")
        if i == 0:
            out.append(line)
    out.append(line)
    for key in ("dataset", "output_dir", "wall_time_s"):
        if report.get(key) is not None:
            out.append(f"{key}: {report[key]:.1f}" if key == "wall_time_s" else f"{key}: {report[key]}")
    return "\n".join(out)
