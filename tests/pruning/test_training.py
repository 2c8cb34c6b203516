"""The callback inside a plain `transformers.Trainer`: masks survive Adam, schedules reach targets, resume is exact."""

import os

import pytest
import torch

from hf_compress.pruning.callback import STATE_FILE, PruningCallback
from hf_compress.pruning.config import PruningConfig
from hf_compress.pruning.structures import check_n_m
from tests.pruning.helpers import RandomImageDataset, find_callback, train
from tests.pruning.tiny_models import tiny_bert, tiny_resnet


def _snapshot_masks(callback: PruningCallback) -> dict[str, torch.Tensor]:
    return {name: mask.clone() for name, mask in callback.masks.items()}


def _assert_masked_zero_and_rest_trained(model, masks, initial):
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        weight = params[name].detach()
        pruned = ~mask.expand_as(weight)
        assert pruned.any(), name
        assert torch.count_nonzero(weight[pruned]) == 0, f"{name}: pruned weights revived"
        assert not torch.equal(weight[~pruned], initial[name][~pruned]), f"{name}: kept weights did not train"


def test_pruned_weights_stay_zero_after_50_adam_steps(tmp_path):
    """Unstructured, 2:4 and heads pruning side by side (three callbacks), one-shot at step 0, then 50 AdamW steps."""
    model = tiny_bert()
    unstructured = PruningCallback(
        PruningConfig(
            structure="unstructured",
            target_sparsity=0.7,
            schedule="oneshot",
            targets=[r"layer\.0\.(intermediate|output)\.dense"],
        )
    )
    n_m = PruningCallback(
        PruningConfig(structure="2:4", schedule="oneshot", targets=[r"layer\.1\.(intermediate|output)\.dense"])
    )
    heads = PruningCallback(PruningConfig(structure="heads", target_sparsity=0.5, schedule="oneshot", shrink=False))
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    masks = {}

    class Recorder(PruningCallback.__mro__[1]):  # a TrainerCallback that snapshots masks after the step-0 event
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 0:
                for callback in (unstructured, n_m, heads):
                    masks.update(_snapshot_masks(callback))

    trainer = train(model, [unstructured, n_m, heads, Recorder()], str(tmp_path), max_steps=50)
    assert trainer.state.global_step == 50
    assert len(masks) == 2 + 2 + 2 * 7  # FFN weights (x2), then (q,k,v weight+bias, o weight) x 2 layers
    _assert_masked_zero_and_rest_trained(model, masks, initial)
    for name, mask in masks.items():  # masks did not move after the one-shot event
        assert torch.equal(mask, {**unstructured.masks, **n_m.masks, **heads.masks}[name])
    params = dict(model.named_parameters())
    assert check_n_m(params["bert.encoder.layer.1.intermediate.dense.weight"], 2, 4)
    assert abs((params["bert.encoder.layer.0.output.dense.weight"] == 0).float().mean().item() - 0.7) <= 0.01


def test_cubic_neurons_reach_target_and_stay_zero(tmp_path):
    model = tiny_bert()
    callback = PruningCallback(
        PruningConfig(
            structure="neurons", target_sparsity=0.5, schedule="cubic", frequency=5, end_step=30, shrink=False
        )
    )
    train(model, callback, str(tmp_path), max_steps=50)
    assert callback.events == 7 and callback.current_amount == pytest.approx(0.5)
    for layer in model.bert.encoder.layer:
        rows = layer.intermediate.dense.weight.detach()
        dead = (rows == 0).all(dim=1)
        assert dead.float().mean().item() == pytest.approx(0.5)
        assert (layer.intermediate.dense.bias[dead] == 0).all()
        assert (layer.output.dense.weight[:, dead] == 0).all()


def test_channels_on_resnet_with_trainer_shrinks_at_end(tmp_path):
    model = tiny_resnet()
    callback = PruningCallback(
        PruningConfig(structure="channels", target_sparsity=0.5, schedule="iterative", frequency=10, end_step=30)
    )
    before = sum(p.numel() for p in model.parameters())
    train(model, callback, str(tmp_path), max_steps=50, dataset=RandomImageDataset(), per_device_train_batch_size=4)
    first = model.resnet.encoder.stages[0].layers[0].layer
    assert first[0].convolution.out_channels == 2 and first[1].convolution.in_channels == 2
    assert first[0].normalization.num_features == 2
    assert sum(p.numel() for p in model.parameters()) < before
    assert callback.shrink_result.shrunk and not callback.shrink_result.left_alone
    model.eval()
    with torch.no_grad():
        assert model(pixel_values=torch.randn(1, 3, 32, 32)).logits.shape == (1, 3)


