"""Configuration of quantization (QAT, PTQ and weight sharing)."""

from dataclasses import dataclass, field

from ..utils.config_mixin import ConfigMixin
from ..utils.validation import check_choice, check_int, check_regex_list


BITS = (8, 4, 2, "ternary", 1)
MODES = ("qat", "ptq")
GRANULARITIES = ("per_tensor", "per_channel", "per_group")
DYNAMIC = "dynamic"
ACTIVATION_BITS = (None, 8, DYNAMIC)
EMBEDDING_BITS = (None, 8, 4)
DEFAULT_EXCLUDE = [r"(^|\.)classifier(\.|$)", r"(^|\.)lm_head$", r"(^|\.)qa_outputs$", r"embed"]


@dataclass(repr=False)
class QuantizationConfig(ConfigMixin):
    """
    How weights (and optionally activations) are quantized.

    Args:
        bits (`int` or `str`, defaults to 8):
            Weight bit width: 8, 4, 2, `"ternary"` ({-a, 0, +a}) or 1 (`"binary"`, {-a, +a}, BinaryConnect).
        mode (`str`, defaults to `"qat"`):
            `"qat"`: fake-quantize during training, convert at the end; `"ptq"`: quantize a trained model without
            training (optionally calibrating activation ranges on a dataset).
        granularity (`str`, defaults to `"per_channel"`):
            Scale granularity: `"per_tensor"`, `"per_channel"` (one scale per output row) or `"per_group"`.
        group_size (`int`, defaults to 128):
            For `"per_group"`: number of consecutive input weights sharing a scale; must divide the input dimension.
        symmetric (`bool`, defaults to `True`):
            Symmetric (zero-point 0) or asymmetric (with a zero-point) weight quantization.
        activations (`int` or `str`, *optional*):
            Fake-quantize the inputs of quantized Linear layers: `8` with a range observed during training or PTQ
            calibration (static), or `"dynamic"`: 8-bit asymmetric with the range of each input tensor, exactly
            as ONNX Runtime's dynamic int8 (`DynamicQuantizeLinear`) runs it, so the exported model matches.
        weight_sharing (`bool`, defaults to `False`):
            Deep-Compression weight sharing: a k-means codebook of 2^bits centroids per layer, stored as indices.
        start_step (`int`, defaults to 0):
            Optimizer step at which QAT fake-quantization starts.
        freeze_observers_step (`int`, *optional*):
            Step after which scales and zero-points stop being updated.
        calibration_samples (`int`, defaults to 128):
            PTQ: number of calibration examples used for activation ranges.
        embeddings (`int`, *optional*):
            Also store the embedding tables (`nn.Embedding`) in `8` or `4` bits, symmetric with one scale per row
            (weight-only; fake-quantized during QAT like the Linear layers). In a small transformer the vocabulary
            table is most of the bytes on disk. Tables whose weight is shared with another layer (tied input/output
            embeddings) are left in full precision, with a warning. `exclude` patterns apply, except the default
            `"embed"` one, which keeps embedding-named Linear layers out of `targets`.
        targets (`list[str]`, *optional*) / exclude (`list[str]`, *optional*):
            Module-name regexes to quantize / to leave in full precision (default: heads and embeddings excluded).
    """

    config_name = "quantization"

    bits: int | str = field(default=8, metadata={"help": "8, 4, 2, 'ternary' or 1 ('binary')."})
    mode: str = field(default="qat", metadata={"help": "'qat' or 'ptq'."})
    granularity: str = field(default="per_channel", metadata={"help": f"One of {list(GRANULARITIES)}."})
    group_size: int = field(default=128, metadata={"help": "per_group: inputs per scale; must divide in_features."})
    symmetric: bool = field(default=True, metadata={"help": "Symmetric (True) or asymmetric (False) weights."})
    activations: int | None = field(
        default=None, metadata={"help": "8 (static range), 'dynamic' (per-call range, as ONNX Runtime) or None."}
    )
    weight_sharing: bool = field(default=False, metadata={"help": "k-means codebook of 2^bits centroids per layer."})
    start_step: int = field(default=0, metadata={"help": "Step at which QAT starts."})
    freeze_observers_step: int | None = field(default=None, metadata={"help": "Step after which scales freeze."})
    calibration_samples: int = field(default=128, metadata={"help": "PTQ calibration examples (>= 1)."})
    embeddings: int | None = field(
        default=None, metadata={"help": "Bits of the embedding tables: 8, 4, or None (kept in full precision)."}
    )
    targets: list[str] | None = field(default=None, metadata={"help": "Module-name regexes to quantize."})
    exclude: list[str] | None = field(default=None, metadata={"help": "Module-name regexes kept in full precision."})

    def __post_init__(self):
        owner = type(self).__name__
        if self.bits == "binary":
            self.bits = 1
        check_choice(owner, "bits", self.bits, BITS)
        check_choice(owner, "mode", self.mode, MODES)
        check_choice(owner, "granularity", self.granularity, GRANULARITIES)
        check_int(owner, "group_size", self.group_size, low=1)
        if not isinstance(self.symmetric, bool):
            raise ValueError(f"{owner}.symmetric must be a bool, got {self.symmetric!r}.")
        if self.activations is False:
            self.activations = None
        check_choice(owner, "activations", self.activations, ACTIVATION_BITS)
        if not isinstance(self.weight_sharing, bool):
            raise ValueError(f"{owner}.weight_sharing must be a bool, got {self.weight_sharing!r}.")
        if self.weight_sharing and self.bits in ("ternary", 1):
            raise ValueError(f"{owner}: weight_sharing needs bits in [8, 4, 2] (2^bits centroids), got {self.bits!r}.")
        if self.bits in ("ternary", 1) and not self.symmetric:
            raise ValueError(f"{owner}: bits={self.bits!r} is symmetric by definition; set symmetric=True.")
        check_int(owner, "start_step", self.start_step, low=0)
        check_int(owner, "freeze_observers_step", self.freeze_observers_step, low=0, allow_none=True)
        check_int(owner, "calibration_samples", self.calibration_samples, low=1)
        if self.embeddings is False:
            self.embeddings = None
        check_choice(owner, "embeddings", self.embeddings, EMBEDDING_BITS)
        check_regex_list(owner, "targets", self.targets)
        check_regex_list(owner, "exclude", self.exclude)
        if self.targets is not None:
            self.targets = list(self.targets)
        self.exclude = list(DEFAULT_EXCLUDE) if self.exclude is None else list(self.exclude)

    @property
    def static_activations(self) -> bool:
        """Whether activation ranges are observed/calibrated (rather than none, or computed per call)."""
        return isinstance(self.activations, int)

    @property
    def num_levels(self) -> int:
        """Number of distinct values a quantized weight can take in one scale group."""
        return {"ternary": 3, 1: 2}.get(self.bits, 2**self.bits if isinstance(self.bits, int) else 0)
