"""`PruningCallback`: masks, scores and shrinks a model on a schedule inside any `transformers.Trainer`."""

import logging
import os

import torch
import torch.nn as nn
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .budget import select_units, unit_costs
from .checkpoint import STATE_FILE, load_pruning_state, save_pruning_state
from .config import PruningConfig
from .masks import all_reduce_mean, apply_masks, broadcast_masks, mask_gradients, named_params, unwrap_model
from .methods import get_pruning_method
from .schedules import is_pruning_step, target_at
from .structures import PruneGroup, select_groups


logger = logging.getLogger(__name__)

__all__ = ["STATE_FILE", "PruningCallback"]


class PruningCallback(TrainerCallback, ExportableState):
    """
    Prunes the model being trained according to a `PruningConfig`.

    Per optimizer step: on `on_pre_optimizer_step` the score method observes the final gradients and the gradients
    of pruned weights are zeroed; on `on_optimizer_step` the masks are re-applied to the weights (so Adam momentum
    and weight decay cannot revive them); on `on_step_end` a pruning event happens when the schedule says so.
    Scores are averaged across ranks and the new masks broadcast from rank 0, so every DDP rank prunes identically.
    Every checkpoint gets `hf_compress_pruning.safetensors` (masks, accumulated scores, counters) so
    `resume_from_checkpoint` continues exactly, whether or not `restore_callback_states_from_checkpoint` is set.
    At `on_train_end`, structured pruning physically shrinks the model (`shrink=True`; layers fake-quantized by a
    `QuantizationCallback` running at the same time shrink too, keeping their scales) and stamps its config so
    `trainer.save_model` writes the reloadable hf_compress format.

    With `score_loss="labels"` inside a `DistillationTrainer`, the trainer hands the callback the gradients of the
    hard-label loss alone (`add_label_gradients`) at every step before the last pruning event, and the score method
    observes those instead of the distillation loss's (averaged across ranks like the scores).

    Args:
        pruning_config (`PruningConfig` or `dict`, *optional*): the configuration; keyword arguments build one when
            omitted.
    """

    def __init__(self, pruning_config: PruningConfig | dict | None = None, **kwargs):
        if pruning_config is None:
            pruning_config = PruningConfig(**kwargs)
        elif isinstance(pruning_config, dict):
            pruning_config = PruningConfig.from_dict(pruning_config)
        elif kwargs:
            raise ValueError(f"PruningCallback got both a PruningConfig and keyword arguments {sorted(kwargs)}.")
        if not isinstance(pruning_config, PruningConfig):
            raise ValueError(
                f"PruningCallback.pruning_config must be a PruningConfig or dict, got {pruning_config!r}."
            )
        self.config = pruning_config
        self.last_event_step = -1
        self.current_amount = 0.0
        self.events = 0
        self.groups: list[PruneGroup] = []
        self.keeps: dict[str, torch.Tensor] = {}
        self.masks: dict[str, torch.Tensor] = {}
        self.shrink_result = None
        self._params: dict[str, nn.Parameter] = {}
        self._method = None
        self._costs = None
        self._end_step = None
        self._label_gradients: dict[str, torch.Tensor] | None = None
        self.label_gradients_from_trainer = False

    # ----- ExportableState -------------------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "args": {"pruning_config": self.config.to_dict()},
            "attributes": {
                "last_event_step": self.last_event_step,
                "current_amount": self.current_amount,
                "events": self.events,
            },
        }

    # ----- setup ------------------------------------------------------------------------------------------------
    def setup(self, model: nn.Module, max_steps: int) -> None:
        """Find the groups, build the score method and (for FLOPs budgets) the per-unit costs. Idempotent."""
        model = unwrap_model(model)
        cfg = self.config
        if cfg.structure == "layers":
            raise ValueError(
                "PruningCallback: structure='layers' removes whole blocks at once, which cannot happen inside a "
                "running Trainer (the optimizer holds their parameters); call hf_compress.prune_(model, config, "
                "calibration_data) before building the Trainer. Allowed values here: ['unstructured', 'n:m', "
                "'heads', 'neurons', 'channels']."
            )
        if cfg.target_flops_reduction is not None and not cfg.is_structured:
            raise ValueError(
                f"PruningConfig.target_flops_reduction needs a structure that removes computation; structure="
                f"{cfg.structure!r} only zeroes weights (no FLOPs removed on dense kernels). Allowed values: "
                "['heads', 'neurons', 'channels'] (or use target_sparsity)."
            )
        self.groups = select_groups(model, cfg)
        param_names = list(dict.fromkeys(piece.name for g in self.groups for piece in g.slices))
        self._params = named_params(model, param_names)
        self._method = get_pruning_method(cfg.method)(param_names)
        device = next(iter(self._params.values())).device
        self.keeps = {
            g.name: torch.ones(g.unit_shape or (g.num_units,), dtype=torch.bool, device=device) for g in self.groups
        }
        self.masks = {}
        self._end_step = cfg.end_step if cfg.end_step is not None else max(max_steps, cfg.start_step)
        if cfg.target_flops_reduction is not None:
            from ..analysis.flops import count_flops

            flops = count_flops(model, sequence_length=cfg.sequence_length, image_size=cfg.image_size)
            self._costs = {**unit_costs(self.groups, flops), "__total__": flops.total_macs}

    # ----- pruning events ---------------------------------------------------------------------------------------
    def amount_at(self, step: int) -> float:
        cfg = self.config
        final = cfg.target_flops_reduction if cfg.target_flops_reduction is not None else cfg.final_sparsity
        return target_at(
            step, cfg.schedule, cfg.start_step, self._end_step, cfg.frequency, cfg.initial_sparsity, final
        )

    @torch.no_grad()
    def prune(self, amount: float) -> None:
        """Run one pruning event to `amount` (sparsity, or FLOPs fraction with a FLOPs budget)."""
        cfg = self.config
        if cfg.structure == "n:m" and amount < cfg.final_sparsity - 1e-9:
            return  # N:M is a fixed pattern: applied at the event where the schedule reaches it
        element_scores = all_reduce_mean(self._method.scores(self._params))
        scores = {g.name: g.unit_scores(element_scores) for g in self.groups}
        keeps = select_units(
            self.groups,
            scores,
            self.keeps,
            amount,
            scope=cfg.scope,
            costs=self._costs,
            n_m=(cfg.n, cfg.m) if cfg.structure == "n:m" else None,
        )
        self.keeps = broadcast_masks(keeps)
        self._build_masks()
        self._method.reset()

    def _maybe_prune(self, step: int) -> None:
        cfg = self.config
        if step <= self.last_event_step or not is_pruning_step(
            step, cfg.schedule, cfg.start_step, self._end_step, cfg.frequency
        ):
            return
        amount = self.amount_at(step)
        self.prune(amount)
        self.last_event_step, self.current_amount, self.events = step, amount, self.events + 1
        logger.info("pruning event at step %d: %s %s -> %.4f", step, cfg.structure, self._budget_name(), amount)

    def _budget_name(self) -> str:
        return "flops_reduction" if self.config.target_flops_reduction is not None else "sparsity"

    # ----- scores from the hard-label loss -------------------------------------------------------------------------
    def wants_label_gradients(self, step: int) -> bool:
        """
        Whether the optimizer step after `step` completed ones must observe hard-label gradients: `score_loss` is
        `"labels"`, the method scores with gradients and a pruning event is still ahead.
        """
        if self._method is None or not self._method.needs_gradients or self.config.score_loss != "labels":
            return False
        last_event = self.config.start_step if self.config.schedule == "oneshot" else self._end_step
        return step < last_event

    def scored_parameters(self) -> dict[str, nn.Parameter]:
        """The parameters the score method observes, by name (the callback's own mapping: do not modify)."""
        return self._params

    @torch.no_grad()
    def add_label_gradients(self, gradients: dict[str, torch.Tensor]) -> None:
        """Add one micro-batch's hard-label gradients (by parameter name) to the current optimizer step's."""
        if self._label_gradients is None:
            self._label_gradients = {name: grad.detach().clone() for name, grad in gradients.items()}
            return
        for name, grad in gradients.items():
            self._label_gradients[name].add_(grad)

    def _observe_label_gradients(self, step: int) -> None:
        """Let the score method observe the hard-label gradients the trainer handed over for this optimizer step."""
        gradients, self._label_gradients = self._label_gradients, None
        if not self.wants_label_gradients(step):
            return
        if gradients is None:  # no labelled batch on this rank: a zero contribution keeps the ranks in step
            gradients = {name: torch.zeros_like(param) for name, param in self._params.items()}
        self._method.accumulate(self._params, all_reduce_mean(gradients))

    # ----- checkpoint state ---------------------------------------------------------------------------------------
    def save_state(self, directory: str) -> str:
        """Write masks, accumulated scores and counters to `directory/hf_compress_pruning.safetensors`."""
        return save_pruning_state(self, directory)

    def load_state(self, path: str) -> None:
        """Restore what `save_state` wrote and re-apply the masks."""
        load_pruning_state(self, path)
        self._build_masks()

    def _build_masks(self) -> None:
        """Parameter masks from the unit keep-masks (a parameter cut by two groups gets both), then apply them."""
        self.masks = {}
        for group in self.groups:
            for name, mask in group.param_masks(self.keeps[group.name], self._params).items():
                self.masks[name] = mask if name not in self.masks else self.masks[name] & mask
        apply_masks(self._params, self.masks)

    # ----- TrainerCallback ----------------------------------------------------------------------------------------
    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if model is None:
            raise ValueError("PruningCallback needs the `model` keyword argument the Trainer passes to callbacks.")
        if getattr(args, "fsdp", None):
            raise ValueError(
                "PruningCallback does not support FSDP yet (masks are computed on whole, unsharded parameters); "
                "train with DDP (the default for several processes) or a single process."
            )
        self.setup(model, state.max_steps)
        if any(param.numel() == 0 for param in self._params.values()):
            raise ValueError(
                "PruningCallback found empty (partitioned) parameters, as with DeepSpeed ZeRO-3; use ZeRO stage <= 2."
            )
        if state.global_step > 0:
            path = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}", STATE_FILE)
            if not os.path.isfile(path):
                raise ValueError(
                    f"Resuming at step {state.global_step} but {path} is missing: the pruning masks and scores of "
                    "that checkpoint are unknown. Resume from a checkpoint written with PruningCallback."
                )
            self.load_state(path)
        self._maybe_prune(state.global_step)

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        if self._method is not None and self._method.needs_gradients:
            if self.label_gradients_from_trainer and self.config.score_loss == "labels":
                self._observe_label_gradients(state.global_step)
            else:
                self._method.accumulate(self._params)
        mask_gradients(self._params, self.masks)

    def on_optimizer_step(self, args, state, control, **kwargs):
        apply_masks(self._params, self.masks)

    def on_step_end(self, args, state, control, **kwargs):
        self._maybe_prune(state.global_step)

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self._method is not None:
            self.save_state(os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"))

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if model is None or self._method is None:
            return
        apply_masks(self._params, self.masks)
        if self.config.shrink and self.config.is_structured:
            self.shrink(model)

    def shrink(self, model: nn.Module):
        """Physically remove the pruned units now, and stamp the model config for saving. Returns a `ShrinkResult`."""
        from ..serialization.save import update_compression_config
        from .shrink import shrink_model

        model = unwrap_model(model)
        self.shrink_result = shrink_model(model, self.groups, self.keeps)
        update_compression_config(model)
        self._params, self.masks, self._method = {}, {}, None
        return self.shrink_result