@pytest.mark.parametrize("method,restore_callback_state", [("movement", False), ("magnitude", True)])
def test_resume_from_checkpoint_is_exact(tmp_path, method, restore_callback_state):
    """Interrupt at step 8 (between events 6 and 9, with movement scores accumulated), resume, compare."""

    def config():
        return PruningConfig(
            method=method, structure="unstructured", target_sparsity=0.8, schedule="cubic", frequency=3, end_step=15
        )

    common = dict(
        max_steps=20,
        save_strategy="steps",
        save_steps=8,
        restore_callback_states_from_checkpoint=restore_callback_state,
    )
    full_model = tiny_bert()
    full = train(full_model, PruningCallback(config()), str(tmp_path / "full"), **common)
    checkpoint = tmp_path / "full" / "checkpoint-8"
    assert (checkpoint / STATE_FILE).is_file()

    resumed_model = tiny_bert()
    resumed = train(resumed_model, PruningCallback(config()), str(tmp_path / "full"), resume=str(checkpoint), **common)
    for (name, a), (_, b) in zip(full_model.named_parameters(), resumed_model.named_parameters()):
        assert torch.equal(a, b), name
    a, b = find_callback(full, PruningCallback), find_callback(resumed, PruningCallback)
    assert (a.events, a.last_event_step) == (6, 15) and (b.events, b.last_event_step) == (6, 15)

    os.remove(checkpoint / STATE_FILE)
    with pytest.raises(ValueError, match="hf_compress_pruning.safetensors"):
        train(tiny_bert(), PruningCallback(config()), str(tmp_path / "full"), resume=str(checkpoint), **common)


def test_works_with_distillation_trainer(tmp_path):
    from transformers.utils import logging as hf_logging

    from hf_compress.distillation.config import DistillationConfig
    from hf_compress.distillation.trainer import DistillationTrainer
    from hf_compress.serialization import load_compressed
    from tests.pruning.helpers import RandomTextDataset, training_args

    hf_logging.disable_progress_bar()
    teacher, student = tiny_bert(seed=1), tiny_bert(seed=1)
    callback = PruningCallback(
        PruningConfig(
            method="movement",
            structure="heads+neurons",
            target_flops_reduction=0.6,
            schedule="cubic",
            frequency=4,
            end_step=16,
            sequence_length=16,
        )
    )
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher,
        distillation_config=DistillationConfig(temperature=2.0, alpha=0.5, hidden_loss_weight=1.0),
        args=training_args(str(tmp_path / "run"), max_steps=20),
        train_dataset=RandomTextDataset(),
        callbacks=[callback],
    )
    trainer.train()
    assert callback.events == 5 and callback.shrink_result.shrunk
    assert sum(p.numel() for p in student.parameters()) < sum(p.numel() for p in teacher.parameters())
    trainer.save_model(str(tmp_path / "model"))
    reloaded = load_compressed(str(tmp_path / "model"))
    batch = {"input_ids": torch.randint(0, 100, (2, 8))}
    student.eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(**batch).logits, student(**batch).logits, atol=1e-5)


def test_wrapped_model_is_unwrapped():
    model = tiny_bert()
    wrapped = torch.nn.DataParallel(model)  # stands for DDP: the callback must edit `wrapped.module`
    callback = PruningCallback(PruningConfig(structure="neurons", target_sparsity=0.5, schedule="oneshot"))
    state = type("S", (), {"max_steps": 5, "global_step": 0})()
    callback.on_train_begin(type("A", (), {"output_dir": "unused"})(), state, None, model=wrapped)
    dead = (model.bert.encoder.layer[0].intermediate.dense.weight == 0).all(dim=1)
    assert dead.float().mean().item() == 0.5
    callback.on_train_end(None, state, None, model=wrapped)
    assert model.bert.encoder.layer[0].intermediate.dense.out_features == 32
    assert model.config.quantization_config.layouts["pruned_shapes"]["modules"]
