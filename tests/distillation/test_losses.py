import math

import pytest
import torch

from hf_compress.distillation.losses import (
    attention_map_kl,
    hard_label_cross_entropy,
    hidden_state_mse,
    logit_mse,
    soft_target_kl,
    soft_target_kl_topk,
    sum_over_items,
)


def _softmax(values, temperature=1.0):
    exps = [math.exp(v / temperature) for v in values]
    return [e / sum(exps) for e in exps]


def test_soft_target_kl_matches_hand_computation():
    student, teacher, temperature = [1.0, 2.0, 0.5], [2.0, 0.0, 1.0], 2.0
    p_s, p_t = _softmax(student, temperature), _softmax(teacher, temperature)
    expected = temperature**2 * sum(t * (math.log(t) - math.log(s)) for s, t in zip(p_s, p_t))
    got = soft_target_kl(torch.tensor([student]), torch.tensor([teacher]), temperature)
    assert got.shape == (1,)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_soft_target_kl_is_zero_for_identical_logits_and_positive_otherwise():
    logits = torch.randn(4, 7)
    assert torch.allclose(soft_target_kl(logits, logits, 3.0), torch.zeros(4), atol=1e-6)
    assert (soft_target_kl(logits, logits.flip(-1), 3.0) > 0).all()


def test_topk_kl_with_all_classes_equals_full_kl_and_differs_with_fewer():
    student, teacher = torch.randn(3, 5, 6), torch.randn(3, 5, 6)
    values, indices = teacher.topk(6, dim=-1)
    full = soft_target_kl(student, teacher, 1.5)
    assert torch.allclose(soft_target_kl_topk(student, values, indices, 1.5), full, atol=1e-5)
    values, indices = teacher.topk(2, dim=-1)
    assert not torch.allclose(soft_target_kl_topk(student, values, indices, 1.5), full, atol=1e-3)


def test_hard_label_cross_entropy_matches_hand_value_and_ignores_minus_100():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, -100])
    got = hard_label_cross_entropy(logits, labels)
    assert got[0].item() == pytest.approx(-math.log(_softmax([2.0, 0.0])[0]), rel=1e-6)
    assert got[1].item() == 0.0


def test_hard_label_cross_entropy_label_smoothing_hand_value():
    logits, eps = torch.tensor([[1.0, 0.0, -1.0]]), 0.3
    probs = _softmax([1.0, 0.0, -1.0])
    nll = -math.log(probs[0])
    smooth = -sum(math.log(p) for p in probs) / 3
    expected = (1 - eps) * nll + eps * smooth
    assert hard_label_cross_entropy(logits, torch.tensor([0]), eps).item() == pytest.approx(expected, rel=1e-6)


def test_logit_mse_and_hidden_state_mse_hand_values():
    assert logit_mse(torch.tensor([[1.0, 3.0]]), torch.tensor([[0.0, 0.0]])).item() == pytest.approx(5.0)
    hidden = hidden_state_mse(torch.tensor([[[1.0, 1.0], [2.0, 0.0]]]), torch.zeros(1, 2, 2))
    assert hidden.tolist() == [[1.0, 2.0]]


def test_attention_map_kl_averages_heads_first():
    teacher = torch.tensor([[[[0.5, 0.5]], [[0.5, 0.5]]]])  # (1, 2 heads, 1 query, 2 keys)
    student = torch.tensor([[[[0.9, 0.1]], [[0.1, 0.9]]]])  # head average is also [0.5, 0.5]
    assert attention_map_kl(student, teacher).abs().max().item() < 1e-6
    student_one_head = torch.tensor([[[[0.75, 0.25]]]])
    expected = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert attention_map_kl(student_one_head, teacher).item() == pytest.approx(expected, rel=1e-5)


def test_sum_over_items_token_and_sequence_level():
    per_token = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert sum_over_items(per_token, mask, token_level=True).item() == 7.0
    # sequence level: mean over each example's valid tokens, then sum over examples: 1.5 + 4
    assert sum_over_items(per_token, mask, token_level=False).item() == 5.5
