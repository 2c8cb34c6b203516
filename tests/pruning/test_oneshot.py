"""`prune_`: one-shot pruning without a Trainer meets the FLOPs budget, shrinks, and refuses what it cannot do."""

import pytest
import torch

from hf_compress import compression_report, prune_
from hf_compress.pruning.config import PruningConfig
from tests.pruning.tiny_models import labelled_batches, text_batch, tiny_bert


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


def test_gradient_methods_need_calibration_data():
    with pytest.raises(ValueError, match="method=.movement. scores units with gradients; pass calibration_data"):
        prune_(tiny_bert(), {"structure": "heads", "method": "movement", "target_sparsity": 0.5})


def test_taylor_scores_come_from_calibration_gradients_and_change_no_weight():
    from hf_compress.pruning.methods.taylor import TaylorPruning

    model = tiny_bert()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = PruningConfig(structure="neurons", method="taylor", target_sparsity=0.5, shrink=False)
    callback = prune_(model, config, calibration_data=labelled_batches())
    assert isinstance(callback._method, TaylorPruning)
    assert all(p.grad is None for p in model.parameters())  # calibration leaves no gradients behind
    # by hand: sum over batches of (w * g)^2, summed per neuron; the top half of each layer is kept
    reference = tiny_bert().eval()
    params = dict(reference.named_parameters())
    scores = {name: torch.zeros_like(params[name]) for name in callback._params}
    for batch in labelled_batches():
        reference.zero_grad()
        reference(**batch).loss.backward()
        for name in scores:
            scores[name] += (params[name] * params[name].grad).detach().square()
    for group in callback.groups:
        units = group.unit_scores(scores)
        expected = torch.zeros_like(units, dtype=torch.bool)
        expected[units.topk(units.numel() // 2).indices] = True
        assert torch.equal(callback.keeps[group.name], expected), group.name
    pruned = [k for k in before if not torch.equal(before[k], model.state_dict()[k])]
    assert pruned and all(".intermediate.dense." in k or ".output.dense." in k for k in pruned)  # only masking


def copy_of(model):
    import copy

    return copy.deepcopy(model)


def test_taylor_keeps_units_that_matter_where_magnitude_does_not():
    # a neuron with large input weights whose output is multiplied by ~0 downstream is useless; magnitude keeps it
    model = tiny_bert()
    with torch.no_grad():
        layer = model.bert.encoder.layer[0]
        layer.intermediate.dense.weight[0] *= 50
        layer.output.dense.weight[:, 0] = 1e-6
    config = {"structure": "neurons", "target_sparsity": 0.5, "shrink": False, "targets": [r"layer\.0\."]}
    by_magnitude = prune_(copy_of(model), config)
    by_taylor = prune_(copy_of(model), {**config, "method": "taylor"}, calibration_data=labelled_batches())
    first = lambda callback: callback.keeps["bert.encoder.layer.0"]  # noqa: E731
    assert bool(first(by_magnitude)[0]) is True and bool(first(by_taylor)[0]) is False
