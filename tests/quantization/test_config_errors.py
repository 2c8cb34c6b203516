import pytest
import torch.nn as nn

from hf_compress.quantization import QuantizationCallback, QuantizationConfig, quantize_

from .helpers import tiny_bert


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"bits": 3}, r"bits=3 is not supported; allowed values: \[8, 4, 2, 'ternary', 1\]"),
        ({"mode": "qta"}, r"mode='qta' is not supported; allowed values: \['qat', 'ptq'\]"),
        ({"granularity": "per_row"}, r"granularity='per_row' is not supported"),
        ({"activations": 4}, r"activations=4 is not supported; allowed values: \[None, 8, 'dynamic'\]"),
        ({"bits": "ternary", "symmetric": False}, "symmetric by definition"),
        ({"bits": 1, "weight_sharing": True}, "weight_sharing needs bits"),
        ({"embeddings": 2}, r"embeddings=2 is not supported; allowed values: \[None, 8, 4\]"),
        ({"embeddings": True}, r"embeddings=True is not supported"),
    ],
)
def test_bad_config_values_name_field_value_and_choices(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QuantizationConfig(**kwargs)


def test_group_size_that_does_not_divide_is_rejected_naming_module():
    model = tiny_bert()  # in_features 32 (attention/intermediate) and 64 (output.dense)
    config = QuantizationConfig(bits=4, granularity="per_group", group_size=24)
    with pytest.raises(ValueError, match=r"group_size=24 does not divide in_features=32 of module 'bert\.encoder"):
        quantize_(model, config)
    callback = QuantizationCallback(config)
    with pytest.raises(ValueError, match="group_size=24"):
        callback.on_init_end(None, None, None, model=tiny_bert())


def test_activation_quantization_on_unsupported_module_type_is_rejected():
    model = tiny_bert()
    config = QuantizationConfig(activations=8, targets=[r"LayerNorm"], exclude=[])
    with pytest.raises(ValueError, match=r"module 'bert\.embeddings\.LayerNorm' of type LayerNorm .* supports only"):
        quantize_(model, config)


def test_ptq_with_activations_requires_calibration_data_and_empty_selection_is_an_error():
    with pytest.raises(ValueError, match="needs calibration_data"):
        quantize_(tiny_bert(), QuantizationConfig(mode="ptq", activations=8))
    with pytest.raises(ValueError, match="selects no nn.Linear"):
        quantize_(nn.Sequential(nn.ReLU()), QuantizationConfig())
