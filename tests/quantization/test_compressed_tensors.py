"""The compressed-tensors format: plain transformers reloads our int8/int4 models with identical logits."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open


pytest.importorskip("compressed_tensors")

from compressed_tensors.compressors.format import infer_module_format  # noqa: E402
from compressed_tensors.quantization import QuantizationScheme  # noqa: E402

from hf_compress.pruning.config import PruningConfig  # noqa: E402
from hf_compress.pruning.oneshot import prune_  # noqa: E402
from hf_compress.quantization import QuantizationConfig, quantize_  # noqa: E402
from hf_compress.quantization.quantized_linear import QuantizedLinear  # noqa: E402
from hf_compress.serialization import load_compressed, save_compressed  # noqa: E402
from hf_compress.serialization.compressed_tensors import compressed_tensors_blockers  # noqa: E402

from .helpers import inputs, tiny_bert  # noqa: E402


EXPRESSIBLE = {
    "int8_channel": {"bits": 8},
    "int8_tensor": {"bits": 8, "granularity": "per_tensor"},
    "int4_group": {"bits": 4, "granularity": "per_group", "group_size": 16},
    "int4_channel": {"bits": 4},
}

# no hf_compress import: what a user with only transformers + compressed-tensors gets
PLAIN_RELOAD = r"""
import sys, torch
from safetensors.torch import save_file
from transformers import AutoModelForSequenceClassification
assert "hf_compress" not in sys.modules
ids = torch.tensor(__IDS__)
out = {}
for name in sys.argv[2:]:
    model = AutoModelForSequenceClassification.from_pretrained(f"{sys.argv[1]}/{name}").eval()
    with torch.no_grad():
        out[name] = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
assert "hf_compress" not in sys.modules
save_file(out, f"{sys.argv[1]}/plain.safetensors")
"""


def quantized(kwargs):
    model = tiny_bert(hidden=64)
    quantize_(model, QuantizationConfig(mode="ptq", **kwargs))
    return model


def test_plain_transformers_reloads_int8_and_int4_with_identical_logits(tmp_path):
    x = inputs()
    expected = {}
    for name, kwargs in EXPRESSIBLE.items():
        model = quantized(kwargs)
        with torch.no_grad():
            expected[name] = model(**x).logits
        save_compressed(model, tmp_path / name, format="compressed-tensors")
        config = json.load(open(tmp_path / name / "config.json"))["quantization_config"]
        # weight-only int8 and int4 are both `pack-quantized`: what compressed-tensors itself infers for the scheme
        # (and what weight-only readers expect; its `int-quantized` is W8A8)
        scheme = QuantizationScheme(targets=["Linear"], weights=config["config_groups"]["group_0"]["weights"])
        assert config["quant_method"] == "compressed-tensors"
        assert config["format"] == infer_module_format(torch.nn.Linear, scheme).value == "pack-quantized"
        with safe_open(str(tmp_path / name / "model.safetensors"), "pt") as handle:
            keys = set(handle.keys())
            prefix = "bert.encoder.layer.0.attention.self.query."
            stored = handle.get_tensor(prefix + "weight_packed")
        assert stored.dtype == torch.int32 and stored.numel() * 32 // kwargs["bits"] == 64 * 64
        assert prefix + "weight_scale" in keys and "classifier.weight" in keys
    script = PLAIN_RELOAD.replace("__IDS__", str(x["input_ids"].tolist()))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", script, str(tmp_path), *EXPRESSIBLE]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    from safetensors.torch import load_file

    reloaded = load_file(tmp_path / "plain.safetensors")
    for name, logits in expected.items():
        assert torch.allclose(reloaded[name], logits, atol=1e-6), (name, (reloaded[name] - logits).abs().max())


def test_int4_files_are_packed_smaller_than_int8(tmp_path):
    sizes = {}
    for name in ("int8_channel", "int4_channel"):
        save_compressed(quantized(EXPRESSIBLE[name]), tmp_path / name, format="compressed-tensors")
        sizes[name] = os.path.getsize(tmp_path / name / "model.safetensors")
    assert sizes["int4_channel"] < sizes["int8_channel"]


@pytest.mark.parametrize("name", ["int4_group", "int8_channel"])
def test_load_compressed_rebuilds_the_same_codes_and_scales(tmp_path, name):
    model = quantized(EXPRESSIBLE[name])
    save_compressed(model, tmp_path / "ct", format="compressed-tensors")
    reloaded = load_compressed(tmp_path / "ct")
    original = dict(model.named_modules())
    layers = {n: m for n, m in reloaded.named_modules() if isinstance(m, QuantizedLinear)}
    assert len(layers) == 13
    for name, layer in layers.items():
        assert torch.equal(layer.codes(), original[name].codes()) and torch.equal(layer.scale, original[name].scale)
    x = inputs()
    with torch.no_grad():
        assert torch.equal(reloaded(**x).logits, model(**x).logits)
    save_compressed(reloaded, tmp_path / "again")  # and back to hf_compress's format
    with torch.no_grad():
        assert torch.equal(load_compressed(tmp_path / "again")(**x).logits, model(**x).logits)


def test_what_compressed_tensors_cannot_express_is_refused_or_left_to_auto(tmp_path):
    ternary = quantized({"bits": "ternary"})
    with pytest.raises(ValueError, match=r"cannot express this model: .*bits='ternary'.*Use format='hf_compress'"):
        save_compressed(ternary, tmp_path / "ternary", format="compressed-tensors")
    assert not os.path.exists(tmp_path / "ternary")
    save_compressed(ternary, tmp_path / "auto_ternary", format="auto")
    config = json.load(open(tmp_path / "auto_ternary" / "config.json"))["quantization_config"]
    assert config["quant_method"] == "hf_compress"

    uneven = tiny_bert(hidden=64)
    prune_(uneven, PruningConfig(structure="neurons", target_sparsity=0.5, scope="global"))
    quantize_(uneven, QuantizationConfig(mode="ptq", bits=8))
    assert any("pruned_shapes" in reason for reason in compressed_tensors_blockers(uneven))

    tables = tiny_bert()
    quantize_(tables, QuantizationConfig(mode="ptq", bits=8, embeddings=8))
    assert "layout 'quantized_embeddings' (low-bit embedding tables) has no compressed-tensors equivalent" in (
        compressed_tensors_blockers(tables)
    )

    save_compressed(quantized({"bits": 8}), tmp_path / "auto_int8", format="auto")
    config = json.load(open(tmp_path / "auto_int8" / "config.json"))["quantization_config"]
    assert config["quant_method"] == "compressed-tensors"
    with pytest.raises(ValueError, match=r"format='onnx' is not supported; allowed values: \['hf_compress'"):
        save_compressed(quantized({"bits": 8}), tmp_path / "typo", format="onnx")
