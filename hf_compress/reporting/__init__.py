"""Reports of a compression run: teacher vs compressed side by side, CPU latency, and PNG plots."""

from .latency import measure_latency
from .plots import plot_layers, plot_sweep
from .summary import build_report, comparison_rows, report_markdown, summary_text


__all__ = [
    "build_report",
    "comparison_rows",
    "measure_latency",
    "plot_layers",
    "plot_sweep",
    "report_markdown",
    "summary_text",
]
