"""PNG plots of a report: per-layer sparsity and bits, and accuracy vs FLOPs for sweeps (matplotlib, Agg backend)."""

import os
from typing import Any


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_layers(report: dict[str, Any], path: str | os.PathLike, max_layers: int = 60) -> str:
    """
    Two horizontal bar charts side by side: sparsity and bits per weight of every layer with parameters.

    Args:
        report (`dict`): a report from `build_report` (uses `report["layers"]`).
        path (`str` or `os.PathLike`): the PNG to write.
        max_layers (`int`, defaults to 60): at most this many layers (the ones with the most parameters).
    """
    plt = _pyplot()
    layers = [row for row in report["layers"] if row["params"] > 0]
    layers = sorted(layers, key=lambda r: -r["params"])[:max_layers]
    layers = [row for row in report["layers"] if row in layers]
    names = [row["name"] or "(root)" for row in layers]
    height = max(3.0, 0.22 * len(names) + 1.2)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, height), sharey=True)
    positions = list(range(len(names)))
    left.barh(positions, [100 * row["sparsity"] for row in layers], color="#4c72b0")
    left.set_xlabel("sparsity (%)")
    left.set_xlim(0, 100)
    left.set_yticks(positions, names, fontsize=7)
    left.invert_yaxis()
    right.barh(positions, [row["bits"] for row in layers], color="#dd8452")
    right.set_xlabel("bits per weight")
    right.set_xlim(0, 33)
    fig.suptitle(report.get("title", "per-layer sparsity and bits"))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def plot_sweep(points: list[dict[str, Any]], path: str | os.PathLike, metric: str = "accuracy") -> str:
    """
    Accuracy (or `metric`) against forward GFLOPs, one labelled point per model (teachers as squares).

    Args:
        points (`list[dict]`): each with `label`, `flops`, `metric` value under `metric`, and optional `teacher`.
        path (`str` or `os.PathLike`): the PNG to write.
        metric (`str`, defaults to `"accuracy"`): the y value key.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    for point in points:
        if point.get(metric) is None:
            continue
        marker = "s" if point.get("teacher") else "o"
        ax.scatter(point["flops"] / 1e9, point[metric], marker=marker)
        ax.annotate(point["label"], (point["flops"] / 1e9, point[metric]), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("forward GFLOPs (log)")
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)
