"""Pruning and QAT at once: structured pruning shrinks fake-quantized layers exactly, or says why it cannot."""

import pytest
import torch

from hf_compress.pruning.callback import PruningCallback
from hf_compress.pruning.config import PruningConfig
from hf_compress.pruning.shrink import describe_shapes, rebuild_shapes
from hf_compress.quantization import QATLinear, QuantizationCallback, QuantizationConfig, QuantizedLinear
from hf_compress.quantization.convert import convert
from hf_compress.quantization.prepare import prepare_qat
from hf_compress.serialization.load import load_compressed
from hf_compress.serialization.save import save_compressed
from tests.pruning.helpers import train
from tests.pruning.tiny_models import text_batch, tiny_bert


def masked_qat_model(structure: str, activations=None, **quantization):
    """A tiny BERT with heads / neurons masked one-shot, then prepared for QAT (observers seeded by one forward)."""
    model = tiny_bert().eval()
    callback = PruningCallback(PruningConfig(structure=structure, target_sparsity=0.5, schedule="oneshot"))
    callback.setup(model, max_steps=1)
    callback.prune(callback.config.target_sparsity)
    prepare_qat(model, QuantizationConfig(activations=activations, **quantization))
    model.train()
    with torch.no_grad():
        model(**text_batch())  # the input observers see a batch, as during training
    return model.eval(), callback


def linear_layers(model, cls):
    return {name: module for name, module in model.named_modules() if isinstance(module, cls)}


@pytest.mark.parametrize(
    "quantization",
    [
        {"bits": 8, "activations": 8},  # per-channel weights, a static input range
        {"bits": 8, "activations": "dynamic", "granularity": "per_tensor", "symmetric": False},
        {"bits": "ternary"},  # thresholds average over the whole row, zeros included: only frozen scales keep them
        {"bits": 4, "granularity": "per_group", "group_size": 8},  # one head (8 columns) is one group
    ],
)
def test_shrinking_fake_quantized_heads_keeps_logits_then_converts(quantization):
    model, callback = masked_qat_model("heads", **quantization)
    batch = text_batch()
    with torch.no_grad():
        masked = model(**batch).logits
    before = {name: (m.out_features, m.in_features) for name, m in linear_layers(model, QATLinear).items()}
    result = callback.shrink(model)
    assert not result.left_alone and result.shrunk
    after = linear_layers(model, QATLinear)
    assert set(after) == set(before)  # still fake-quantized: the training-time numerics are kept
    assert after["bert.encoder.layer.0.attention.self.query"].out_features == before[
        "bert.encoder.layer.0.attention.self.query"][0] // 2  # fmt: skip
    assert after["bert.encoder.layer.0.attention.output.dense"].in_features == 16
    with torch.no_grad():
        shrunk = model(**batch).logits
        assert torch.allclose(masked, shrunk, atol=1e-5), (masked - shrunk).abs().max()
        convert(model)
        converted = model(**batch).logits
    assert all(isinstance(m, QuantizedLinear) for m in linear_layers(model, torch.nn.Linear).values()
               if m is not model.classifier and "pooler" not in repr(m))  # fmt: skip
    assert model.bert.encoder.layer[0].attention.self.query.out_features == 16
    assert torch.allclose(shrunk, converted, atol=1e-4), (shrunk - converted).abs().max()


def test_per_group_scales_across_removed_inputs_are_left_masked_with_the_reason(caplog):
    model, callback = masked_qat_model("neurons", bits=4, granularity="per_group", group_size=16)
    batch = text_batch()
    with torch.no_grad():
        masked = model(**batch).logits
    result = callback.shrink(model)
    assert set(result.left_alone) == {"bert.encoder.layer.0", "bert.encoder.layer.1"}
    assert "per_group scales (group_size=16) span kept and removed input features" in result.left_alone[
        "bert.encoder.layer.0"]  # fmt: skip
    assert model.bert.encoder.layer[0].intermediate.dense.out_features == 64  # untouched, still masked
    with torch.no_grad():
        assert torch.equal(masked, model(**batch).logits)


def test_shrunk_unconverted_qat_layers_describe_their_float_shapes():
    model, callback = masked_qat_model("heads+neurons")
    callback.shrink(model)
    description = describe_shapes(model)
    query = description["modules"]["bert.encoder.layer.0.attention.self.query"]
    assert query == {"type": "Linear", "in_features": 32, "out_features": 16, "bias": True}
    fresh = tiny_bert(seed=1)
    rebuild_shapes(fresh, description)
    fresh.load_state_dict(model.state_dict())  # strict: every shape and key of the QAT model matches
    with torch.no_grad():
        model.eval(), fresh.eval()
        assert fresh.bert.encoder.layer[1].intermediate.dense.out_features == 32
        weights = model.bert.encoder.layer[1].intermediate.dense.weight
        assert torch.equal(fresh.bert.encoder.layer[1].intermediate.dense.weight, weights)


def test_pruning_and_qat_at_once_in_a_trainer_save_a_shrunk_model(tmp_path):
    model = tiny_bert()
    dense_params = sum(p.numel() for p in model.parameters())
    pruning = PruningCallback(PruningConfig(structure="heads+neurons", target_sparsity=0.5, schedule="cubic",
                                            start_step=0, end_step=10, frequency=2))  # fmt: skip
    quantization = QuantizationCallback(QuantizationConfig(bits=8), start_after_pruning=False)
    trainer = train(model, [pruning, quantization], str(tmp_path / "run"), max_steps=20)
    assert quantization.effective_start_step == 0  # fake-quantized while the masks grew
    assert not pruning.shrink_result.left_alone
    trained = trainer.model.eval()
    layer = trained.bert.encoder.layer[0]
    assert isinstance(layer.intermediate.dense, QuantizedLinear) and layer.intermediate.dense.out_features < 64
    assert sum(p.numel() for p in trained.parameters()) < 0.8 * dense_params
    save_compressed(trained, str(tmp_path / "saved"))
    reloaded = load_compressed(str(tmp_path / "saved")).eval()
    batch = text_batch()
    with torch.no_grad():
        assert torch.allclose(trained(**batch).logits, reloaded(**batch).logits, atol=1e-5)
    assert reloaded.bert.encoder.layer[0].intermediate.dense.out_features == layer.intermediate.dense.out_features
