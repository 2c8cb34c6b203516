"""End-to-end distillation on real data: SST-2 with the pretrained MiniLM, and scikit-learn's digits."""

import json
import os

import pytest
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    ResNetConfig,
    ResNetForImageClassification,
    Trainer,
    TrainingArguments,
)

from hf_compress import DistillationConfig, DistillationTrainer

from ..realdata import accuracy, digits_splits, minilm_path, read_sst2, tokenize


RESULTS = os.environ.get("HF_COMPRESS_TEST_RESULTS")


def _args(output_dir, **overrides) -> TrainingArguments:
    values = dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=32,
        per_device_eval_batch_size=128,
        num_train_epochs=1,
        learning_rate=1e-4,
        report_to=[],
        save_strategy="no",
        logging_steps=20,
        seed=0,
        disable_tqdm=True,
        use_cpu=True,
    )
    values.update(overrides)
    return TrainingArguments(**values)


def _record(name: str, values: dict) -> None:
    """Print the measured numbers (and append them to $HF_COMPRESS_TEST_RESULTS when set) for the closing notes."""
    print(f"{name}: {values}")
    if RESULTS:
        with open(RESULTS, "a") as handle:
            handle.write(json.dumps({"test": name, **values}) + "\n")


@pytest.mark.slow
def test_minilm_teacher_distilled_into_two_layers_beats_the_same_student_without_teacher(tmp_path):
    torch.set_num_threads(2)
    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    collator = DataCollatorWithPadding(tokenizer)
    teacher_rows = tokenize(read_sst2("train", limit=2000), tokenizer)
    student_rows = tokenize(read_sst2("train", limit=2000, offset=2000), tokenizer)
    validation = tokenize(read_sst2("validation"), tokenizer)

    torch.manual_seed(0)
    teacher = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    teacher_trainer = Trainer(
        model=teacher, args=_args(tmp_path / "teacher"), train_dataset=teacher_rows, data_collator=collator
    )
    teacher_trainer.train()
    teacher_accuracy = accuracy(teacher_trainer, validation)

    results = {}
    for name, config in (
        ("without_teacher", DistillationConfig(alpha=0.0)),
        ("distilled", DistillationConfig(alpha=0.5, temperature=2.0, hidden_loss_weight=1.0)),
    ):
        torch.manual_seed(0)
        # the student: the teacher's architecture with 2 of its 6 layers (built from the MiniLM config)
        student = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2, num_hidden_layers=2)
        trainer = DistillationTrainer(
            model=student,
            teacher_model=teacher,
            distillation_config=config,
            args=_args(tmp_path / name, learning_rate=5e-4),
            train_dataset=student_rows,
            data_collator=collator,
        )
        trainer.train()
        results[name] = accuracy(trainer, validation)
        assert "hard_loss" in trainer.state.log_history[0]
    _record("sst2_minilm_2layer", {"teacher": teacher_accuracy, **results, "validation_rows": len(validation)})
    assert teacher_accuracy > 0.75
    assert results["distilled"] > results["without_teacher"]


@pytest.mark.slow
def test_digits_resnet_teacher_distilled_into_a_narrower_resnet(tmp_path):
    torch.set_num_threads(2)
    train, test = digits_splits(image_size=16)

    def resnet(width: int) -> ResNetForImageClassification:
        config = ResNetConfig(
            num_channels=1,
            embedding_size=width,
            hidden_sizes=[width, 2 * width],
            depths=[1, 1],
            layer_type="basic",
            num_labels=10,
            downsample_in_first_stage=False,
        )
        return ResNetForImageClassification(config)

    torch.manual_seed(0)
    teacher = resnet(32)
    teacher_trainer = Trainer(
        model=teacher, args=_args(tmp_path / "t", num_train_epochs=6, learning_rate=3e-3), train_dataset=train
    )
    teacher_trainer.train()
    teacher_accuracy = accuracy(teacher_trainer, test)
    torch.manual_seed(1)
    student = resnet(8)
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher,
        distillation_config=DistillationConfig(alpha=0.5, temperature=2.0),
        args=_args(tmp_path / "s", num_train_epochs=6, learning_rate=3e-3),
        train_dataset=train,
    )
    trainer.train()
    student_accuracy = accuracy(trainer, test)
    history = [log for log in trainer.state.log_history if "distill_loss" in log and "loss" in log]
    _record(
        "digits_resnet",
        {
            "teacher": teacher_accuracy,
            "student": student_accuracy,
            "test_rows": len(test),
            "teacher_params": teacher.num_parameters(),
            "student_params": student.num_parameters(),
        },
    )
    assert teacher_accuracy > 0.95
    assert student.num_parameters() < teacher.num_parameters() / 8
    assert student_accuracy > 0.9
    assert history[-1]["distill_loss"] < history[0]["distill_loss"]
