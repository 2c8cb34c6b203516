"""
The "without hf_compress" pruning baseline: `torch.nn.utils.prune` L1 magnitude pruning of every encoder Linear to
the same sparsity as our unstructured variant, then plain fine-tuning on the labels (no distillation, fp32).
"""

import os
import shutil
import time

import torch
import torch.nn as nn
from torch.nn.utils import prune
from transformers import AutoModelForSequenceClassification, Trainer

from .compress import TrainingPlan, training_args
from .variants import Variant


SPARSITY = 0.9


def encoder_linears(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """The `(module, "weight")` pairs a user would prune: every Linear of the encoder (not pooler or classifier)."""
    return [(m, "weight") for name, m in model.named_modules() if isinstance(m, nn.Linear) and ".encoder." in name]


def compress_torch_prune(variant: Variant, seed: int, plan: TrainingPlan) -> tuple[str, float]:
    """Prune with `torch.nn.utils.prune.l1_unstructured` per layer, fine-tune, make permanent, save (fp32)."""
    start = time.time()
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(plan.teacher_path)
    targets = encoder_linears(model)
    for module, name in targets:
        prune.l1_unstructured(module, name, amount=SPARSITY)  # masks stay applied by a forward pre-hook
    run_dir = os.path.join(plan.work, f"{variant.key}_seed{seed}_run")
    args = training_args(run_dir, plan.steps_for(variant), variant.learning_rate, seed, plan.trainer_sampling)
    Trainer(model=model, args=args, train_dataset=plan.train_rows(seed), data_collator=plan.collator).train()
    for module, name in targets:
        prune.remove(module, name)
    save_dir = os.path.join(plan.work, f"{variant.key}_seed{seed}")
    shutil.rmtree(save_dir, ignore_errors=True)
    model.save_pretrained(save_dir)
    shutil.rmtree(run_dir, ignore_errors=True)
    return save_dir, time.time() - start
