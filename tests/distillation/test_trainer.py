import copy
import os

import pytest
import torch
from datasets import Dataset
from transformers import (
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    LlamaForCausalLM,
    Trainer,
)

from hf_compress import DistillationConfig
from hf_compress.distillation.trainer import DistillationTrainer

from .conftest import (
    bert_config,
    causal_lm_dataset,
    classification_dataset,
    llama_config,
    make_model,
    training_args,
)


def _trained_weights(trainer) -> dict[str, torch.Tensor]:
    trainer.train()
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def _assert_same_weights(a, b, atol=1e-6):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=1e-5, msg=key)


def test_alpha_zero_gives_exactly_the_plain_trainer_loss(tmp_path, tiny_bert_pair):
    teacher, student = tiny_bert_pair
    data = classification_dataset()
    batch = {k: torch.tensor(v) for k, v in data[:8].items()}
    plain = Trainer(model=copy.deepcopy(student), args=training_args(tmp_path / "a"))
    ours = DistillationTrainer(
        model=copy.deepcopy(student),
        teacher_model=teacher,
        distillation_config=DistillationConfig(alpha=0.0),
        args=training_args(tmp_path / "b"),
    )
    expected = plain.compute_loss(plain.model, dict(batch))
    got = ours.compute_loss(ours.model, dict(batch))
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    # and a whole training step lands on the same weights
    plain = Trainer(model=copy.deepcopy(student), args=training_args(tmp_path / "c"), train_dataset=data)
    ours = DistillationTrainer(
        model=copy.deepcopy(student),
        teacher_model=teacher,
        distillation_config=DistillationConfig(alpha=0.0),
        args=training_args(tmp_path / "d"),
        train_dataset=data,
    )
    _assert_same_weights(_trained_weights(plain), _trained_weights(ours))


def test_alpha_one_is_pure_distillation_and_no_labels_means_distillation(tmp_path, tiny_bert_pair):
    teacher, student = tiny_bert_pair
    batch = {k: torch.tensor(v) for k, v in classification_dataset()[:8].items()}
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher,
        distillation_config=DistillationConfig(alpha=1.0, temperature=2.0),
        args=training_args(tmp_path),
    )
    with torch.no_grad():
        from hf_compress.distillation.losses import soft_target_kl

        inputs = {"input_ids": batch["input_ids"]}
        expected = soft_target_kl(student(**inputs).logits, teacher(**inputs).logits, 2.0).mean()
        assert trainer.compute_loss(student, dict(batch)).item() == pytest.approx(expected.item(), rel=1e-5)
        trainer.distillation_config = DistillationConfig(alpha=0.3, temperature=2.0)
        assert trainer.compute_loss(student, dict(inputs)).item() == pytest.approx(expected.item(), rel=1e-5)


def _train_one_step_ga1_and_ga2(tmp_path, student, teacher, config, data):
    """One optimizer step as 1 batch of 8 and as 2 accumulated batches of 4: `[(weights, logged loss)] * 2`."""
    results = []
    for name, batch, accumulation in (("ga1", 8, 1), ("ga2", 4, 2)):
        trainer = DistillationTrainer(
            model=copy.deepcopy(student),
            teacher_model=copy.deepcopy(teacher),
            distillation_config=config,
            args=training_args(
                tmp_path / name,
                learning_rate=1.0,
                per_device_train_batch_size=batch,
                gradient_accumulation_steps=accumulation,
            ),
            train_dataset=data,
        )
        results.append((_trained_weights(trainer), trainer.state.log_history[0]["loss"]))
    return results


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_gradient_accumulation_matches_one_large_batch_sequence_classification(tmp_path, tiny_bert_pair, alpha):
    teacher, student = tiny_bert_pair
    config = DistillationConfig(alpha=alpha, hidden_loss_weight=0.5, attention_loss_weight=0.5)
    results = _train_one_step_ga1_and_ga2(tmp_path, student, teacher, config, classification_dataset(n=8))
    _assert_same_weights(results[0][0], results[1][0])
    assert results[0][1] == pytest.approx(results[1][1], rel=1e-5)


def test_gradient_accumulation_matches_one_large_batch_causal_lm_with_uneven_padding(tmp_path):
    teacher = make_model(LlamaForCausalLM, llama_config(num_hidden_layers=3), seed=3)
    student = make_model(LlamaForCausalLM, llama_config(num_hidden_layers=1), seed=4)
    config = DistillationConfig(alpha=0.5)
    results = _train_one_step_ga1_and_ga2(tmp_path, student, teacher, config, causal_lm_dataset(n=8))
    _assert_same_weights(results[0][0], results[1][0])


