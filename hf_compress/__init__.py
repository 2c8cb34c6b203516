"""
hf_compress: prune, quantize and distill any Hugging Face AutoModel inside the Trainer.

Importing the package registers the "hf_compress" quantization method with transformers, so that
`AutoModelFor*.from_pretrained(dir)` rebuilds shrunk and quantized models saved by hf_compress.
"""

from .analysis import CompressionReport, compression_report, count_flops
from .config import CompressionConfig
from .distillation.config import DistillationConfig
from .distillation.refit import refit_to_teacher_
from .distillation.teacher_cache import precompute_teacher_logits
from .distillation.trainer import DistillationTrainer
from .export import check_onnx_export, export_onnx, onnx_session
from .hub import push_compressed
from .pruning import PruningCallback, PruningConfig, prune_, register_pruning_method, shrink_model
from .quantization import QuantizationCallback, QuantizationConfig, convert_qat, dequantize_, prepare_qat, quantize_
from .recipes import RecipeError, load_recipe, run_recipe
from .serialization import load_compressed, save_compressed
from .version import __version__


__all__ = [
    "CompressionConfig",
    "CompressionReport",
    "DistillationConfig",
    "DistillationTrainer",
    "PruningCallback",
    "PruningConfig",
    "QuantizationCallback",
    "QuantizationConfig",
    "RecipeError",
    "__version__",
    "check_onnx_export",
    "compression_report",
    "convert_qat",
    "count_flops",
    "dequantize_",
    "export_onnx",
    "load_compressed",
    "load_recipe",
    "onnx_session",
    "precompute_teacher_logits",
    "prune_",
    "prepare_qat",
    "push_compressed",
    "quantize_",
    "refit_to_teacher_",
    "register_pruning_method",
    "run_recipe",
    "save_compressed",
    "shrink_model",
]
