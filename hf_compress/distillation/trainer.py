"""`DistillationTrainer`: a `transformers.Trainer` whose loss adds knowledge distillation from a frozen teacher."""

import os
from collections import defaultdict

import torch
import torch.nn as nn
from transformers import Trainer, TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .config import DistillationConfig
from .heads import aligned_logits_and_labels, count_items, detect_head, has_labels, item_mask, token_mask
from .intermediate import build_projections, intermediate_loss_sums, resolve_layer_map
from .label_scores import feed_label_gradients, label_score_callbacks
from .losses import hard_label_cross_entropy, logit_mse, soft_target_kl, soft_target_kl_topk, sum_over_items
from .teacher import check_teacher_student, load_teacher, prepare_teacher
from .teacher_cache import (
    CACHE_COLUMNS,
    TEACHER_LOGITS,
    TOPK_INDICES,
    TOPK_VALUES,
    CachedLogitsCollator,
    pop_cached_teacher_logits,
)


PROJECTIONS_NAME = "distillation_projections.safetensors"


class DistillationTrainer(Trainer):
    """
    A `Trainer` that distills a frozen teacher into the model being trained. It owns the loss and the teacher only;
    pruning and quantization come as callbacks, so they work the same with a plain `Trainer`.

    The loss of a batch is `(1 - alpha) * hard + alpha * logits + w_h * hidden + w_a * attention`, each term summed
    over the loss items (labelled examples, or labelled tokens for token and causal-LM heads) and divided by the
    number of items in the whole accumulated batch, so gradient accumulation gives the same gradients as one large
    batch. Batches without labels are distilled only. The four terms are logged separately.

    Args:
        model (`PreTrainedModel` or `torch.nn.Module`): the student.
        teacher_model (`PreTrainedModel`, `str` or `os.PathLike`, *optional*):
            The teacher, or a repo id / path loaded with the student's `AutoModelFor*` class. May be `None` when the
            training dataset carries cached teacher logits (see `precompute_teacher_logits`) and only the logit term
            is used.
        distillation_config (`DistillationConfig`, *optional*): the loss settings; defaults to `DistillationConfig()`.
        teacher_init_kwargs (`dict`, *optional*): forwarded to `from_pretrained` when the teacher is given by name.
        **kwargs: every other argument of `transformers.Trainer` (`args`, `train_dataset`, `callbacks`, ...).
    """

    loss_is_scaled_for_ga = True
    _tag_names = ["hf-compress", "distillation"]

    def __init__(
        self,
        model: nn.Module | None = None,
        teacher_model: nn.Module | str | os.PathLike | None = None,
        distillation_config: DistillationConfig | None = None,
        args=None,
        teacher_init_kwargs: dict | None = None,
        **kwargs,
    ):
        if model is None:
            raise ValueError("DistillationTrainer needs model= (the student).")
        config = distillation_config if distillation_config is not None else DistillationConfig()
        if isinstance(config, dict):
            config = DistillationConfig.from_dict(config)
        teacher = (
            load_teacher(teacher_model, model, **(teacher_init_kwargs or {})) if teacher_model is not None else None
        )
        self.distillation_config = config
        self.layer_map = None
        if teacher is not None:
            check_teacher_student(teacher, model)
            if config.uses_intermediate_layers:
                self.layer_map = resolve_layer_map(config, model, teacher)
                if config.attention_loss_weight > 0:
                    for module in (model, teacher):
                        module.set_attn_implementation("eager")
        elif config.uses_intermediate_layers:
            raise ValueError(
                "hidden_loss_weight/attention_loss_weight > 0 need a teacher_model (cached logits hold no hidden states)."
            )
        self._check_teacher_source(teacher, kwargs.get("train_dataset"))
        super().__init__(model=model, args=args, **kwargs)
        self.head = detect_head(self.accelerator.unwrap_model(self.model))
        self.projections = build_projections(self.model, teacher, len(self.layer_map)) if self.layer_map else None
        if self.projections is not None:
            self.projections.to(self.args.device)
            self.add_callback(_ProjectionGradientSync(self.projections))
        self.teacher_model = prepare_teacher(teacher, self) if teacher is not None else None
        if set(getattr(self.train_dataset, "column_names", None) or []) & CACHE_COLUMNS:
            self.data_collator = CachedLogitsCollator(self.data_collator)
        self._term_history = {"train": defaultdict(list), "eval": defaultdict(list)}

    def _check_teacher_source(self, teacher, train_dataset) -> None:
        if teacher is not None or self.distillation_config.alpha == 0:
            return
        columns = set(getattr(train_dataset, "column_names", None) or [])
        if not columns & {TEACHER_LOGITS, TOPK_VALUES}:
            raise ValueError(
                "DistillationTrainer got teacher_model=None and the train_dataset has no cached teacher logits "
                f"(columns {sorted(CACHE_COLUMNS)}); pass teacher_model= or use precompute_teacher_logits()."
            )

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        self._signature_columns = list(dict.fromkeys(self._signature_columns + sorted(CACHE_COLUMNS)))

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model) if model is not None else super().create_optimizer()
        if self.projections is not None and not any(
            p is next(iter(self.projections.parameters())) for g in optimizer.param_groups for p in g["params"]
        ):
            optimizer.add_param_group({"params": list(self.projections.parameters()), "weight_decay": 0.0})
        return optimizer

    def _get_num_items_in_batch(self, batch_samples: list, device: torch.device):
        """Count loss items over all the micro-batches of one optimizer step (and over ranks)."""
        if not batch_samples:
            return None
        head = self.head if hasattr(self, "head") else detect_head(self.accelerator.unwrap_model(self.model))
        total = sum(count_items(head, batch) for batch in batch_samples).to(device)
        if self.args.average_tokens_across_devices and self.args.world_size > 1:
            total = self.accelerator.gather(total).sum()
        return total

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The distillation loss (see the class docstring); `num_items_in_batch` normalises it over the whole step."""
        inputs = dict(inputs)
        cached = pop_cached_teacher_logits(inputs)
        labels = {key: inputs.pop(key) for key in self.head.label_keys if key in inputs}
        config = self.distillation_config
        with_hidden = config.hidden_loss_weight > 0
        with_attention = config.attention_loss_weight > 0
        forward_kwargs = {}
        if with_hidden:
            forward_kwargs["output_hidden_states"] = True
        if with_attention:
            forward_kwargs["output_attentions"] = True
        student_outputs = model(**inputs, **forward_kwargs)

        labelled = has_labels(self.head, labels)
        alpha = config.alpha if labelled else 1.0
        teacher_outputs = None
        if (alpha > 0 and cached is None) or with_hidden or with_attention:
            if self.teacher_model is None:
                raise ValueError("This batch has no cached teacher logits and the trainer has no teacher_model.")
            with torch.no_grad():
                teacher_outputs = self.teacher_model(**inputs, **forward_kwargs)

        items = item_mask(self.head, {**inputs, **labels})
        local_items = items.sum()
        denominator = num_items_in_batch if num_items_in_batch is not None else local_items
        terms = {}
        if labelled and alpha < 1:
            terms["hard"] = self._hard_label_sum(student_outputs, labels, items)
        if alpha > 0:
            terms["distill"] = self._logit_distillation_sum(student_outputs, teacher_outputs, cached, items)
        if with_hidden or with_attention:
            mask = token_mask(inputs)
            if mask is None:
                mask = torch.ones(student_outputs.hidden_states[0].shape[:2], device=local_items.device)
            sums = intermediate_loss_sums(
                student_outputs,
                teacher_outputs,
                self.layer_map,
                self.projections,
                mask,
                self.head.token_level,
                with_hidden,
                with_attention,
            )
            terms.update(sums)
        weights = {
            "hard": 1 - alpha,
            "distill": alpha,
            "hidden": config.hidden_loss_weight,
            "attention": config.attention_loss_weight,
        }
        loss = sum(weights[name] * value for name, value in terms.items()) / denominator
        scoring = label_score_callbacks(self.callback_handler.callbacks, self.state.global_step)
        if scoring and labelled and model.training and torch.is_grad_enabled():
            hard = terms["hard"] if "hard" in terms else self._hard_label_sum(student_outputs, labels, items)
            feed_label_gradients(scoring, hard / denominator)
        if num_items_in_batch is not None and self.args.average_tokens_across_devices and self.args.world_size > 1:
            loss = loss * self.accelerator.num_processes
        self._record_terms(terms, local_items, model.training)
        return (loss, student_outputs) if return_outputs else loss

    def _hard_label_sum(self, outputs, labels: dict, items: torch.Tensor) -> torch.Tensor:
        smoothing = self.args.label_smoothing_factor
        per_key = []
        for logit_key, label_key in zip(self.head.logit_keys, self.head.label_keys):
            logits, target = aligned_logits_and_labels(self.head, outputs[logit_key], labels[label_key])
            if self.head.kind == "question_answering":
                target = target.clamp(0, logits.shape[-1]).masked_fill(target >= logits.shape[-1], -100)
            per_key.append(sum_over_items(hard_label_cross_entropy(logits, target, smoothing), items, True))
        return torch.stack(per_key).mean()

    def _logit_distillation_sum(self, outputs, teacher_outputs, cached, items: torch.Tensor) -> torch.Tensor:
        config = self.distillation_config
        per_key = []
        for logit_key in self.head.logit_keys:
            student_logits, _ = aligned_logits_and_labels(self.head, outputs[logit_key], None)
            if cached is not None and TOPK_VALUES in cached:
                values, indices = (
                    aligned_logits_and_labels(self.head, cached[k], None)[0] for k in (TOPK_VALUES, TOPK_INDICES)
                )
                per_item = soft_target_kl_topk(student_logits, values, indices, config.temperature)
            else:
                source = cached[TEACHER_LOGITS] if cached is not None else teacher_outputs[logit_key]
                teacher_logits, _ = aligned_logits_and_labels(self.head, source, None)
                teacher_logits = teacher_logits.to(student_logits.device)
                if config.logit_loss == "mse":
                    per_item = logit_mse(student_logits, teacher_logits)
                elif config.top_k is not None:
                    values, indices = teacher_logits.topk(min(config.top_k, teacher_logits.shape[-1]), dim=-1)
                    per_item = soft_target_kl_topk(student_logits, values, indices, config.temperature)
                else:
                    per_item = soft_target_kl(student_logits, teacher_logits, config.temperature)
            per_key.append(sum_over_items(per_item, items, True))
        return torch.stack(per_key).mean()

    def _record_terms(self, terms: dict, local_items: torch.Tensor, training: bool) -> None:
        """Keep each term's per-item mean as a detached tensor: no host sync on the training hot path."""
        history = self._term_history["train" if training else "eval"]
        count = local_items.clamp_min(1).float()
        for name, value in terms.items():
            history[f"{name}_loss"].append(value.detach().float() / count)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the mean of each loss term since the last log (`hard_loss`, `distill_loss`, ...) to the Trainer's logs."""
        mode = "eval" if any(key.startswith("eval_") for key in logs) else "train"
        history = self._term_history[mode]
        if history:
            names = sorted(history)
            means = torch.stack([torch.stack(history[n]).mean() for n in names]).to(self.args.device)
            if self.args.world_size > 1:
                means = self.accelerator.reduce(means, reduction="mean")
            prefix = "eval_" if mode == "eval" else ""
            logs.update({f"{prefix}{name}": round(value, 6) for name, value in zip(names, means.tolist())})
            history.clear()
        super().log(logs, start_time)

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        """Save the student, then its `compression_config.json` and model card (the teacher is never saved)."""
        super()._save(output_dir, state_dict)
        from ..serialization.trainer_artifacts import write_compression_artifacts

        write_compression_artifacts(self, output_dir if output_dir is not None else self.args.output_dir)

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.projections is not None and self.args.should_save:
            from safetensors.torch import save_file

            folder = os.path.join(self._get_output_dir(trial), f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
            save_file(
                {k: v.contiguous() for k, v in self.projections.state_dict().items()},
                os.path.join(folder, PROJECTIONS_NAME),
            )

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        path = os.path.join(resume_from_checkpoint, PROJECTIONS_NAME)
        if self.projections is not None and os.path.isfile(path):
            from safetensors.torch import load_file

            self.projections.load_state_dict(load_file(path, device=str(self.args.device)))


class _ProjectionGradientSync(TrainerCallback):
    """Average the gradients of the hidden-state projections over ranks (they live outside the DDP-wrapped model)."""

    def __init__(self, projections: nn.ModuleList):
        self.projections = projections

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return
        world_size = torch.distributed.get_world_size()
        for parameter in self.projections.parameters():
            if parameter.grad is not None:
                torch.distributed.all_reduce(parameter.grad)
                parameter.grad.div_(world_size)
