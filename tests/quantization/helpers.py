"""Tiny offline models and data for the quantization tests."""

import torch
from datasets import Dataset
from transformers import BertConfig, BertForSequenceClassification


VOCAB = 64


def tiny_bert(seed: int = 0, num_labels: int = 2, hidden: int = 32) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=VOCAB, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2, intermediate_size=2 * hidden,
        max_position_embeddings=32, num_labels=num_labels,
    )  # fmt: skip
    return BertForSequenceClassification(config).eval()


def inputs(batch: int = 4, length: int = 10, seed: int = 1) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (batch, length), generator=generator)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def toy_dataset(n: int = 64, length: int = 8, seed: int = 0) -> Dataset:
    """A learnable task: label = whether token 5 appears."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(6, VOCAB, (n, length), generator=generator)
    labels = torch.randint(0, 2, (n,), generator=generator)
    ids[labels == 1, 0] = 5
    return Dataset.from_dict(
        {"input_ids": ids.tolist(), "attention_mask": [[1] * length] * n, "labels": labels.tolist()}
    )
