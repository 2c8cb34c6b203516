"""Configuration of the knowledge-distillation loss."""

from dataclasses import dataclass, field

from ..utils.config_mixin import ConfigMixin
from ..utils.validation import check_choice, check_int, check_range


@dataclass(repr=False)
class DistillationConfig(ConfigMixin):
    """
    How the student learns from the frozen teacher.

    The training loss is `(1 - alpha) * hard_label_loss + alpha * logit_loss + hidden_loss_weight * hidden_loss +
    attention_loss_weight * attention_loss`. With `alpha=0` and no intermediate terms it is exactly the loss a plain
    `transformers.Trainer` would compute.

    Args:
        temperature (`float`, defaults to 2.0):
            Softmax temperature applied to both teacher and student logits. The KL term is scaled by T^2.
        alpha (`float`, defaults to 0.5):
            Weight of the logit distillation term in [0, 1]; `1 - alpha` weights the hard-label loss.
        logit_loss (`str`, defaults to `"kl"`):
            `"kl"`: KL(teacher || student) of the softened distributions; `"mse"`: mean squared error of the raw logits.
        hidden_loss_weight (`float`, defaults to 0.0):
            Weight of the hidden-state MSE between mapped student and teacher layers.
        attention_loss_weight (`float`, defaults to 0.0):
            Weight of the attention-map loss (KL between attention probabilities, averaged over heads).
        layer_map (`list[int]`, *optional*):
            `layer_map[i]` is the teacher layer matched to student layer `i` (0-based, counting transformer blocks).
            Default: a uniform mapping of the student's layers onto the teacher's.
        top_k (`int`, *optional*):
            Distil only against the teacher's top-k logits (used by the teacher-logit cache to keep it small).
    """

    config_name = "distillation"

    temperature: float = field(
        default=2.0, metadata={"help": "Softmax temperature (> 0). The KL term is scaled by T^2."}
    )
    alpha: float = field(default=0.5, metadata={"help": "Weight of the distillation term in [0, 1]."})
    logit_loss: str = field(default="kl", metadata={"help": "'kl' (softened KL) or 'mse' (raw logits)."})
    hidden_loss_weight: float = field(default=0.0, metadata={"help": "Weight of the hidden-state MSE (>= 0)."})
    attention_loss_weight: float = field(default=0.0, metadata={"help": "Weight of the attention-map loss (>= 0)."})
    layer_map: list[int] | None = field(
        default=None, metadata={"help": "Teacher layer index for each student layer; default: uniform mapping."}
    )
    top_k: int | None = field(
        default=None, metadata={"help": "Distil only against the teacher's top-k logits (>= 1); default: all."}
    )

    def __post_init__(self):
        owner = type(self).__name__
        check_range(owner, "temperature", self.temperature, low=0.0, low_inclusive=False)
        check_range(owner, "alpha", self.alpha, low=0.0, high=1.0)
        check_choice(owner, "logit_loss", self.logit_loss, ["kl", "mse"])
        check_range(owner, "hidden_loss_weight", self.hidden_loss_weight, low=0.0)
        check_range(owner, "attention_loss_weight", self.attention_loss_weight, low=0.0)
        check_int(owner, "top_k", self.top_k, low=1, allow_none=True)
        if self.layer_map is not None:
            if isinstance(self.layer_map, tuple):
                self.layer_map = list(self.layer_map)
            if not isinstance(self.layer_map, list) or not self.layer_map:
                raise ValueError(
                    f"{owner}.layer_map must be a non-empty list of teacher layer indices, got {self.layer_map!r}."
                )
            for index in self.layer_map:
                check_int(owner, "layer_map[...]", index, low=0)

    @property
    def uses_intermediate_layers(self) -> bool:
        return self.hidden_loss_weight > 0 or self.attention_loss_weight > 0
