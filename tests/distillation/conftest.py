import pytest
import torch
from datasets import Dataset
from transformers import (
    BertConfig,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    LlamaConfig,
    LlamaForCausalLM,
    TrainingArguments,
)


VOCAB = 64


def bert_config(**overrides) -> BertConfig:
    values = dict(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=3,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    values.update(overrides)
    return BertConfig(**values)


def llama_config(**overrides) -> LlamaConfig:
    values = dict(
        vocab_size=VOCAB,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    values.update(overrides)
    return LlamaConfig(**values)


def make_model(cls, config, seed: int):
    torch.manual_seed(seed)
    return cls(config)


def classification_dataset(n: int = 16, length: int = 8, num_labels: int = 3, seed: int = 0) -> Dataset:
    generator = torch.Generator().manual_seed(seed)
    return Dataset.from_dict(
        {
            "input_ids": torch.randint(1, VOCAB, (n, length), generator=generator).tolist(),
            "labels": torch.randint(0, num_labels, (n,), generator=generator).tolist(),
        }
    )


def causal_lm_dataset(n: int = 16, length: int = 10, seed: int = 0) -> Dataset:
    """Sequences with different numbers of padded (-100) label positions, so item counts differ per batch."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, VOCAB, (n, length), generator=generator)
    attention = torch.ones(n, length, dtype=torch.long)
    for i in range(n):
        attention[i, length - (i % 5) :] = 0
    labels = input_ids.masked_fill(attention == 0, -100)
    return Dataset.from_dict(
        {"input_ids": input_ids.tolist(), "attention_mask": attention.tolist(), "labels": labels.tolist()}
    )


def training_args(output_dir, **overrides) -> TrainingArguments:
    values = dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=8,
        max_steps=1,
        learning_rate=1e-2,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        logging_steps=1,
        seed=0,
        data_seed=0,
        disable_tqdm=True,
        lr_scheduler_type="constant",
        optim="sgd",
        dataloader_drop_last=False,
    )
    values.update(overrides)
    return TrainingArguments(**values)


@pytest.fixture
def tiny_bert_pair():
    teacher = make_model(BertForSequenceClassification, bert_config(num_hidden_layers=4), seed=1)
    student = make_model(BertForSequenceClassification, bert_config(hidden_size=8, intermediate_size=16), seed=2)
    return teacher, student


HEAD_CLASSES = {
    "token": BertForTokenClassification,
    "question_answering": BertForQuestionAnswering,
    "causal_lm": LlamaForCausalLM,
}
