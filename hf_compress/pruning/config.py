"""Configuration of a pruning pass."""

import re
from dataclasses import dataclass, field

from ..utils.config_mixin import ConfigMixin
from ..utils.validation import check_choice, check_int, check_range, check_regex_list


STRUCTURES = ("unstructured", "n:m", "heads", "neurons", "channels", "layers")
STRUCTURED = ("heads", "neurons", "channels")
SCHEDULES = ("oneshot", "iterative", "cubic")
SCOPES = ("layer", "global")
SCORE_LOSSES = ("training", "labels")
DEFAULT_EXCLUDE = [r"(^|\.)classifier(\.|$)", r"(^|\.)lm_head$", r"(^|\.)qa_outputs$", r"embed", r"(^|\.)pooler\."]


@dataclass(repr=False)
class PruningConfig(ConfigMixin):
    """
    What to prune, how to score it, and on which schedule.

    Args:
        method (`str`, defaults to `"magnitude"`):
            Importance score: `"magnitude"` (L1 of the weights of a unit), `"movement"` (first-order, -weight x
            gradient accumulated over the steps before each pruning event) or `"taylor"` (sum of (weight x gradient)^2,
            the first-order estimate of the loss increase; with `prune_`, from calibration batches). Any method registered with
            `hf_compress.pruning.register_pruning_method` is accepted.
        structure (`str`, defaults to `"unstructured"`):
            One of `"unstructured"`, `"n:m"` (N zeros-free weights in every group of M along the input dimension;
            `"2:4"` is accepted as a shorthand), `"heads"` (attention heads), `"neurons"` (FFN intermediate neurons),
            `"channels"` (conv output channels), `"layers"` (whole transformer blocks, removed at once by `prune_`
            before training; see `hf_compress.pruning.layers`). Heads, neurons and channels can be combined with
            `+`, e.g. `"heads+neurons"`: one FLOPs budget is then shared across both.
        n (`int`, defaults to 2) / m (`int`, defaults to 4):
            For `structure="n:m"`: keep `n` weights in each group of `m`.
        target_sparsity (`float`, *optional*):
            Final fraction of weights (unstructured), units (structured) or blocks (layers) removed, in [0, 1).
            Defaults to 0.5 when no budget is given. Not used by `n:m`, whose sparsity is `1 - n/m`.
        target_flops_reduction (`float`, *optional*):
            Fraction of the model's forward FLOPs to remove, in [0, 1). Mutually exclusive with `target_sparsity`.
        scope (`str`, defaults to `"layer"`):
            `"layer"`: every targeted layer reaches the target; `"global"`: one threshold across layers.
        schedule (`str`, defaults to `"cubic"`):
            `"oneshot"` (all at `start_step`), `"iterative"` (equal steps every `frequency` steps) or `"cubic"`
            (Zhu & Gupta 2017 gradual pruning between `start_step` and `end_step`).
        start_step (`int`, defaults to 0) / end_step (`int`, *optional*):
            Optimizer steps where pruning starts and reaches its target. `end_step` defaults to the end of training.
        frequency (`int`, defaults to 10):
            Steps between two pruning events of the iterative and cubic schedules.
        initial_sparsity (`float`, defaults to 0.0):
            Sparsity at `start_step` for the gradual schedules.
        targets (`list[str]`, *optional*):
            Regexes on module names to prune. Default: every module the structure applies to.
        exclude (`list[str]`, *optional*):
            Regexes on module names never pruned. Default: classifier heads, LM head, embeddings and pooler.
        shrink (`bool`, defaults to `True`):
            For structured pruning, physically remove the pruned units at the end of training.
        score_loss (`str`, defaults to `"training"`):
            Which loss the gradient-based methods (`"movement"`, `"taylor"`) score with inside a Trainer:
            `"training"`, the loss being optimized; `"labels"`, the hard-label loss alone, even when a
            `DistillationTrainer` optimizes a distillation loss. With `"labels"` a distilled run ranks units by the loss
            its labels-only twin ranks them by, instead of by how they help match the teacher (the units kept can still
            differ, since the weights do); it costs one more backward pass per optimizer step until the last pruning
            event. Under a plain `Trainer` the two are the same. On the SST-2 benchmark's students pruned while
            distilling it kept other units at the same accuracy (`benchmarks/suite/NOTES.md`).
        sequence_length (`int`, defaults to 128) / image_size (`int`, *optional*):
            Input size at which forward FLOPs are counted for `target_flops_reduction` (text / vision models;
            `image_size` defaults to the model config's `image_size`, else 224).
    """

    config_name = "pruning"

    method: str = field(default="magnitude", metadata={"help": "'magnitude', 'movement', 'taylor' (or registered)."})
    structure: str = field(
        default="unstructured", metadata={"help": f"One of {list(STRUCTURES)}, or 'N:M' like '2:4'."}
    )
    n: int = field(default=2, metadata={"help": "n:m only: weights kept per group."})
    m: int = field(default=4, metadata={"help": "n:m only: group size along the input dimension."})
    target_sparsity: float | None = field(default=None, metadata={"help": "Fraction removed, in [0, 1)."})
    target_flops_reduction: float | None = field(default=None, metadata={"help": "Fraction of FLOPs removed, [0, 1)."})
    scope: str = field(default="layer", metadata={"help": "'layer' or 'global'."})
    schedule: str = field(default="cubic", metadata={"help": f"One of {list(SCHEDULES)}."})
    start_step: int = field(default=0, metadata={"help": "First optimizer step that prunes."})
    end_step: int | None = field(default=None, metadata={"help": "Step where the target is reached; default: end."})
    frequency: int = field(default=10, metadata={"help": "Steps between pruning events (>= 1)."})
    initial_sparsity: float = field(default=0.0, metadata={"help": "Sparsity at start_step for gradual schedules."})
    targets: list[str] | None = field(default=None, metadata={"help": "Module-name regexes to prune."})
    exclude: list[str] | None = field(default=None, metadata={"help": "Module-name regexes never pruned."})
    shrink: bool = field(
        default=True, metadata={"help": "Physically remove pruned heads/neurons/channels at the end."}
    )
    score_loss: str = field(
        default="training", metadata={"help": "Loss gradient-based scores use: 'training' or 'labels'."}
    )
    sequence_length: int = field(default=128, metadata={"help": "Sequence length at which FLOPs are counted."})
    image_size: int | None = field(default=None, metadata={"help": "Image size at which FLOPs are counted."})

    def __post_init__(self):
        owner = type(self).__name__
        shorthand = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", str(self.structure))
        if shorthand:
            self.structure, self.n, self.m = "n:m", int(shorthand.group(1)), int(shorthand.group(2))
        if isinstance(self.structure, (list, tuple)):
            self.structure = "+".join(self.structure)
        if isinstance(self.structure, str) and "+" in self.structure:
            parts = [part.strip() for part in self.structure.split("+")]
            for part in parts:
                check_choice(owner, "structure", part, STRUCTURED)
            self.structure = "+".join(dict.fromkeys(parts))
        else:
            check_choice(owner, "structure", self.structure, STRUCTURES)
        from .methods import available_pruning_methods, get_pruning_method

        check_choice(owner, "method", self.method, available_pruning_methods())
        check_choice(owner, "score_loss", self.score_loss, SCORE_LOSSES)
        if self.score_loss == "labels" and not get_pruning_method(self.method).needs_gradients:
            raise ValueError(
                f"{owner}: score_loss='labels' picks the gradients that score units, but method={self.method!r} "
                "scores without gradients. Use a gradient-based method (e.g. 'taylor', 'movement') or score_loss="
                "'training'."
            )
        check_choice(owner, "scope", self.scope, SCOPES)
        check_choice(owner, "schedule", self.schedule, SCHEDULES)
        check_int(owner, "n", self.n, low=1)
        check_int(owner, "m", self.m, low=1)
        if self.structure == "n:m" and self.n > self.m:
            raise ValueError(f"{owner}: n={self.n} > m={self.m}; N:M pruning keeps n weights out of every m (n <= m).")
        if self.target_sparsity is not None and self.target_flops_reduction is not None:
            raise ValueError(
                f"{owner}: both target_sparsity={self.target_sparsity} and target_flops_reduction="
                f"{self.target_flops_reduction} were given; set exactly one budget."
            )
        if self.target_sparsity is None and self.target_flops_reduction is None and self.structure != "n:m":
            self.target_sparsity = 0.5
        if self.target_sparsity is not None:
            check_range(owner, "target_sparsity", self.target_sparsity, low=0.0, high=1.0, high_inclusive=False)
        if self.target_flops_reduction is not None:
            check_range(
                owner, "target_flops_reduction", self.target_flops_reduction, low=0.0, high=1.0, high_inclusive=False
            )
        check_int(owner, "start_step", self.start_step, low=0)
        check_int(owner, "end_step", self.end_step, low=0, allow_none=True)
        if self.end_step is not None and self.end_step < self.start_step:
            raise ValueError(f"{owner}: end_step={self.end_step} must be >= start_step={self.start_step}.")
        check_int(owner, "frequency", self.frequency, low=1)
        check_range(owner, "initial_sparsity", self.initial_sparsity, low=0.0, high=1.0, high_inclusive=False)
        check_regex_list(owner, "targets", self.targets)
        check_regex_list(owner, "exclude", self.exclude)
        if self.targets is not None:
            self.targets = list(self.targets)
        self.exclude = list(DEFAULT_EXCLUDE) if self.exclude is None else list(self.exclude)
        check_int(owner, "sequence_length", self.sequence_length, low=1)
        check_int(owner, "image_size", self.image_size, low=1, allow_none=True)
        if not isinstance(self.shrink, bool):
            raise ValueError(f"{owner}.shrink must be a bool, got {self.shrink!r}.")

    @property
    def is_structured(self) -> bool:
        """Whether the structure removes whole units (heads, neurons, channels) that shrinking can delete."""
        return all(part in STRUCTURED for part in self.structure.split("+"))

    @property
    def final_sparsity(self) -> float | None:
        """The fraction of weights/units removed at the end, when the budget is a sparsity."""
        if self.structure == "n:m":
            return 1.0 - self.n / self.m
        return self.target_sparsity
