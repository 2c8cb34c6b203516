"""Train one variant of the suite for one seed and save it with `save_compressed` (what a user would ship)."""

import os
import shutil
import time
from dataclasses import dataclass, field
from functools import cached_property

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Subset
from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

from hf_compress import (
    DistillationConfig,
    DistillationTrainer,
    PruningCallback,
    PruningConfig,
    QuantizationCallback,
    QuantizationConfig,
    count_flops,
    load_compressed,
    prune_,
    quantize_,
    refit_to_teacher_,
    save_compressed,
)
from hf_compress.export.onnx import materialize_quantized
from hf_compress.utils.batching import length_bucketed_order

from ..pruning_sst2 import drop_blocks, prune_depth_then_width, width_kwargs_relative_to, width_relative_to
from .augment import SwappedCopies, batches_apart, neighbour_table
from .variants import BEFORE, Variant


BATCH_SIZE = 32
# how a student's rows are batched (`TrainingPlan.sampling`; the scripts' `--sampling` choices)
SAMPLINGS = ("random", "group_by_length", "length_buckets")


@dataclass
class TrainingPlan:
    """
    What every student run shares.

    Args:
        teacher_path (`str`): the fine-tuned fp32 teacher (also the student's starting point).
        train_dataset: tokenized student rows (disjoint from the teacher's).
        collator: the padding collator.
        steps (`int`): optimizer steps (batch 32) per run.
        work (`str`): directory for run outputs.
        calibration_batches (`int`, defaults to 16): labelled batches (of 32 training rows) that rank units before
            one-shot pruning with a gradient-based method.
        sampling (`str`, defaults to `"random"`): `"random"` or `"group_by_length"` (the Trainer's
            `train_sampling_strategy`: rows of similar length per batch, as SST-2 random batches are ~2/3 padding, but
            each run of 50 batches goes from the longest rows to the shortest, so a 100-step run ends on 1-3 token
            phrases), or `"length_buckets"`: batches as uniform in length, in random order (`length_bucketed_order`).
        use_cpu (`bool`, defaults to `True`): train on the CPU (the suite's machine) even where an accelerator is
            present; `False` lets the Trainer pick the accelerator (recipe probes on a lent GPU).
        max_steps (`int`, *optional*): a cap on any variant's steps (`--quick`: the long recipes only need to run).
    """

    teacher_path: str
    train_dataset: object
    collator: object
    steps: int
    work: str
    calibration_batches: int = 16
    sampling: str = "random"
    use_cpu: bool = True
    max_steps: int | None = None
    neighbour_tables: dict = field(default_factory=dict, init=False, repr=False)  # `neighbours` count -> table

    def steps_for(self, variant) -> int:
        """Optimizer steps of one run of `variant`: its multiple of `steps`, at most `max_steps`."""
        steps = variant.steps(self.steps)
        return steps if self.max_steps is None else min(steps, self.max_steps)

    def train_rows(self, seed: int, augmentation: dict | None = None, labelled: bool = True):
        """
        The rows one run trains on, in the order it reads them under `trainer_sampling`; with `augmentation` (a
        `Variant.augmentation`), also word-swapped copies of them (`augmented_rows`).
        """
        if augmentation is not None:
            return self.augmented_rows(seed, augmentation, labelled)
        if self.sampling != "length_buckets":
            return self.train_dataset
        return Subset(self.train_dataset, length_bucketed_order(self.row_lengths, BATCH_SIZE, seed))

    def augmented_rows(self, seed: int, augmentation: dict, labelled: bool):
        """
        The training rows and `augmentation["copies"]` word-swapped copies of each (`augment.SwappedCopies`), in
        length buckets whose batches hold originals or copies only; the copies keep their source's label when
        `labelled`.
        """
        if self.sampling != "length_buckets":
            raise ValueError(f"augmentation needs sampling='length_buckets', got {self.sampling!r}.")
        table, continuation = self.neighbours(augmentation["neighbours"])
        copies = SwappedCopies(self.train_dataset, table, continuation, augmentation["probability"],
                               augmentation["copies"], seed, labelled)  # fmt: skip
        return batches_apart(self.train_dataset, copies, self.row_lengths, BATCH_SIZE, seed)

    def neighbours(self, count: int):
        """`augment.neighbour_table` of the teacher's word embeddings and vocabulary (built once per plan)."""
        if count not in self.neighbour_tables:
            teacher = AutoModelForSequenceClassification.from_pretrained(self.teacher_path)
            vocabulary = AutoTokenizer.from_pretrained(self.teacher_path).get_vocab()
            embeddings = teacher.get_input_embeddings().weight.detach()
            self.neighbour_tables[count] = neighbour_table(embeddings, vocabulary, count)
        return self.neighbour_tables[count]

    @cached_property
    def row_lengths(self) -> list[int]:
        """Token count of every training row (read once per plan, not once per run)."""
        return [len(row["input_ids"]) for row in self.train_dataset]

    @property
    def trainer_sampling(self) -> str:
        """The Trainer's `train_sampling_strategy` for this plan (`train_rows` already ordered length buckets)."""
        return "sequential" if self.sampling == "length_buckets" else self.sampling

    def calibration_data(self) -> DataLoader:
        rows = Subset(self.train_dataset, range(min(len(self.train_dataset), BATCH_SIZE * self.calibration_batches)))
        return DataLoader(rows, batch_size=BATCH_SIZE, collate_fn=self.collator)


