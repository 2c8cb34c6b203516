"""`prune_`: one-shot pruning without a Trainer meets the FLOPs budget, shrinks, and refuses what it cannot do."""

import pytest
import torch

from hf_compress import compression_report, prune_
from hf_compress.pruning.config import PruningConfig
from tests.pruning.tiny_models import text_batch, tiny_bert


def test_flops_budget_is_met_and_the_model_is_physically_smaller():
    teacher, model = tiny_bert(), tiny_bert()
    callback = prune_(model, {"structure": "heads+neurons", "target_flops_reduction": 0.5, "sequence_length": 16})
    report = compression_report(model, teacher=teacher, sequence_length=16)
    removed = 1 - report.ratios()["flops"]
    assert 0.45 <= removed <= 0.55, removed
    assert report.params < compression_report(teacher, sequence_length=16).params
    assert not callback.shrink_result.left_alone
    with torch.no_grad():
        assert torch.isfinite(model(**text_batch()).logits).all()


def test_unstructured_zeroes_the_smallest_weights_of_every_layer():
    model = tiny_bert()
    before = model.bert.encoder.layer[0].intermediate.dense.weight.detach().abs().clone()
    prune_(model, PruningConfig(structure="unstructured", target_sparsity=0.75))
    after = model.bert.encoder.layer[0].intermediate.dense.weight.detach()
    assert abs((after == 0).float().mean().item() - 0.75) < 0.01
    kept_min = before[after != 0].min()
    assert kept_min >= before[after == 0].max()  # magnitude: every kept weight is at least as large as a pruned one


def test_movement_is_refused_without_training():
    with pytest.raises(ValueError, match="method='movement'.*'magnitude'"):
        prune_(tiny_bert(), {"structure": "heads", "method": "movement", "target_sparsity": 0.5})
