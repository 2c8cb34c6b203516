import copy

import pytest
import torch
from datasets import Dataset
from transformers import BertForSequenceClassification, LlamaForCausalLM

from hf_compress import DistillationConfig, DistillationTrainer, precompute_teacher_logits
from hf_compress.distillation.teacher_cache import TEACHER_LOGITS, TOPK_INDICES, TOPK_VALUES, teacher_fingerprint

from .conftest import bert_config, classification_dataset, llama_config, make_model, training_args


def _pad_collator(features):
    """Right-pads input_ids/labels of different lengths, like DataCollatorWithPadding would."""
    length = max(len(f["input_ids"]) for f in features)
    batch = {"input_ids": [], "attention_mask": [], "labels": []}
    with_labels = "labels" in features[0]
    for f in features:
        pad = length - len(f["input_ids"])
        batch["input_ids"].append(list(f["input_ids"]) + [0] * pad)
        batch["attention_mask"].append([1] * len(f["input_ids"]) + [0] * pad)
        if with_labels:
            batch["labels"].append(list(f["labels"]) + [-100] * pad)
    return {k: torch.tensor(v) for k, v in batch.items() if v}


def _ragged_lm_dataset():
    generator = torch.Generator().manual_seed(0)
    rows = [torch.randint(1, 64, (4 + i % 5,), generator=generator).tolist() for i in range(8)]
    return Dataset.from_dict({"input_ids": rows, "labels": rows})


def _train(trainer):
    trainer.train()
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def test_cached_logits_match_online_distillation_sequence_classification(tmp_path):
    teacher = make_model(BertForSequenceClassification, bert_config(num_hidden_layers=3), seed=1)
    student = make_model(BertForSequenceClassification, bert_config(num_hidden_layers=1), seed=2)
    data = classification_dataset(n=16)
    cached = precompute_teacher_logits(teacher, data, batch_size=5)
    assert TEACHER_LOGITS in cached.column_names and len(cached[0][TEACHER_LOGITS]) == 3
    config = DistillationConfig(alpha=0.7, temperature=3.0)
    args = dict(max_steps=3, per_device_train_batch_size=4, learning_rate=0.5)
    online = DistillationTrainer(
        model=copy.deepcopy(student),
        teacher_model=teacher,
        distillation_config=config,
        args=training_args(tmp_path / "a", **args),
        train_dataset=data,
    )
    offline = DistillationTrainer(
        model=copy.deepcopy(student),
        teacher_model=None,
        distillation_config=config,
        args=training_args(tmp_path / "b", **args),
        train_dataset=cached,
    )
    expected, got = _train(online), _train(offline)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], atol=1e-5, rtol=1e-5)
    assert offline.teacher_model is None


def test_cached_topk_logits_of_a_ragged_causal_lm_dataset_match_online(tmp_path):
    teacher = make_model(LlamaForCausalLM, llama_config(num_hidden_layers=2), seed=3)
    student = make_model(LlamaForCausalLM, llama_config(num_hidden_layers=1), seed=4)
    data = _ragged_lm_dataset()
    cached = precompute_teacher_logits(teacher, data, data_collator=_pad_collator, batch_size=3, top_k=8)
    first = cached[0]
    assert len(first[TOPK_VALUES]) == len(first["input_ids"]) and len(first[TOPK_VALUES][0]) == 8
    config = DistillationConfig(alpha=1.0, top_k=8)
    args = dict(max_steps=2, per_device_train_batch_size=4, learning_rate=0.5)
    online = DistillationTrainer(
        model=copy.deepcopy(student),
        teacher_model=teacher,
        distillation_config=config,
        args=training_args(tmp_path / "a", **args),
        train_dataset=data,
        data_collator=_pad_collator,
    )
    offline = DistillationTrainer(
        model=copy.deepcopy(student),
        distillation_config=config,
        args=training_args(tmp_path / "b", **args),
        train_dataset=cached,
        data_collator=_pad_collator,
    )
    expected, got = _train(online), _train(offline)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], atol=1e-5, rtol=1e-5)
    assert TOPK_INDICES in cached.column_names


def test_fingerprint_depends_on_teacher_weights_and_top_k():
    teacher = make_model(BertForSequenceClassification, bert_config(), seed=1)
    base = teacher_fingerprint(teacher)
    assert teacher_fingerprint(teacher) == base
    assert teacher_fingerprint(teacher, top_k=5) != base
    with torch.no_grad():
        teacher.classifier.bias.add_(1e-3)
    assert teacher_fingerprint(teacher) != base


def test_fingerprint_is_the_same_wherever_the_teacher_was_loaded_from(tmp_path, monkeypatch):
    teacher = make_model(BertForSequenceClassification, bert_config(), seed=1)
    teacher.save_pretrained(tmp_path / "teacher")
    monkeypatch.chdir(tmp_path)
    by_relative_path = BertForSequenceClassification.from_pretrained("teacher")
    by_absolute_path = BertForSequenceClassification.from_pretrained(str(tmp_path / "teacher"))
    assert by_relative_path.config._name_or_path != by_absolute_path.config._name_or_path
    assert (
        teacher_fingerprint(by_relative_path) == teacher_fingerprint(by_absolute_path) == teacher_fingerprint(teacher)
    )
    by_absolute_path.config.hidden_dropout_prob = 0.5  # any other config field still counts
    assert teacher_fingerprint(by_absolute_path) != teacher_fingerprint(teacher)


def test_cache_is_reused_for_the_same_teacher_and_recomputed_for_another(tmp_path):
    data = classification_dataset(n=8)
    teacher = make_model(BertForSequenceClassification, bert_config(), seed=1)
    first = precompute_teacher_logits(teacher, data)
    again = precompute_teacher_logits(teacher, data)
    other = precompute_teacher_logits(make_model(BertForSequenceClassification, bert_config(), seed=9), data)
    assert first._fingerprint == again._fingerprint != other._fingerprint
    assert first[0][TEACHER_LOGITS] != other[0][TEACHER_LOGITS]


def test_bad_top_k_is_rejected():
    teacher = make_model(BertForSequenceClassification, bert_config(), seed=1)
    with pytest.raises(ValueError, match="top_k=0"):
        precompute_teacher_logits(teacher, classification_dataset(n=4), top_k=0)
