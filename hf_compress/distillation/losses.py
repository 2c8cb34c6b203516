"""
The distillation loss terms as pure functions.

Every function returns an *unreduced* loss per position (per example for sequence-level heads, per token for
token-level heads), so the trainer can sum over items and divide by the number of items in the whole accumulated
batch: that is what makes gradient accumulation exact.
"""

import torch
import torch.nn.functional as F


IGNORE_INDEX = -100


def soft_target_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """
    KL(teacher || student) between temperature-softened distributions, scaled by T^2 (Hinton et al., 2015).

    Args:
        student_logits (`torch.Tensor` of shape `(..., num_classes)`): raw student logits.
        teacher_logits (`torch.Tensor` of shape `(..., num_classes)`): raw teacher logits.
        temperature (`float`): softmax temperature, > 0.

    Returns:
        `torch.Tensor` of shape `(...)`: `T^2 * sum_c p_t(c) * (log p_t(c) - log p_s(c))`.
    """
    student_log_probs = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher_log_probs = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    kl = (teacher_log_probs.exp() * (teacher_log_probs - student_log_probs)).sum(dim=-1)
    return kl * temperature**2


def soft_target_kl_topk(
    student_logits: torch.Tensor, teacher_values: torch.Tensor, teacher_indices: torch.Tensor, temperature: float
) -> torch.Tensor:
    """
    `soft_target_kl` against only the teacher's top-k logits (the teacher distribution is renormalised over them).

    With `k == num_classes` this equals `soft_target_kl` exactly.

    Args:
        student_logits (`torch.Tensor` of shape `(..., num_classes)`): raw student logits.
        teacher_values (`torch.Tensor` of shape `(..., k)`): the teacher's k largest logits.
        teacher_indices (`torch.Tensor` of shape `(..., k)`): their class indices.
        temperature (`float`): softmax temperature, > 0.
    """
    student_log_probs = F.log_softmax(student_logits.float() / temperature, dim=-1)
    student_log_probs = student_log_probs.gather(-1, teacher_indices.long())
    teacher_log_probs = F.log_softmax(teacher_values.float() / temperature, dim=-1)
    kl = (teacher_log_probs.exp() * (teacher_log_probs - student_log_probs)).sum(dim=-1)
    return kl * temperature**2


def logit_mse(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Mean squared error of raw logits, averaged over the class dimension. Shape `(...)`."""
    return (student_logits.float() - teacher_logits.float()).pow(2).mean(dim=-1)


def hard_label_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """
    Cross-entropy with the true labels, per position; positions labelled `-100` contribute 0.

    Summed over positions and divided by the number of labelled positions this is exactly the loss that
    `transformers` models and the `Trainer`'s label smoother compute.

    Args:
        logits (`torch.Tensor` of shape `(..., num_classes)`).
        labels (`torch.Tensor` of shape `(...)`): class indices or -100.
        label_smoothing (`float`, defaults to 0.0): `TrainingArguments.label_smoothing_factor`.
    """
    flat = F.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]),
        labels.reshape(-1).long(),
        ignore_index=IGNORE_INDEX,
        reduction="none",
        label_smoothing=label_smoothing,
    )
    return flat.reshape(labels.shape)


def hidden_state_mse(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor) -> torch.Tensor:
    """
    Mean squared error of hidden states per token, averaged over the hidden dimension.

    Args:
        student_hidden (`torch.Tensor` of shape `(batch, seq, hidden)`): already projected to the teacher's size.
        teacher_hidden (`torch.Tensor` of shape `(batch, seq, hidden)`).

    Returns:
        `torch.Tensor` of shape `(batch, seq)`.
    """
    return (student_hidden.float() - teacher_hidden.float()).pow(2).mean(dim=-1)


def attention_map_kl(student_attention: torch.Tensor, teacher_attention: torch.Tensor, eps: float = 1e-8):
    """
    KL(teacher || student) between head-averaged attention distributions, per query position.

    Averaging over heads first makes the loss defined when student and teacher have different head counts.

    Args:
        student_attention (`torch.Tensor` of shape `(batch, heads_s, seq, seq)`): attention probabilities.
        teacher_attention (`torch.Tensor` of shape `(batch, heads_t, seq, seq)`).

    Returns:
        `torch.Tensor` of shape `(batch, seq)`.
    """
    student = student_attention.float().mean(dim=1).clamp_min(eps)
    teacher = teacher_attention.float().mean(dim=1).clamp_min(eps)
    return (teacher * (teacher.log() - student.log())).sum(dim=-1)


def sum_over_items(per_position: torch.Tensor, item_mask: torch.Tensor, token_level: bool) -> torch.Tensor:
    """
    Sum a per-position loss over the loss *items* of a batch.

    Args:
        per_position (`torch.Tensor` of shape `(batch,)` or `(batch, seq)`).
        item_mask (`torch.Tensor`): for token-level heads, `(batch, seq)` marking the counted tokens; for
            sequence-level heads, `(batch,)` marking the counted examples.
        token_level (`bool`): whether items are tokens. For sequence-level items a `(batch, seq)` loss is first
            averaged over the example's valid tokens, given by `item_mask` of shape `(batch, seq)` in that case.
    """
    if token_level or per_position.dim() == 1:
        return (per_position * item_mask.to(per_position.dtype)).sum()
    mask = item_mask.to(per_position.dtype)
    per_example = (per_position * mask).sum(dim=-1) / mask.sum(dim=-1).clamp_min(1.0)
    return per_example.sum()
