"""Quantization: fake-quant (QAT), PTQ, weight sharing, conversion and the `QuantizationCallback`."""