def test_label_smoothing_is_honoured(tmp_path, tiny_bert_pair):
    teacher, student = tiny_bert_pair
    data = classification_dataset()
    plain = Trainer(
        model=copy.deepcopy(student),
        args=training_args(tmp_path / "a", label_smoothing_factor=0.2),
        train_dataset=data,
    )
    ours = DistillationTrainer(
        model=copy.deepcopy(student),
        teacher_model=teacher,
        distillation_config=DistillationConfig(alpha=0.0),
        args=training_args(tmp_path / "b", label_smoothing_factor=0.2),
        train_dataset=data,
    )
    unsmoothed = DistillationTrainer(
        model=copy.deepcopy(student),
        teacher_model=teacher,
        distillation_config=DistillationConfig(alpha=0.0),
        args=training_args(tmp_path / "c"),
        train_dataset=data,
    )
    smoothed_weights = _trained_weights(ours)
    _assert_same_weights(_trained_weights(plain), smoothed_weights)
    with pytest.raises(AssertionError):
        _assert_same_weights(_trained_weights(unsmoothed), smoothed_weights)


@pytest.mark.parametrize(
    "head, student_cls, teacher_cls, config_fn, data_fn",
    [
        ("token", BertForTokenClassification, BertForTokenClassification, bert_config, None),
        (
            "question_answering",
            BertForQuestionAnswering,
            BertForQuestionAnswering,
            lambda **kw: bert_config(num_labels=2, **kw),
            None,
        ),
        ("causal_lm", LlamaForCausalLM, LlamaForCausalLM, llama_config, causal_lm_dataset),
    ],
)
def test_every_head_with_logits_trains_and_logs_both_terms(
    tmp_path, head, student_cls, teacher_cls, config_fn, data_fn
):
    generator = torch.Generator().manual_seed(0)
    if head == "token":
        ids = torch.randint(1, 64, (8, 6), generator=generator)
        labels = torch.randint(0, 3, (8, 6), generator=generator)
        labels[:, 0] = -100
        data = Dataset.from_dict({"input_ids": ids.tolist(), "labels": labels.tolist()})
    elif head == "question_answering":
        ids = torch.randint(1, 64, (8, 6), generator=generator)
        data = Dataset.from_dict(
            {
                "input_ids": ids.tolist(),
                "start_positions": torch.randint(0, 6, (8,), generator=generator).tolist(),
                "end_positions": torch.randint(0, 6, (8,), generator=generator).tolist(),
            }
        )
    else:
        data = data_fn(n=8)
    teacher = make_model(teacher_cls, config_fn(num_hidden_layers=3), seed=5)
    student = make_model(student_cls, config_fn(num_hidden_layers=1), seed=6)
    before = copy.deepcopy(student.state_dict())
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher,
        distillation_config=DistillationConfig(alpha=0.5, hidden_loss_weight=1.0),
        args=training_args(tmp_path, max_steps=2, per_device_train_batch_size=4),
        train_dataset=data,
    )
    trainer.train()
    logs = trainer.state.log_history[0]
    for key in ("loss", "hard_loss", "distill_loss", "hidden_loss"):
        assert key in logs and torch.isfinite(torch.tensor(logs[key]))
    assert any(not torch.equal(before[k], v) for k, v in student.state_dict().items())
    assert all(not p.requires_grad for p in trainer.teacher_model.parameters())


def test_teacher_is_frozen_placed_and_never_saved(tmp_path, tiny_bert_pair):
    teacher, student = tiny_bert_pair
    teacher_before = copy.deepcopy(teacher.state_dict())
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher,
        args=training_args(tmp_path, max_steps=2, save_strategy="steps", save_steps=2),
        train_dataset=classification_dataset(),
    )
    assert not trainer.teacher_model.training
    assert trainer.teacher_model is not trainer.model
    trainer.train()
    _assert_same_weights(teacher_before, teacher.state_dict(), atol=0)
    assert not any(n.startswith("teacher") for n, _ in trainer.model.named_parameters())
    from safetensors import safe_open

    checkpoint = tmp_path / "checkpoint-2" / "model.safetensors"
    with safe_open(str(checkpoint), "pt") as handle:
        saved = set(handle.keys())
    assert saved == set(student.state_dict())


