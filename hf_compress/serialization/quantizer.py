"""
The `"hf_compress"` transformers quantizer: lets plain `AutoModelFor*.from_pretrained(dir)` rebuild compressed
layouts (shrunk layers, quantized modules) before the weights are loaded. Registered when `hf_compress` is imported.
"""

from typing import Any

from transformers.quantizers import HfQuantizer, register_quantization_config, register_quantizer
from transformers.quantizers.auto import AUTO_QUANTIZATION_CONFIG_MAPPING, AUTO_QUANTIZER_MAPPING
from transformers.utils.quantization_config import QuantizationConfigMixin

from .layout import rebuild_layouts


QUANT_METHOD = "hf_compress"


class HfCompressConfig(QuantizationConfigMixin):
    """
    What `config.json["quantization_config"]` holds for an hf_compress model.

    Args:
        layouts (`dict`, *optional*): layout-handler name -> description (see `describe_layouts`).
        hf_compress_version (`str`, *optional*): the version that wrote the model.
        kwargs: other keys written by newer versions are kept as attributes (round-tripped on save).
    """

    def __init__(self, layouts: dict[str, Any] | None = None, hf_compress_version: str | None = None, **kwargs):
        kwargs.pop("quant_method", None)
        self.quant_method = QUANT_METHOD
        self.layouts = dict(layouts or {})
        self.hf_compress_version = hf_compress_version
        for key, value in kwargs.items():
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["quant_method"] = QUANT_METHOD
        return data


class HfCompressQuantizer(HfQuantizer):
    """Rebuilds the recorded layouts on the freshly built (meta) model, so every saved tensor has its slot."""

    requires_calibration = False

    def __init__(self, quantization_config: HfCompressConfig, **kwargs):
        super().__init__(quantization_config, **kwargs)

    def _process_model_before_weight_loading(self, model, **kwargs):
        rebuild_layouts(model, self.quantization_config.layouts)
        return model

    def _process_model_after_weight_loading(self, model, **kwargs):
        return model

    def _dequantize(self, model, dtype=None):
        from ..quantization.dequantize import dequantize_layers_  # lazy: quantization imports serialization

        dequantize_layers_(model, dtype)
        return model

    def is_serializable(self, safe_serialization=None) -> bool:
        return True

    @property
    def is_trainable(self) -> bool:
        return True

    @property
    def is_qat_trainable(self) -> bool:
        return True


def register_hf_compress_quantizer() -> None:
    """Register the config and quantizer under `"hf_compress"` (idempotent)."""
    if AUTO_QUANTIZATION_CONFIG_MAPPING.get(QUANT_METHOD) is not HfCompressConfig:
        if QUANT_METHOD in AUTO_QUANTIZATION_CONFIG_MAPPING:
            del AUTO_QUANTIZATION_CONFIG_MAPPING[QUANT_METHOD]
        register_quantization_config(QUANT_METHOD)(HfCompressConfig)
    if AUTO_QUANTIZER_MAPPING.get(QUANT_METHOD) is not HfCompressQuantizer:
        if QUANT_METHOD in AUTO_QUANTIZER_MAPPING:
            del AUTO_QUANTIZER_MAPPING[QUANT_METHOD]
        register_quantizer(QUANT_METHOD)(HfCompressQuantizer)


register_hf_compress_quantizer()
