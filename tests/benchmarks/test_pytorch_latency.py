"""The PyTorch latency benchmark compares the same function computed different ways, never different models."""

import torch

from benchmarks.pytorch_int8_latency import WithoutInt8Kernel, dynamic_activations_copy, generic_dequantization_copy
from hf_compress.export.onnx import materialize_quantized
from hf_compress.quantization import QuantizationConfig, QuantizedLinear, convert_qat, quantize_
from tests.pruning.tiny_models import tiny_bert


def _int8_student():
    model = tiny_bert()
    quantize_(model, QuantizationConfig(bits=8))
    model.train()
    ids = torch.randint(5, 100, (4, 12), generator=torch.Generator().manual_seed(0))
    model(input_ids=ids).logits.sum().backward()  # observers see one batch
    convert_qat(model.eval())
    return model, ids


def test_every_pytorch_form_of_the_student_computes_the_same_logits(monkeypatch):
    student, ids = _int8_student()
    int8_calls = []
    real_int_mm = torch._int_mm
    monkeypatch.setattr(torch, "_int_mm", lambda *args: int8_calls.append(1) or real_int_mm(*args))
    with torch.no_grad():
        reference = student(input_ids=ids).logits
        generic = generic_dequantization_copy(student)
        assert torch.equal(generic(input_ids=ids).logits, reference)
        assert not any(isinstance(m, QuantizedLinear) for m in materialize_quantized(student)[0].modules())
        assert torch.allclose(materialize_quantized(student)[0](input_ids=ids).logits, reference, atol=1e-5)
        dynamic = dynamic_activations_copy(student)
        assert all(m.activation_bits == "dynamic" for m in dynamic.modules() if isinstance(m, QuantizedLinear))
        on_int8_gemm = dynamic(input_ids=ids).logits
        calls = len(int8_calls)
        assert calls > 0
        assert torch.equal(WithoutInt8Kernel(dynamic)(input_ids=ids).logits, on_int8_gemm)
        assert len(int8_calls) == calls  # the float64 product ran instead
        assert not torch.equal(on_int8_gemm, reference)  # inputs quantized at run time: a different function
    # the copies leave the student itself as it was
    assert all(m.activation_bits is None for m in student.modules() if isinstance(m, QuantizedLinear))
    assert not any("dequantizes_in_place" in vars(m) for m in student.modules())
