"""Quantization: fake-quant (QAT), PTQ, weight sharing, conversion and the `QuantizationCallback`."""

from .. import serialization as _serialization  # noqa: F401  (shape layouts register before quantized ones)
from . import layout as _layout  # noqa: F401  (registers the quantized layout handlers)
from .api import convert_qat, quantize_
from .callback import QuantizationCallback
from .config import QuantizationConfig
from .dequantize import dequantize_
from .prepare import prepare_qat
from .qat_embedding import QATEmbedding
from .qat_linear import QATLinear
from .quantized_embedding import QuantizedEmbedding
from .quantized_linear import QuantizedLinear
from .shared_linear import SharedWeightLinear


__all__ = [
    "QATEmbedding",
    "QATLinear",
    "QuantizationCallback",
    "QuantizationConfig",
    "QuantizedEmbedding",
    "QuantizedLinear",
    "SharedWeightLinear",
    "convert_qat",
    "dequantize_",
    "prepare_qat",
    "quantize_",
]