def training_args(
    output_dir: str, steps: int, learning_rate: float, seed: int, sampling: str = "random", use_cpu: bool = True
) -> TrainingArguments:
    """Batch 32, linear decay with 6% warm-up, no checkpoints (the suite times compression, not I/O)."""
    return TrainingArguments(
        output_dir=output_dir,
        max_steps=steps,
        per_device_train_batch_size=BATCH_SIZE,
        learning_rate=learning_rate,
        warmup_steps=0.06,
        weight_decay=0.01,
        lr_scheduler_type="linear",
        logging_steps=max(1, steps // 4),
        save_strategy="no",
        report_to="none",
        use_cpu=use_cpu,
        seed=seed,
        data_seed=seed,
        train_sampling_strategy=sampling,
        disable_tqdm=True,
    )


def snap_to_quantization_grid(model: nn.Module, quantization: dict) -> nn.Module:
    """Quantize first (PTQ), then continue in float with the quantized weights: the `qpd` order's first step."""
    quantize_(model, QuantizationConfig(mode="ptq", **quantization))
    return materialize_quantized(model)[0]


def callbacks_for(variant: Variant, steps: int, flops_kept: float = 1.0) -> list:
    """
    The `PruningCallback` (pruning during training) and `QuantizationCallback` of a variant, in that order.
    `flops_kept`: the fraction of the teacher's FLOPs the model starts training with (blocks dropped before), to
    which a FLOPs target is rescaled so that it still holds relative to the teacher.
    """
    callbacks = []
    if variant.pruning is not None and variant.prune_when != BEFORE:
        config = dict(variant.pruning) if flops_kept == 1.0 else width_kwargs_relative_to(variant.pruning, flops_kept)
        if config.get("schedule") == "cubic":  # reach the target after `prune_ramp` of the run, then train at it
            end_step = max(1, int(steps * variant.prune_ramp))
            config.update(start_step=0, end_step=end_step, frequency=max(1, end_step // 10))
        elif config.get("schedule") == "oneshot" and config.get("start_step", 0) >= steps:
            config["start_step"] = max(1, steps // 2)  # a run too short to reach the event (--quick) prunes halfway
        callbacks.append(PruningCallback(PruningConfig(**config)))
    if variant.quantization is not None:
        # "joint": fake-quantize from step 0 while pruning; otherwise QAT starts when pruning ends (the default)
        callbacks.append(
            QuantizationCallback(
                QuantizationConfig(**variant.quantization), start_after_pruning=variant.order != "joint"
            )
        )
    return callbacks


def student_dir(plan: TrainingPlan, key: str, seed: int) -> str:
    """Where `compress` saves the student of variant `key` for `seed`."""
    return os.path.join(plan.work, f"{key}_seed{seed}")


def starting_model(variant: Variant, seed: int, plan: TrainingPlan) -> nn.Module:
    """A fresh copy of the teacher, or the dequantized student of `variant.start_from` for the same seed."""
    if variant.start_from is None:
        return AutoModelForSequenceClassification.from_pretrained(plan.teacher_path)
    source = student_dir(plan, variant.start_from, seed)
    if not os.path.isdir(source):
        raise FileNotFoundError(f"{variant.key} starts from {variant.start_from} (seed {seed}): {source} is missing.")
    model = load_compressed(source)
    model.dequantize()
    return model.train()


def flops_left(model: nn.Module, plan: TrainingPlan) -> float:
    """The fraction of the teacher's FLOPs (sequence length 64) that `model` still has."""
    teacher = AutoModelForSequenceClassification.from_pretrained(plan.teacher_path)
    return count_flops(model, sequence_length=64).total_macs / count_flops(teacher, sequence_length=64).total_macs


def compress(variant: Variant, seed: int, plan: TrainingPlan) -> tuple[str, float]:
    """
    Build, train and save one variant.

    Returns:
        `(save_dir, seconds)`: where `save_compressed` wrote the model, and the wall time of the whole compression.
    """
    start = time.time()
    torch.manual_seed(seed)
    left = 1.0
    model = starting_model(variant, seed, plan)
    if variant.order == "qpd":
        model = snap_to_quantization_grid(model, variant.quantization)
    if variant.pruning is not None and variant.prune_when == BEFORE:
        config = PruningConfig(**variant.pruning)
        calibration = plan.calibration_data() if config.method != "magnitude" or variant.drop_layers else None
        if variant.start_from is not None:
            prune_(model, width_relative_to(variant.pruning, flops_left(model, plan)), calibration_data=calibration)
        elif variant.drop_layers:
            prune_depth_then_width(model, variant.drop_layers, variant.pruning, calibration)
        else:
            prune_(model, config, calibration_data=calibration)
    elif variant.drop_layers:  # the blocks go before training; the width is pruned during it
        _, left = drop_blocks(model, variant.drop_layers, plan.calibration_data())
    if variant.refit is not None:
        teacher = AutoModelForSequenceClassification.from_pretrained(plan.teacher_path)
        refit_to_teacher_(model, teacher, plan.calibration_data(), **variant.refit)
        del teacher
    steps = plan.steps_for(variant)
    run_dir = os.path.join(plan.work, f"{variant.key}_seed{seed}_run")
    args = training_args(run_dir, steps, variant.learning_rate, seed, plan.trainer_sampling, use_cpu=plan.use_cpu)
    common = {
        "model": model,
        "args": args,
        "train_dataset": plan.train_rows(seed, variant.augmentation, labelled=not variant.distill),
        "data_collator": plan.collator,
        "callbacks": callbacks_for(variant, steps, left),
    }
    if variant.distill:
        trainer = DistillationTrainer(
            teacher_model=plan.teacher_path, distillation_config=DistillationConfig(**variant.distillation), **common
        )
    else:
        trainer = Trainer(**common)
    trainer.train()
    save_dir = student_dir(plan, variant.key, seed)
    shutil.rmtree(save_dir, ignore_errors=True)
    save_compressed(trainer.model, save_dir)
    shutil.rmtree(run_dir, ignore_errors=True)
    return save_dir, time.time() - start
