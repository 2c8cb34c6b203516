"""Per structure: the target sparsity is reached per targeted layer and the pattern is respected."""

import pytest
import torch

from hf_compress.pruning.callback import PruningCallback
from hf_compress.pruning.config import PruningConfig
from hf_compress.pruning.structures import check_n_m
from tests.pruning.tiny_models import BUILDERS


def pruned(kind: str, amount: float | None = None, **config):
    model = BUILDERS[kind]()
    callback = PruningCallback(PruningConfig(schedule="oneshot", **config))
    callback.setup(model, max_steps=10)
    callback.prune(amount if amount is not None else callback.config.final_sparsity)
    return model, callback


def zero_units(model, group) -> set[int]:
    """Units removed in the group's first slice; asserts every other slice zeroes exactly those units too."""
    params = dict(model.named_parameters())
    found = None
    for piece in group.slices:
        param = params[piece.name].detach()
        per_unit = param.movedim(piece.dim, 0).reshape(group.num_units, -1)
        zero = {i for i in range(group.num_units) if bool((per_unit[i] == 0).all())}
        if found is None:
            found = zero
        # a module can also be cut along its other dimension by another group: only require a superset there
        assert zero >= found, f"{piece.name} does not zero the units {found - zero} of {group.name}"
    return found


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_unstructured_sparsity_per_layer(scope):
    model, callback = pruned("bert", structure="unstructured", target_sparsity=0.6, scope=scope)
    params = dict(model.named_parameters())
    sparsities = [(params[g.slices[0].name] == 0).float().mean().item() for g in callback.groups]
    assert {g.name for g in callback.groups} >= {"bert.encoder.layer.0.attention.self.query"}
    assert not any("classifier" in g.name or "pooler" in g.name for g in callback.groups)  # default exclude
    if scope == "layer":
        assert all(abs(s - 0.6) <= 0.01 for s in sparsities), sparsities
    else:
        total = sum(params[g.slices[0].name].numel() for g in callback.groups)
        zeros = sum((params[g.slices[0].name] == 0).sum().item() for g in callback.groups)
        assert abs(zeros / total - 0.6) <= 0.01
    assert params["classifier.weight"].ne(0).all()


@pytest.mark.parametrize("n,m", [(2, 4), (3, 8)])
@pytest.mark.parametrize("kind", ["bert", "resnet"])
def test_n_m_pattern(kind, n, m):
    model, callback = pruned(kind, structure=f"{n}:{m}")
    params = dict(model.named_parameters())
    assert callback.groups
    for group in callback.groups:
        weight = params[group.slices[0].name]
        assert check_n_m(weight, n, m), group.name
        assert abs((weight == 0).float().mean().item() - (1 - n / m)) <= 0.01, group.name


@pytest.mark.parametrize(
    "kind,structure,amount,units",
    [
        ("bert", "heads", 0.5, 4),
        ("vit", "heads", 0.5, 4),
        ("llama", "heads", 0.5, 2),  # grouped-query attention: units are key/value heads with their query heads
        ("bert", "neurons", 0.25, 64),
        ("vit", "neurons", 0.75, 64),
        ("llama", "neurons", 0.5, 64),
        ("resnet", "channels", 0.5, None),
        ("convnext", "channels", 0.25, None),
    ],
)
def test_structured_whole_units(kind, structure, amount, units):
    model, callback = pruned(kind, structure=structure, target_sparsity=amount)
    assert len(callback.groups) >= 2
    for group in callback.groups:
        if units is not None:
            assert group.num_units == units
        zero = zero_units(model, group)
        assert abs(len(zero) / group.num_units - amount) <= 0.01, (group.name, len(zero))


def test_heads_and_neurons_flops_budget():
    model, callback = pruned(
        "bert", amount=0.5, structure="heads+neurons", target_flops_reduction=0.5, sequence_length=16
    )
    from hf_compress.analysis.flops import count_flops
    from hf_compress.pruning.budget import pruned_flops_fraction

    assert {g.structure for g in callback.groups} == {"heads", "neurons"}
    removed = pruned_flops_fraction(callback.groups, callback.keeps, callback._costs)
    assert 0.5 <= removed <= 0.56
    before = count_flops(model, sequence_length=16).total_macs
    callback.shrink(model)
    after = count_flops(model, sequence_length=16).total_macs
    assert abs((1 - after / before) - removed) < 1e-6  # the budget's estimate is what the counter measures


def test_monotone_masks_with_movement_scores():
    model, callback = pruned("bert", amount=0.3, structure="neurons", target_sparsity=0.6, method="movement")
    before = {name: set(torch.nonzero(~keep).flatten().tolist()) for name, keep in callback.keeps.items()}
    with torch.no_grad():
        for param in model.parameters():
            param.grad = torch.randn_like(param)
    callback.on_pre_optimizer_step(None, None, None)
    callback.prune(0.6)
    for name, keep in callback.keeps.items():
        now = set(torch.nonzero(~keep).flatten().tolist())
        assert before[name] <= now and abs(len(now) / keep.numel() - 0.6) <= 0.01
