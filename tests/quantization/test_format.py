"""The compressed on-disk format: safetensors + layout in config.json; reload in a fresh process gives equal logits."""

import json
import os
import subprocess
import sys

import torch
from safetensors import safe_open

from hf_compress.quantization import QuantizationConfig, quantize_
from hf_compress.serialization import save_compressed

from .helpers import inputs, tiny_bert


CONFIGS = {
    "int8_asym_act": {"bits": 8, "symmetric": False, "granularity": "per_tensor", "activations": 8},
    "int4_group": {"bits": 4, "granularity": "per_group", "group_size": 16},
    "int2": {"bits": 2},
    "ternary": {"bits": "ternary"},
    "binary": {"bits": 1},
    "shared4": {"bits": 4, "weight_sharing": True},
}

RELOAD = r"""
import sys, torch, hf_compress
from safetensors.torch import save_file
from transformers import AutoModelForSequenceClassification
from hf_compress.serialization import load_compressed
ids = torch.tensor(__IDS__)
out = {}
for name in sys.argv[2:]:
    path = f"{sys.argv[1]}/{name}"
    with torch.no_grad():
        a = load_compressed(path)(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        b = AutoModelForSequenceClassification.from_pretrained(path).eval()(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    out[f"{name}.load_compressed"], out[f"{name}.from_pretrained"] = a, b
save_file(out, f"{sys.argv[1]}/reloaded.safetensors")
"""


def test_reload_in_fresh_process_gives_identical_logits(tmp_path):
    x = inputs()
    expected = {}
    for name, kwargs in CONFIGS.items():
        model = tiny_bert()
        calibration = [x] if kwargs.get("activations") else None
        quantize_(model, QuantizationConfig(mode="ptq", **kwargs), calibration_data=calibration)
        with torch.no_grad():
            expected[name] = model(**x).logits
        save_compressed(model, tmp_path / name, format="hf_compress")
        config = json.load(open(tmp_path / name / "config.json"))
        layouts = config["quantization_config"]["layouts"]["quantized_modules"]["modules"]
        assert len(layouts) == 13 and not any(f.endswith(".bin") for f in os.listdir(tmp_path / name))
        with safe_open(str(tmp_path / name / "model.safetensors"), "pt") as f:
            dtype = f.get_tensor("bert.encoder.layer.0.attention.self.query.qweight").dtype
        assert dtype in (torch.int8, torch.uint8)
    script = RELOAD.replace("__IDS__", str(x["input_ids"].tolist()))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), *CONFIGS], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    from safetensors.torch import load_file

    reloaded = load_file(tmp_path / "reloaded.safetensors")
    for name, logits in expected.items():
        assert torch.equal(reloaded[f"{name}.load_compressed"], logits), name
        assert torch.equal(reloaded[f"{name}.from_pretrained"], logits), name
