"""Write a run's final directory: model, compression_config.json, recipe.yaml, report, plot, model card, teacher."""

import json
import os
from typing import Any

import torch.nn as nn

from ..utils.files import replace_directory


TEACHER_SUBDIR = "teacher"
ARTIFACTS = ("README.md", "compression_config.json", "recipe.yaml", "report.json", "report.md", "report.png")


def write_report_files(directory: str, report: dict[str, Any], max_rows: int = 40) -> None:
    """`report.json`, `report.md` and the per-layer `report.png` into `directory`."""
    from ..reporting.plots import plot_layers
    from ..reporting.summary import report_markdown

    with open(os.path.join(directory, "report.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    with open(os.path.join(directory, "report.md"), "w", encoding="utf-8") as handle:
        handle.write(report_markdown(report, max_rows))
    plot_layers(report, os.path.join(directory, "report.png"))


def stage_directory(
    work_dir: str,
    model: nn.Module,
    compression_config,
    recipe_yaml: str | None = None,
    processing_class: Any = None,
    teacher: nn.Module | None = None,
) -> str:
    """Save the compressed model (and the teacher under `teacher/`) into a fresh folder inside `work_dir`."""
    from ..serialization.save import save_compressed

    final = save_compressed(model, os.path.join(work_dir, "final"), compression_config=compression_config)
    if recipe_yaml is not None:
        with open(os.path.join(final, "recipe.yaml"), "w", encoding="utf-8") as handle:
            handle.write(recipe_yaml)
    if processing_class is not None:
        processing_class.save_pretrained(final)
    if teacher is not None:
        teacher.save_pretrained(os.path.join(final, TEACHER_SUBDIR))
        if processing_class is not None:
            processing_class.save_pretrained(os.path.join(final, TEACHER_SUBDIR))
    return final


def publish(staged: str, output_dir: str) -> str:
    """Move the staged folder to `output_dir`, replacing an existing one only once the new one is complete."""
    return replace_directory(staged, output_dir)
