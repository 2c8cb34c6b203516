"""The embedding-table benchmark measures the student it was given, with only its tables changed."""

import os

import pytest
import torch

from benchmarks.embedding_tables_sst2 import with_tables
from hf_compress.quantization import QuantizationConfig, QuantizedEmbedding, QuantizedLinear, quantize_
from tests.quantization.helpers import inputs, tiny_bert


def test_each_form_changes_only_the_tables_and_reloads_identically(tmp_path):
    student = tiny_bert(hidden=64)
    quantize_(student, QuantizationConfig(mode="ptq"))
    probe = inputs()
    sizes = {}
    for bits in (None, 8, 4):
        model, path = with_tables(student, bits, str(tmp_path), f"form{bits}", probe)
        tables = [m for m in model.modules() if isinstance(m, QuantizedEmbedding)]
        assert len(tables) == (0 if bits is None else 3) and all(t.spec.bits == bits for t in tables)
        assert sum(isinstance(m, QuantizedLinear) for m in model.modules()) == 13
        sizes[bits] = sum(
            os.path.getsize(os.path.join(path, f)) for f in os.listdir(path) if f.endswith(".safetensors")
        )
    assert sizes[4] < sizes[8] < sizes[None]
    assert not any(isinstance(m, QuantizedEmbedding) for m in student.modules())  # the given student is untouched


def test_a_reload_that_differs_is_an_error(tmp_path, monkeypatch):
    student = tiny_bert()
    import benchmarks.embedding_tables_sst2 as bench

    real = bench.load_compressed

    def perturbed(path):
        model = real(path)
        with torch.no_grad():
            model.classifier.bias.add_(1.0)
        return model

    monkeypatch.setattr(bench, "load_compressed", perturbed)
    with pytest.raises(RuntimeError, match="reloaded model's logits differ"):
        with_tables(student, 8, str(tmp_path), "broken", inputs())
