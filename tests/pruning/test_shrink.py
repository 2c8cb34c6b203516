"""Physical shrinking keeps the outputs of the masked model, and leaves what it cannot shrink alone."""

import logging

import pytest
import torch
import torch.nn as nn

from hf_compress.pruning.callback import PruningCallback
from hf_compress.pruning.config import PruningConfig
from tests.pruning.tiny_models import BUILDERS, batch_for, tiny_bert


def masked_then_shrunk(model, **config):
    callback = PruningCallback(PruningConfig(schedule="oneshot", **config))
    callback.setup(model, max_steps=1)
    callback.prune(callback.config.target_sparsity)
    return callback


@pytest.mark.parametrize(
    "kind,structure",
    [
        ("bert", "heads+neurons"),
        ("vit", "heads+neurons"),
        ("llama", "heads+neurons"),
        ("resnet", "channels"),
        ("convnext", "channels"),
    ],
)
def test_shrink_keeps_logits_and_removes_parameters(kind, structure):
    model = BUILDERS[kind]().eval()
    callback = masked_then_shrunk(model, structure=structure, target_sparsity=0.5)
    batch = batch_for(kind)
    with torch.no_grad():
        masked = model(**batch).logits
    params_before = sum(p.numel() for p in model.parameters())
    nonzero_before = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    result = callback.shrink(model)
    with torch.no_grad():
        shrunk = model(**batch).logits
    params_after = sum(p.numel() for p in model.parameters())
    assert torch.allclose(masked, shrunk, atol=1e-5), (masked - shrunk).abs().max()
    assert params_after < params_before and not result.left_alone
    assert params_after >= nonzero_before - 64  # what is left is (almost) exactly what the masks kept
    assert callback.masks == {}  # the callback no longer touches the model


def test_config_updated_only_when_a_standard_field_expresses_it():
    uniform = tiny_bert()
    masked_then_shrunk(uniform, structure="neurons", target_sparsity=0.5, scope="layer").shrink(uniform)
    assert uniform.config.intermediate_size == 32
    uneven = tiny_bert()
    masked_then_shrunk(uneven, structure="neurons", target_sparsity=0.5, scope="global").shrink(uneven)
    widths = {layer.intermediate.dense.out_features for layer in uneven.bert.encoder.layer}
    assert len(widths) > 1 and uneven.config.intermediate_size == 64  # per-layer sizes live in the layout
    heads = tiny_bert()
    masked_then_shrunk(heads, structure="heads", target_sparsity=0.5).shrink(heads)
    attention = heads.bert.encoder.layer[0].attention.self
    assert attention.num_attention_heads == 2 and attention.all_head_size == 16 and attention.query.out_features == 16
    assert heads.config.num_attention_heads == 4  # head size comes from hidden/heads: recorded per layer instead


class TaggedLinear(nn.Linear):
    """Stands for a module type shrink does not know (e.g. a quantized or fake-quant Linear subclass)."""


def test_unknown_module_types_are_left_alone_and_reported(caplog):
    model = tiny_bert().eval()
    old = model.bert.encoder.layer[1].output.dense
    tagged = TaggedLinear(old.in_features, old.out_features)
    tagged.load_state_dict(old.state_dict())
    model.bert.encoder.layer[1].output.dense = tagged
    callback = masked_then_shrunk(model, structure="neurons", target_sparsity=0.5)
    batch = batch_for("bert")
    with torch.no_grad():
        masked = model(**batch).logits
    with caplog.at_level(logging.WARNING, logger="hf_compress.pruning.shrink"):
        result = callback.shrink(model)
    assert list(result.left_alone) == ["bert.encoder.layer.1"]
    assert (
        "TaggedLinear" in result.left_alone["bert.encoder.layer.1"]
        and "left bert.encoder.layer.1 alone" in caplog.text
    )
    assert model.bert.encoder.layer[0].intermediate.dense.out_features == 32
    assert model.bert.encoder.layer[1].intermediate.dense.out_features == 64  # masked, not removed
    with torch.no_grad():
        assert torch.allclose(model(**batch).logits, masked, atol=1e-5)
