"""`dequantize_` / `model.dequantize()`: a compressed model back to float layers that train, prune and save again."""

import torch
import torch.nn as nn

from hf_compress import (
    PruningConfig,
    QuantizationConfig,
    count_flops,
    dequantize_,
    load_compressed,
    prune_,
    quantize_,
    save_compressed,
)
from hf_compress.quantization import QuantizedLinear
from tests.pruning.tiny_models import text_batch, tiny_bert


def pruned_int8_bert():
    model = tiny_bert().eval()
    prune_(model, PruningConfig(structure="heads+neurons", target_flops_reduction=0.5, method="magnitude"))
    quantize_(model, QuantizationConfig(mode="ptq", bits=8))
    return model


def quantized_layers(model):
    return [name for name, module in model.named_modules() if isinstance(module, QuantizedLinear)]


def test_dequantize_keeps_the_logits_and_drops_the_quantization_config(tmp_path):
    model = pruned_int8_bert()
    inputs = text_batch()
    with torch.no_grad():
        expected = model(**inputs).logits
    save_compressed(model, tmp_path)
    reloaded = load_compressed(tmp_path)
    assert reloaded.hf_quantizer is not None and quantized_layers(reloaded)
    names = quantized_layers(reloaded)

    reloaded.dequantize()  # the transformers way, through our quantizer

    assert not quantized_layers(reloaded)
    assert all(type(reloaded.get_submodule(name)) is nn.Linear for name in names)
    assert getattr(reloaded, "hf_quantizer", None) is None and not reloaded.is_quantized
    assert getattr(reloaded.config, "quantization_config", None) is None
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**inputs).logits, expected, atol=1e-5, rtol=0)
    save_compressed(reloaded, tmp_path / "float")  # the pruned sizes travel without the quantization config
    with torch.no_grad():
        torch.testing.assert_close(load_compressed(tmp_path / "float")(**inputs).logits, expected, atol=1e-5, rtol=0)


def test_dequantize_in_session_model_returns_the_layer_names_and_float_weights():
    model = pruned_int8_bert()
    before = {name: model.get_submodule(name).dequantized_weight().clone() for name in quantized_layers(model)}
    model.config.quantization_config = {"quant_method": "hf_compress"}  # as after save_compressed

    same, names = dequantize_(model, dtype=torch.float64)

    assert same is model and sorted(names) == sorted(before)
    for name, weight in before.items():
        layer = model.get_submodule(name)
        assert layer.weight.dtype == torch.float64 and torch.equal(layer.weight.float(), weight)
    assert getattr(model.config, "quantization_config", None) is None


def test_a_dequantized_student_is_pruned_further_trained_and_reloads_at_its_new_size(tmp_path):
    model = pruned_int8_bert()
    save_compressed(model, tmp_path / "int8")
    student = load_compressed(tmp_path / "int8")
    student.dequantize()
    half = count_flops(student, sequence_length=8).total_macs

    prune_(student, PruningConfig(structure="heads+neurons", target_flops_reduction=0.5, method="magnitude"))
    student.train()
    optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
    loss = student(**text_batch(), labels=torch.tensor([0, 1])).loss
    loss.backward()
    weight = student.bert.encoder.layer[0].intermediate.dense.weight
    before = weight.detach().clone()
    optimizer.step()
    assert not torch.equal(weight, before)  # float parameters that train

    quantize_(student, QuantizationConfig(mode="ptq", bits=8))
    save_compressed(student, tmp_path / "again")
    again = load_compressed(tmp_path / "again")
    assert count_flops(again, sequence_length=8).total_macs < 0.6 * half
    student.eval()
    with torch.no_grad():
        torch.testing.assert_close(again(**text_batch()).logits, student(**text_batch()).logits, atol=1e-5, rtol=0)