def test_teacher_given_as_a_path_is_loaded_with_the_students_head(tmp_path, tiny_bert_pair):
    teacher, student = tiny_bert_pair
    teacher.save_pretrained(tmp_path / "teacher")
    trainer = DistillationTrainer(
        model=student, teacher_model=str(tmp_path / "teacher"), args=training_args(tmp_path / "o")
    )
    assert isinstance(trainer.teacher_model, BertForSequenceClassification)
    for key, value in teacher.state_dict().items():
        torch.testing.assert_close(trainer.teacher_model.state_dict()[key], value)


def test_projection_is_learned_when_hidden_sizes_differ_and_checkpointed(tmp_path, tiny_bert_pair):
    teacher, student = tiny_bert_pair
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher,
        distillation_config=DistillationConfig(hidden_loss_weight=1.0),
        args=training_args(tmp_path, max_steps=2, save_strategy="steps", save_steps=2),
        train_dataset=classification_dataset(),
    )
    assert trainer.layer_map == [1, 3]
    before = copy.deepcopy(trainer.projections.state_dict())
    trainer.train()
    assert any(not torch.equal(before[k], v) for k, v in trainer.projections.state_dict().items())
    assert os.path.isfile(tmp_path / "checkpoint-2" / "distillation_projections.safetensors")


@pytest.mark.parametrize(
    "make_teacher, config, message",
    [
        (lambda: make_model(BertForSequenceClassification, bert_config(num_labels=5), 0), None, "num_labels"),
        (lambda: make_model(BertForTokenClassification, bert_config(), 0), None, "head"),
        (
            lambda: make_model(BertForSequenceClassification, bert_config(num_hidden_layers=4), 0),
            DistillationConfig(hidden_loss_weight=1.0, layer_map=[0, 4]),
            r"layer_map.*outside the teacher.*0\.\.3",
        ),
        (
            lambda: make_model(BertForSequenceClassification, bert_config(num_hidden_layers=4), 0),
            DistillationConfig(hidden_loss_weight=1.0, layer_map=[0, 1, 2]),
            "3 entries but the student has 2",
        ),
    ],
)
def test_incompatible_teacher_or_layer_map_fails_before_training(tmp_path, make_teacher, config, message):
    student = make_model(BertForSequenceClassification, bert_config(), seed=0)
    with pytest.raises(ValueError, match=message):
        DistillationTrainer(
            model=student, teacher_model=make_teacher(), distillation_config=config, args=training_args(tmp_path)
        )
    assert not (tmp_path / "runs").exists() and not any(tmp_path.iterdir())


def test_vocab_size_mismatch_fails_before_training(tmp_path):
    teacher = make_model(LlamaForCausalLM, llama_config(vocab_size=80), seed=0)
    student = make_model(LlamaForCausalLM, llama_config(), seed=0)
    with pytest.raises(ValueError, match="vocab_size"):
        DistillationTrainer(model=student, teacher_model=teacher, args=training_args(tmp_path))


def test_no_teacher_and_no_cache_is_a_clear_error(tmp_path, tiny_bert_pair):
    _, student = tiny_bert_pair
    with pytest.raises(ValueError, match="teacher_model=None"):
        DistillationTrainer(model=student, args=training_args(tmp_path), train_dataset=classification_dataset())


def test_teacher_takes_the_students_dtype_and_device(tmp_path, tiny_bert_pair):
    teacher, student = tiny_bert_pair
    student = student.to(torch.bfloat16)
    trainer = DistillationTrainer(model=student, teacher_model=teacher, args=training_args(tmp_path))
    parameter = next(trainer.teacher_model.parameters())
    assert parameter.dtype == torch.bfloat16
    assert parameter.device == next(trainer.model.parameters()).device


def test_save_model_writes_compression_config_and_a_model_card(tmp_path, tiny_bert_pair):
    from huggingface_hub import ModelCard

    from hf_compress import CompressionConfig, PruningCallback, PruningConfig

    teacher, student = tiny_bert_pair
    pruning = PruningConfig(structure="unstructured", target_sparsity=0.5, schedule="oneshot")
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher,
        distillation_config=DistillationConfig(alpha=0.7),
        args=training_args(tmp_path / "run", max_steps=2),
        train_dataset=classification_dataset(),
        callbacks=[PruningCallback(pruning)],
    )
    trainer.train()
    trainer.save_model(str(tmp_path / "saved"))
    saved = CompressionConfig.from_pretrained(tmp_path / "saved")
    assert saved.distillation.alpha == 0.7 and saved.pruning[0].target_sparsity == 0.5
    card = ModelCard.load(str(tmp_path / "saved" / "README.md"))
    assert "hf-compress" in card.data.tags and "distillation" in card.data.tags and "pruned" in card.data.tags
