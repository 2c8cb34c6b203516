"""hf_compress: prune, quantize and distill any Hugging Face AutoModel inside the Trainer."""

from .config import CompressionConfig
from .distillation.config import DistillationConfig
from .pruning.config import PruningConfig
from .quantization.config import QuantizationConfig
from .version import __version__


__all__ = [
    "CompressionConfig",
    "DistillationConfig",
    "PruningConfig",
    "QuantizationConfig",
    "__version__",
]
