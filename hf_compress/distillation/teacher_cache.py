"""
Precompute the teacher's logits once into a `datasets` column, so training skips the teacher forward.

The new column is fingerprinted by the teacher's weights and config, the tokenizer's vocabulary and `top_k`, so
`datasets` reuses the cached result for the same teacher and recomputes it for another.
"""

import hashlib
import inspect
import json

import torch
from transformers import default_data_collator


TEACHER_LOGITS = "teacher_logits"
TOPK_VALUES = "teacher_topk_values"
TOPK_INDICES = "teacher_topk_indices"
CACHE_COLUMNS = frozenset({TEACHER_LOGITS, TOPK_VALUES, TOPK_INDICES})
# config fields that say where a model was loaded from, not what it computes: the same teacher read from another
# directory (a relative vs an absolute path, another clone) must keep its fingerprint
LOCATION_FIELDS = ("_name_or_path",)


def teacher_fingerprint(teacher: torch.nn.Module, tokenizer=None, top_k: int | None = None) -> str:
    """
    A hex digest of the teacher (class, config, every weight), the tokenizer's vocabulary and `top_k`. Where the
    teacher was loaded from (`config._name_or_path`) is left out: the digest names the model, not its directory.
    """
    digest = hashlib.sha256()
    digest.update(type(teacher).__name__.encode())
    config = getattr(teacher, "config", None)
    if config is not None:
        fields = {k: v for k, v in config.to_dict().items() if k not in LOCATION_FIELDS}
        digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
    for name, tensor in sorted(teacher.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    if tokenizer is not None:
        digest.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
        digest.update(type(tokenizer).__name__.encode())
    digest.update(str(top_k).encode())
    return digest.hexdigest()


def precompute_teacher_logits(
    teacher: torch.nn.Module,
    dataset,
    data_collator=None,
    tokenizer=None,
    batch_size: int = 32,
    top_k: int | None = None,
    device: str | torch.device | None = None,
):
    """
    Add the teacher's logits to `dataset` as a column (`teacher_logits`, or `teacher_topk_values` +
    `teacher_topk_indices` with `top_k`), one row per example, trimmed to the example's length for token heads.

    Args:
        teacher (`torch.nn.Module`): the teacher; put in eval mode, run under `torch.no_grad()`.
        dataset (`datasets.Dataset`): tokenized examples (the columns the teacher's forward accepts are used).
        data_collator (`Callable`, *optional*): batches examples (pads them); defaults to a padding collator built
            from `tokenizer`, or `default_data_collator`.
        tokenizer (*optional*): part of the fingerprint, and the padding collator's tokenizer.
        batch_size (`int`, defaults to 32): teacher batch size.
        top_k (`int`, *optional*): keep only the k largest logits per position (for large vocabularies).
        device (*optional*): where to run the teacher; defaults to its current device.

    Returns:
        `datasets.Dataset`: `dataset` with the new column(s).
    """
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"precompute_teacher_logits: top_k={top_k!r} must be a positive integer or None.")
    if data_collator is None:
        if tokenizer is not None:
            from transformers import DataCollatorWithPadding

            data_collator = DataCollatorWithPadding(tokenizer)
        else:
            data_collator = default_data_collator
    device = torch.device(device) if device is not None else next(teacher.parameters()).device
    teacher = teacher.to(device).eval()
    accepted = set(inspect.signature(teacher.forward).parameters)
    feature_columns = [c for c in dataset.column_names if c in accepted and c not in _LABEL_COLUMNS]
    fingerprint = teacher_fingerprint(teacher, tokenizer, top_k)

    def add_logits(batch: dict) -> dict:
        size = len(batch[feature_columns[0]])
        features = [{column: batch[column][i] for column in feature_columns} for i in range(size)]
        model_inputs = {k: v.to(device) for k, v in data_collator(features).items() if k in accepted}
        with torch.no_grad():
            logits = teacher(**model_inputs).logits.float().cpu()
        lengths = _example_lengths(features, logits)
        rows = [logits[i, : lengths[i]] if lengths[i] is not None else logits[i] for i in range(size)]
        if top_k is None:
            return {TEACHER_LOGITS: [row.tolist() for row in rows]}
        tops = [row.topk(min(top_k, row.shape[-1]), dim=-1) for row in rows]
        return {TOPK_VALUES: [t.values.tolist() for t in tops], TOPK_INDICES: [t.indices.tolist() for t in tops]}

    new_fingerprint = hashlib.sha256(f"{dataset._fingerprint}-{fingerprint}".encode()).hexdigest()[:32]
    return dataset.map(
        add_logits, batched=True, batch_size=batch_size, new_fingerprint=new_fingerprint, desc="Teacher logits"
    )


_LABEL_COLUMNS = {"labels", "label", "start_positions", "end_positions"}


def _example_lengths(features: list[dict], logits: torch.Tensor) -> list[int | None]:
    """Per-example sequence length for token-level logits (`None` for one prediction per example)."""
    if logits.dim() < 3:
        return [None] * len(features)
    lengths = []
    for feature in features:
        mask = feature.get("attention_mask")
        lengths.append(int(sum(mask)) if mask is not None else len(feature["input_ids"]))
    return lengths


def pop_cached_teacher_logits(inputs: dict) -> dict[str, torch.Tensor] | None:
    """Remove the cached-logit columns from a batch and return them (`None` when the batch has none)."""
    cached = {key: inputs.pop(key) for key in list(inputs) if key in CACHE_COLUMNS}
    return cached or None


class CachedLogitsCollator:
    """
    Wraps a data collator so that cached teacher logits of different lengths are padded to the batch's sequence
    length (token heads) and stacked, while every other column goes through the wrapped collator unchanged.
    """

    def __init__(self, collator):
        self.collator = collator

    def __call__(self, features: list[dict]) -> dict:
        cached = {key: [f.pop(key) for f in features] for key in CACHE_COLUMNS if key in features[0]}
        batch = self.collator(features)
        if not cached:
            return batch
        reference = batch.get("input_ids", batch.get("attention_mask"))
        for key, rows in cached.items():
            tensors = [torch.as_tensor(row) for row in rows]
            if tensors[0].dim() >= 2 and reference is not None:
                length = reference.shape[1]
                padded = tensors[0].new_zeros((len(tensors), length, *tensors[0].shape[1:]))
                for i, tensor in enumerate(tensors):
                    padded[i, : tensor.shape[0]] = tensor
                batch[key] = padded
            else:
                batch[key] = torch.stack(tensors)
        return batch
