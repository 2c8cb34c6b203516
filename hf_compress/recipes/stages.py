"""Run one recipe stage (or the teacher fine-tuning) with `DistillationTrainer` or `Trainer` plus the callbacks."""

import os
from dataclasses import dataclass
from typing import Any

import torch.nn as nn

from ..utils.batching import LENGTH_BUCKETS, length_bucketed
from .loader import Recipe, Stage
from .metrics import compute_metrics_for, finalize_metrics
from .training_args import trainer_kwargs


DEFAULT_ARGS = {"report_to": "none", "save_strategy": "no", "dataloader_num_workers": 0}


@dataclass
class TrainContext:
    """What every stage shares: datasets, collator, work directory and the recipe."""

    recipe: Recipe
    train_dataset: Any
    eval_dataset: Any
    collator: Any
    work_dir: str
    processing_class: Any = None


def training_args(ctx: TrainContext, name: str, overrides: dict[str, Any]):
    """`TrainingArguments` of a stage: quiet defaults (no checkpoints, no trackers), the recipe seed, then overrides."""
    from transformers import TrainingArguments

    kwargs = {**DEFAULT_ARGS, "seed": ctx.recipe.seed, **trainer_kwargs(overrides)}
    return TrainingArguments(output_dir=os.path.join(ctx.work_dir, name), **kwargs)


def train_rows(ctx: TrainContext, overrides: dict[str, Any], args):
    """
    The rows a stage trains on: the training split, or with `train_sampling_strategy: length_buckets` the same rows
    in length-bucketed order (batches of `per_device_train_batch_size x world_size` rows of similar length, seeded by
    `data_seed` or `seed`), which the Trainer then reads in order.
    """
    if overrides.get("train_sampling_strategy") != LENGTH_BUCKETS:
        return ctx.train_dataset
    seed = args.data_seed if args.data_seed is not None else args.seed
    return length_bucketed(ctx.train_dataset, args.per_device_train_batch_size * max(1, args.world_size), seed)


def _trainer(ctx: TrainContext, model: nn.Module, args, teacher=None, distillation=None, callbacks=(), rows=None):
    from transformers import Trainer

    from ..distillation.trainer import DistillationTrainer

    common = dict(
        model=model,
        args=args,
        train_dataset=ctx.train_dataset if rows is None else rows,
        eval_dataset=ctx.eval_dataset,
        data_collator=ctx.collator,
        compute_metrics=compute_metrics_for(ctx.recipe.task),
        callbacks=list(callbacks),
        processing_class=ctx.processing_class,
    )
    if distillation is not None:
        return DistillationTrainer(teacher_model=teacher, distillation_config=distillation, **common)
    return Trainer(**common)


def calibration_batches(ctx: TrainContext, batches: int = 16, batch_size: int = 32):
    """The first `batches` labelled training batches, collated like the Trainer's."""
    from torch.utils.data import DataLoader, Subset

    rows = Subset(ctx.train_dataset, range(min(len(ctx.train_dataset), batches * batch_size)))
    return DataLoader(rows, batch_size=batch_size, collate_fn=ctx.collator)


def prunes_before_training(stage: Stage, config) -> bool:
    """Whether `config` of `stage` is applied once by `prune_` before the stage trains (else by a callback)."""
    return stage.prune_before_training or config.structure == "layers"


def run_stage(ctx: TrainContext, stage: Stage, index: int, model: nn.Module, teacher: nn.Module | None) -> dict:
    """
    Train `model` in place for one stage: pruning callbacks first, then quantization (prune-then-quantize order).
    `structure: layers` pruning, and all of a stage's pruning with `prune_before_training: true`, happens once before
    the stage's training (`prune_`, calibrated on 16 training batches unless `method: magnitude`; units physically
    removed): the paper's prune -> quantize -> distill. A model that an earlier stage converted to int8 is
    dequantized first (`dequantize_`: exact float weights, pruned sizes kept) so that it can be pruned again.

    Returns:
        `dict`: the stage's log summary (`name`, `steps`, `train_loss`).
    """
    from ..pruning.callback import PruningCallback
    from ..pruning.oneshot import prune_
    from ..quantization.callback import QuantizationCallback
    from ..quantization.dequantize import dequantize_

    before = [config for config in stage.pruning if prunes_before_training(stage, config)]
    if before:
        dequantize_(model)
    for config in before:
        prune_(model, config, calibration_batches(ctx) if config.method != "magnitude" else None)
    callbacks = [PruningCallback(config) for config in stage.pruning if not prunes_before_training(stage, config)]
    if stage.quantization is not None:
        callbacks.append(QuantizationCallback(stage.quantization))
    args = training_args(ctx, f"stage{index}-{stage.name}", stage.training)
    trainer = _trainer(ctx, model, args, teacher, stage.distillation, callbacks, train_rows(ctx, stage.training, args))
    output = trainer.train()
    return {"name": stage.name, "steps": trainer.state.global_step, "train_loss": float(output.training_loss)}


def finetune(ctx: TrainContext, model: nn.Module, overrides: dict[str, Any]) -> dict:
    """Fine-tune `model` on the task in place (the `teacher: finetune` step)."""
    args = training_args(ctx, "teacher-finetune", overrides)
    trainer = _trainer(ctx, model, args, rows=train_rows(ctx, overrides, args))
    output = trainer.train()
    return {"name": "teacher-finetune", "steps": trainer.state.global_step, "train_loss": float(output.training_loss)}


def evaluate_model(ctx: TrainContext, model: nn.Module, batch_size: int = 64) -> dict[str, float]:
    """Held-out metrics of `model` (accuracy / F1, or loss / perplexity for causal LMs)."""
    overrides = {"per_device_eval_batch_size": batch_size, "disable_tqdm": True}
    use_cpu = ctx.recipe.stages[-1].training.get("use_cpu") if ctx.recipe.stages else None
    if use_cpu is not None:
        overrides["use_cpu"] = use_cpu
    trainer = _trainer(ctx, model, training_args(ctx, "eval", overrides))
    return finalize_metrics(trainer.evaluate(), ctx.recipe.task)
