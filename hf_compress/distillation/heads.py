"""Which logits a model head produces, which labels go with them, and what counts as one loss item."""

from dataclasses import dataclass

import torch
from transformers.models.auto import modeling_auto

from .losses import IGNORE_INDEX


SEQUENCE, TOKEN, CAUSAL_LM, QUESTION_ANSWERING = "sequence", "token", "causal_lm", "question_answering"


def _names(mapping_name: str) -> set[str]:
    return set(getattr(modeling_auto, mapping_name, {}).values())


_CAUSAL_LM = _names("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES")
_QA = _names("MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES")
_TOKEN = _names("MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES")


@dataclass(frozen=True)
class HeadSpec:
    """
    Describes a model head for the distillation loss.

    Args:
        kind (`str`): `"sequence"` (one prediction per example: text or image classification), `"token"` (one per
            token), `"causal_lm"` (one per token, labels shifted by one) or `"question_answering"` (start/end logits).
        logit_keys (`tuple[str, ...]`): output fields holding logits.
        label_keys (`tuple[str, ...]`): input fields holding the matching labels.
    """

    kind: str
    logit_keys: tuple[str, ...] = ("logits",)
    label_keys: tuple[str, ...] = ("labels",)

    @property
    def token_level(self) -> bool:
        return self.kind in (TOKEN, CAUSAL_LM)


def detect_head(model: torch.nn.Module) -> HeadSpec:
    """Find the head type of a transformers model from its class (custom classes default to `"sequence"`)."""
    name = type(model).__name__
    if name in _CAUSAL_LM:
        return HeadSpec(CAUSAL_LM)
    if name in _QA:
        return HeadSpec(QUESTION_ANSWERING, ("start_logits", "end_logits"), ("start_positions", "end_positions"))
    if name in _TOKEN:
        return HeadSpec(TOKEN)
    return HeadSpec(SEQUENCE)


def has_labels(head: HeadSpec, inputs: dict) -> bool:
    return all(inputs.get(key) is not None for key in head.label_keys)


def aligned_logits_and_labels(head: HeadSpec, logits: torch.Tensor, labels: torch.Tensor | None):
    """Shift causal-LM logits/labels so position t predicts token t+1; other heads pass through."""
    if head.kind != CAUSAL_LM:
        return logits, labels
    return logits[..., :-1, :], (labels[..., 1:] if labels is not None else None)


def item_mask(head: HeadSpec, inputs: dict) -> torch.Tensor:
    """
    The items a loss is averaged over: labelled examples (sequence/QA heads) or labelled tokens (token/LM heads).

    Without labels (pure distillation), every example, or every attended token, is an item.
    """
    labels = inputs.get(head.label_keys[0])
    if head.kind in (SEQUENCE, QUESTION_ANSWERING):
        if labels is not None and head.kind == SEQUENCE:
            return labels.reshape(labels.shape[0], -1)[:, 0] != IGNORE_INDEX
        batch_size = _batch_size(inputs)
        return torch.ones(batch_size, dtype=torch.bool, device=_device(inputs))
    if labels is not None:
        mask = labels != IGNORE_INDEX
    elif inputs.get("attention_mask") is not None:
        mask = inputs["attention_mask"].bool()
    else:
        mask = torch.ones(inputs["input_ids"].shape, dtype=torch.bool, device=_device(inputs))
    return mask[..., 1:] if head.kind == CAUSAL_LM else mask


def count_items(head: HeadSpec, inputs: dict) -> torch.Tensor:
    """Number of loss items in one micro-batch (see `item_mask`)."""
    return item_mask(head, inputs).sum()


def token_mask(inputs: dict) -> torch.Tensor | None:
    """Attention mask over tokens, used to average hidden-state and attention losses within an example."""
    mask = inputs.get("attention_mask")
    return mask.bool() if mask is not None else None


def _tensors(inputs: dict):
    return [value for value in inputs.values() if isinstance(value, torch.Tensor)]


def _batch_size(inputs: dict) -> int:
    return _tensors(inputs)[0].shape[0]


def _device(inputs: dict) -> torch.device:
    return _tensors(inputs)[0].device
