"""`QuantizationCallback` inside a plain `transformers.Trainer`: QAT end to end, pruning x QAT, exact resume."""

import os

import pytest
import torch
from transformers import Trainer, TrainingArguments

from hf_compress.quantization import QATLinear, QuantizationCallback, QuantizationConfig, QuantizedLinear

from .helpers import inputs, tiny_bert, toy_dataset


def make_trainer(tmp_path, model, callbacks, max_steps=8, **kwargs):
    kwargs = {"save_strategy": "no", **kwargs}
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=max_steps, per_device_train_batch_size=8, learning_rate=2e-3,
        logging_steps=1, report_to=[], use_cpu=True, disable_tqdm=True, seed=0, **kwargs,
    )  # fmt: skip
    return Trainer(model=model, args=args, train_dataset=toy_dataset(), callbacks=callbacks)


def test_qat_end_to_end_with_plain_trainer(tmp_path):
    model = tiny_bert()
    seen = {}

    class Probe(QuantizationCallback.__mro__[1]):  # plain TrainerCallback: records the layer types mid-training
        def on_step_end(self, args, state, control, model=None, **kwargs):
            seen.setdefault(state.global_step, isinstance(model.bert.encoder.layer[0].output.dense, QATLinear))

    callback = QuantizationCallback(QuantizationConfig(bits=4, granularity="per_group", group_size=16, start_step=2,
                                                       freeze_observers_step=5, activations=8))  # fmt: skip
    trainer = make_trainer(tmp_path, model, [callback, Probe()])
    output = trainer.train()
    assert seen[1] is False and seen[3] is True  # fake-quant starts at start_step
    assert callback.frozen and callback.converted
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    assert len(losses) == 8 and all(torch.isfinite(torch.tensor(losses)))
    assert output.training_loss < losses[0] + 1.0
    layer = model.bert.encoder.layer[0].output.dense
    assert isinstance(layer, QuantizedLinear) and layer.qweight.dtype == torch.uint8
    assert layer.hf_compress_bits == 4 and float(layer.input_scale) > 0
    with torch.no_grad():
        assert torch.isfinite(model(**inputs()).logits).all()


@pytest.mark.parametrize("bits", [8, "ternary"])
def test_fixed_mask_zeros_stay_zero_through_qat_and_conversion(tmp_path, bits):
    """Weights zeroed before QAT (one-shot pruning, no pruning callback) are locked: Adam cannot revive them."""
    model = tiny_bert()
    generator = torch.Generator().manual_seed(0)
    masks, before = {}, {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and "classifier" not in name:
            masks[name] = torch.rand(module.weight.shape, generator=generator) < 0.6
            with torch.no_grad():
                module.weight[masks[name]] = 0.0
            before[name] = module.weight.detach().clone()
    make_trainer(tmp_path, model, [QuantizationCallback(QuantizationConfig(bits=bits))]).train()
    for name, mask in masks.items():
        layer = model.get_submodule(name)
        assert (layer.dequantized_weight()[mask] == 0).all(), f"{name}: pruned weights revived"
        kept_codes = layer.codes()[~mask]
        assert kept_codes.ne(0).float().mean() > 0.5, f"{name}: kept weights collapsed to zero"


def test_pruning_callback_then_qat_keeps_zeros_and_sparsity(tmp_path):
    from hf_compress.pruning.callback import PruningCallback
    from hf_compress.pruning.config import PruningConfig

    model = tiny_bert()
    pruning = PruningCallback(PruningConfig(structure="unstructured", target_sparsity=0.5, schedule="iterative",
                                            start_step=0, end_step=4, frequency=2, targets=[r"encoder"]))  # fmt: skip
    quant = QuantizationCallback(QuantizationConfig(bits=4, granularity="per_channel", symmetric=False))
    sparsity_at_end_of_pruning = {}

    class Probe(QuantizationCallback.__mro__[1]):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step == 4:
                for name, module in model.named_modules():
                    if isinstance(module, torch.nn.Linear) and "encoder" in name:
                        sparsity_at_end_of_pruning[name] = module.weight.detach() == 0
                assert not any(isinstance(m, QATLinear) for m in model.modules()), "QAT must start after pruning"

    trainer = make_trainer(tmp_path, model, [pruning, quant, Probe()], max_steps=10)
    trainer.train()
    assert quant.effective_start_step == 4  # prune-then-quantize by default
    assert sparsity_at_end_of_pruning
    for name, zeros in sparsity_at_end_of_pruning.items():
        layer = model.get_submodule(name)
        assert isinstance(layer, QuantizedLinear), name
        assert 0.4 < zeros.float().mean() < 0.6
        weight = layer.dequantized_weight()
        assert (weight[zeros] == 0).all(), f"{name}: pruned weights revived by QAT"
        # the float weights kept exactly the pruned sparsity; rounding may only zero a few tiny kept weights
        assert (weight == 0).float().mean() - zeros.float().mean() < 0.05


def test_resume_from_checkpoint_continues_exactly(tmp_path):
    config = QuantizationConfig(bits=8, activations=8, start_step=1, freeze_observers_step=2)

    def run(output_dir, max_steps, resume=None):
        model = tiny_bert()
        trainer = make_trainer(output_dir, model, [QuantizationCallback(config)], max_steps=max_steps,
                               save_strategy="steps", save_steps=3)  # fmt: skip
        trainer.train(resume_from_checkpoint=resume)
        with torch.no_grad():
            return model(**inputs()).logits

    full = run(tmp_path / "full", 6)
    checkpoint = tmp_path / "full" / "checkpoint-3"
    assert os.path.isdir(checkpoint)
    resumed = run(tmp_path / "full", 6, resume=str(checkpoint))
    torch.testing.assert_close(resumed, full, rtol=0, atol=1e-6)
