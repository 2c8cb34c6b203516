"""Turn raw splits into model inputs for each task, and pick the matching data collator."""

from typing import Any

from .data import DataSplits


def _sequence_classification(dataset, cfg: dict[str, Any], tokenizer, label_ids: dict):
    text, pair, label = cfg["text_column"], cfg["text_pair_column"], cfg["label_column"]

    def encode(batch):
        args = (batch[text], batch[pair]) if pair else (batch[text],)
        out = tokenizer(*args, truncation=True, max_length=cfg["max_length"])
        out["labels"] = [label_ids.get(str(v), v) for v in batch[label]]
        return out

    return dataset.map(encode, batched=True, remove_columns=dataset.column_names)


def _token_classification(dataset, cfg: dict[str, Any], tokenizer):
    words, tags = cfg["text_column"], cfg["label_column"]

    def encode(batch):
        out = tokenizer(batch[words], truncation=True, max_length=cfg["max_length"], is_split_into_words=True)
        labels = []
        for i, row_tags in enumerate(batch[tags]):
            previous, row = None, []
            for word in out.word_ids(batch_index=i):
                row.append(-100 if word is None or word == previous else row_tags[word])
                previous = word
            labels.append(row)
        out["labels"] = labels
        return out

    return dataset.map(encode, batched=True, remove_columns=dataset.column_names)


def _causal_lm(dataset, cfg: dict[str, Any], tokenizer):
    text, block = cfg["text_column"], cfg["block_size"]

    def encode(batch):
        return tokenizer([t for t in batch[text] if t and t.strip()])

    def group(batch):
        ids = [token for row in batch["input_ids"] for token in row]
        usable = (len(ids) // block) * block
        chunks = [ids[i : i + block] for i in range(0, usable, block)]
        return {"input_ids": chunks, "labels": [list(c) for c in chunks]}

    tokens = dataset.map(encode, batched=True, remove_columns=dataset.column_names)
    tokens = tokens.remove_columns([c for c in tokens.column_names if c != "input_ids"])
    return tokens.map(group, batched=True, remove_columns=tokens.column_names)


def _images(dataset, cfg: dict[str, Any], processor, label_ids: dict):
    image, label = cfg["image_column"], cfg["label_column"]

    def transform(batch):
        pixels = processor([img.convert("RGB") for img in batch[image]], return_tensors="pt")["pixel_values"]
        return {"pixel_values": pixels, "labels": [label_ids.get(str(v), v) for v in batch[label]]}

    return dataset.with_transform(transform)


def prepare_inputs(splits: DataSplits, cfg: dict[str, Any], task: str, tokenizer=None, processor=None) -> DataSplits:
    """
    Tokenize / transform both splits for `task` (built-in datasets are already model inputs).

    Args:
        splits (`DataSplits`): raw splits. cfg (`dict`): the dataset section. task (`str`): the task.
        tokenizer / processor: the text tokenizer or image processor.
    """
    if splits.preprocessed:
        splits.train, splits.eval = splits.train.with_format("torch"), splits.eval.with_format("torch")
        return splits
    label_ids = {name: i for i, name in enumerate(splits.label_names)} if splits.label_names else {}
    if label_ids and all(name.isdigit() and int(name) == i for name, i in label_ids.items()):
        label_ids = {}
    for attr in ("train", "eval"):
        dataset = getattr(splits, attr)
        if task == "sequence-classification":
            dataset = _sequence_classification(dataset, cfg, tokenizer, label_ids)
        elif task == "token-classification":
            dataset = _token_classification(dataset, cfg, tokenizer)
        elif task == "causal-lm":
            dataset = _causal_lm(dataset, cfg, tokenizer)
        else:
            dataset = _images(dataset, cfg, processor, label_ids)
        setattr(splits, attr, dataset)
    splits.preprocessed = True
    return splits


def collator_for(task: str, tokenizer=None):
    """The data collator of a task (padding for text, stacking for fixed-size inputs)."""
    from transformers import DataCollatorForTokenClassification, DataCollatorWithPadding, default_data_collator

    if task == "sequence-classification":
        return DataCollatorWithPadding(tokenizer)
    if task == "token-classification":
        return DataCollatorForTokenClassification(tokenizer)
    return default_data_collator
