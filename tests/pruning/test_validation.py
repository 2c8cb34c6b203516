"""Bad input raises a ValueError that names the field, the bad value and what is allowed, before any step."""

import pytest

from hf_compress.pruning.callback import PruningCallback
from hf_compress.pruning.config import PruningConfig
from hf_compress.pruning.methods import PruningMethod, register_pruning_method
from tests.pruning.helpers import train
from tests.pruning.tiny_models import tiny_bert, tiny_resnet


@pytest.mark.parametrize("value", [1.0, 1.5, -0.1])
def test_sparsity_outside_unit_interval(value):
    with pytest.raises(ValueError, match=r"target_sparsity=.*allowed range: \[0.0, 1.0\)"):
        PruningConfig(target_sparsity=value)


def test_n_greater_than_m():
    with pytest.raises(ValueError, match=r"n=5 > m=4"):
        PruningConfig(structure="5:4")
    with pytest.raises(ValueError, match=r"n=3 > m=2"):
        PruningConfig(structure="n:m", n=3, m=2)


def test_both_budgets():
    with pytest.raises(ValueError, match="target_sparsity=0.5 and target_flops_reduction=0.5"):
        PruningConfig(structure="heads", target_sparsity=0.5, target_flops_reduction=0.5)


def test_bad_choices_list_allowed_values():
    with pytest.raises(ValueError, match=r"structure='rows'.*allowed values: \['unstructured', 'n:m'"):
        PruningConfig(structure="rows")
    with pytest.raises(ValueError, match=r"method='random'.*allowed values: \['magnitude', 'movement', 'taylor'\]"):
        PruningConfig(method="random")
    with pytest.raises(ValueError, match=r"structure='n:m'.*allowed values: \['heads', 'neurons', 'channels'\]"):
        PruningConfig(structure="heads+n:m")
    with pytest.raises(ValueError, match=r"target_flops_reduction.*structure='unstructured'.*\['heads', 'neurons'"):
        PruningCallback(PruningConfig(target_flops_reduction=0.5)).setup(tiny_bert(), max_steps=5)


def test_heads_on_resnet_is_rejected_at_train_begin(tmp_path):
    callback = PruningCallback(PruningConfig(structure="heads"))
    with pytest.raises(
        ValueError,
        match=r"structure='heads' is not supported by ResNetForImageClassification.*\['unstructured', 'n:m', 'channels'\]",
    ):
        callback.on_train_begin(None, type("S", (), {"max_steps": 5, "global_step": 0})(), None, model=tiny_resnet())


def test_channels_on_bert_fails_before_the_first_step(tmp_path):
    model = tiny_bert()
    initial = model.bert.encoder.layer[0].output.dense.weight.detach().clone()
    with pytest.raises(
        ValueError,
        match=r"structure='channels' is not supported by BertForSequenceClassification.*'heads', 'neurons'\]",
    ):
        train(model, PruningCallback(PruningConfig(structure="channels")), str(tmp_path), max_steps=5)
    assert (model.bert.encoder.layer[0].output.dense.weight == initial).all()  # no step was taken


def test_target_regex_matching_nothing(tmp_path):
    callback = PruningCallback(PruningConfig(structure="heads", targets=[r"layer\.0\.", r"decoder\.block"]))
    with pytest.raises(ValueError, match=r"targets: the regex 'decoder\\\\.block' matches no heads module"):
        train(tiny_bert(), callback, str(tmp_path), max_steps=5)


def test_exclude_everything_is_an_error():
    callback = PruningCallback(PruningConfig(structure="neurons", exclude=[r"encoder"]))
    with pytest.raises(ValueError, match=r"exclude=\['encoder'\] excludes every neurons candidate"):
        callback.setup(tiny_bert(), max_steps=5)


def test_registry_validates():
    with pytest.raises(ValueError, match="lower-case identifier"):
        register_pruning_method("Bad-Name")
    with pytest.raises(ValueError, match="must subclass PruningMethod"):
        register_pruning_method("thing")(object)
    with pytest.raises(ValueError, match="already registered"):
        register_pruning_method("magnitude")(type("Other", (PruningMethod,), {}))


def test_callback_state_round_trips_through_json():
    import json

    callback = PruningCallback(PruningConfig(structure="heads", target_sparsity=0.25))
    state = json.loads(json.dumps(callback.state()))
    restored = PruningCallback(**state["args"])
    assert restored.config.to_dict() == callback.config.to_dict()


def test_sharded_training_is_refused_clearly():
    callback = PruningCallback(PruningConfig(structure="neurons"))
    state = type("S", (), {"max_steps": 5, "global_step": 0})()
    with pytest.raises(ValueError, match="does not support FSDP"):
        callback.on_train_begin(type("A", (), {"fsdp": ["full_shard"]})(), state, None, model=tiny_bert())
