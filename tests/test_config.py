import json

import pytest

from hf_compress import CompressionConfig, DistillationConfig, PruningConfig, QuantizationConfig, __version__


ALL_CONFIGS = [DistillationConfig, PruningConfig, QuantizationConfig, CompressionConfig]
NON_DEFAULT = {
    DistillationConfig: {"temperature": 4.0, "alpha": 0.9, "hidden_loss_weight": 1.0, "layer_map": [1, 3]},
    PruningConfig: {"structure": "heads", "target_flops_reduction": 0.8, "schedule": "oneshot", "exclude": ["x"]},
    QuantizationConfig: {"bits": 4, "granularity": "per_group", "group_size": 32, "symmetric": False},
    CompressionConfig: {
        "distillation": DistillationConfig(alpha=1.0),
        "pruning": [PruningConfig(structure="2:4"), PruningConfig(structure="neurons", target_sparsity=0.7)],
        "quantization": QuantizationConfig(bits=8),
    },
}


@pytest.mark.parametrize("config_class", ALL_CONFIGS)
def test_round_trip_dict_and_directory(config_class, tmp_path):
    config = config_class(**NON_DEFAULT[config_class])
    assert config_class.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    path = config.save_pretrained(tmp_path)
    assert path.endswith(f"{config_class.config_name}_config.json")
    with open(path) as handle:
        assert json.load(handle)["hf_compress_version"] == __version__
    assert config_class.from_pretrained(tmp_path) == config
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize("config_class", ALL_CONFIGS)
def test_unknown_key_is_an_error_that_names_it(config_class):
    data = config_class().to_dict()
    data["temprature"] = 1
    with pytest.raises(ValueError, match="temprature"):
        config_class.from_dict(data)


@pytest.mark.parametrize(
    "config_class, kwargs, message",
    [
        (DistillationConfig, {"temperature": 0}, r"temperature=0 .*\(0.0, \+inf"),
        (DistillationConfig, {"temperature": -1.0}, "temperature"),
        (DistillationConfig, {"alpha": 1.5}, r"alpha=1.5 .*\[0.0, 1.0\]"),
        (DistillationConfig, {"alpha": -0.1}, "alpha"),
        (DistillationConfig, {"logit_loss": "js"}, r"logit_loss='js'.*\['kl', 'mse'\]"),
        (DistillationConfig, {"layer_map": [0, -1]}, "layer_map"),
        (PruningConfig, {"target_sparsity": 1.0}, r"target_sparsity=1.0 .*\[0.0, 1.0\)"),
        (PruningConfig, {"target_sparsity": -0.1}, "target_sparsity"),
        (PruningConfig, {"structure": "3:2"}, "n=3 > m=2"),
        (PruningConfig, {"structure": "blocks"}, r"structure='blocks'.*unstructured"),
        (PruningConfig, {"method": "random"}, r"method='random'.*magnitude"),
        (PruningConfig, {"schedule": "linear"}, r"schedule='linear'.*cubic"),
        (PruningConfig, {"target_sparsity": 0.5, "target_flops_reduction": 0.5}, "both"),
        (PruningConfig, {"start_step": 10, "end_step": 5}, "end_step"),
        (PruningConfig, {"targets": ["("]}, "invalid regular expression"),
        (QuantizationConfig, {"bits": 3}, r"bits=3 .*\[8, 4, 2, 'ternary', 1\]"),
        (QuantizationConfig, {"mode": "qta"}, r"mode='qta'.*\['qat', 'ptq'\]"),
        (QuantizationConfig, {"granularity": "per_row"}, "granularity"),
        (QuantizationConfig, {"activations": 4}, "activations"),
        (QuantizationConfig, {"group_size": 0}, "group_size"),
        (QuantizationConfig, {"bits": "ternary", "symmetric": False}, "symmetric"),
    ],
)
def test_bad_values_name_the_field_and_the_allowed_values(config_class, kwargs, message):
    with pytest.raises(ValueError, match=message):
        config_class(**kwargs)


def test_pruning_shorthand_and_default_budget():
    config = PruningConfig(structure="2:4")
    assert (config.structure, config.n, config.m, config.final_sparsity) == ("n:m", 2, 4, 0.5)
    assert PruningConfig().target_sparsity == 0.5
    assert PruningConfig(target_flops_reduction=0.8).target_sparsity is None


def test_compression_config_accepts_nested_dicts_and_rejects_wrong_types():
    config = CompressionConfig.from_dict({"pruning": [{"structure": "heads"}], "quantization": {"bits": 4}})
    assert isinstance(config.pruning[0], PruningConfig) and config.quantization.bits == 4
    with pytest.raises(ValueError, match="unknown field"):
        CompressionConfig.from_dict({"quantization": {"bitz": 4}})
    with pytest.raises(ValueError, match="distillation"):
        CompressionConfig(distillation=3)


def test_config_from_a_newer_major_version_is_refused(tmp_path):
    path = DistillationConfig().save_pretrained(tmp_path)
    data = json.loads(open(path).read())
    data["hf_compress_version"] = "99.0.0"
    open(path, "w").write(json.dumps(data))
    with pytest.raises(ValueError, match="newer"):
        DistillationConfig.from_pretrained(tmp_path)


def test_save_pretrained_into_a_file_path_is_an_error(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        QuantizationConfig().save_pretrained(target)


def test_saved_config_and_directory_get_normal_permissions(tmp_path):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        path = DistillationConfig().save_pretrained(tmp_path / "out")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
