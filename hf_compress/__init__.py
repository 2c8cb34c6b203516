"""hf_compress: prune, quantize and distill any Hugging Face AutoModel inside the Trainer."""

from .config import CompressionConfig
from .distillation.config import DistillationConfig
from .distillation.teacher_cache import precompute_teacher_logits
from .distillation.trainer import DistillationTrainer
from .pruning.config import PruningConfig
from .quantization.config import QuantizationConfig
from .version import __version__


__all__ = [
    "CompressionConfig",
    "DistillationConfig",
    "DistillationTrainer",
    "PruningConfig",
    "QuantizationConfig",
    "__version__",
    "precompute_teacher_logits",
]
