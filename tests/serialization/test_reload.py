"""Save a pruned + shrunk model, reload it in a fresh process: same shapes, same logits, no missing keys."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import save_file

from hf_compress.pruning.callback import PruningCallback
from hf_compress.pruning.config import PruningConfig
from hf_compress.serialization import save_compressed
from tests.pruning.helpers import train
from tests.pruning.tiny_models import BUILDERS, batch_for, tiny_bert


SCRIPT = os.path.join(os.path.dirname(__file__), "scripts", "reload.py")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
CASES = {
    "bert": ("AutoModelForSequenceClassification", "heads+neurons"),
    "vit": ("AutoModelForImageClassification", "heads+neurons"),
    "llama": ("AutoModelForCausalLM", "heads+neurons"),
    "resnet": ("AutoModelForImageClassification", "channels"),
    "convnext": ("AutoModelForImageClassification", "channels"),
}


def write_case(directory: str, model, auto_class: str, inputs: dict) -> None:
    model.eval()
    with torch.no_grad():
        logits = model(**inputs).logits
    os.makedirs(directory, exist_ok=True)
    save_file(
        {**{f"input.{k}": v for k, v in inputs.items()}, "logits": logits},
        os.path.join(directory, "expected.safetensors"),
    )
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    with open(os.path.join(directory, "meta.json"), "w") as handle:
        json.dump({"auto_class": auto_class, "shapes": shapes}, handle)


def run_reload(cases: list[str], plain: bool = False) -> dict[str, dict]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": REPO}
    command = [sys.executable, SCRIPT, *cases] + (["--plain"] if plain else [])
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return {r["case"]: {**r, "stderr": out.stderr} for r in results}


@pytest.fixture(scope="module")
def saved_cases(tmp_path_factory):
    root = tmp_path_factory.mktemp("reload")
    for kind, (auto_class, structure) in CASES.items():
        model = BUILDERS[kind]()
        # uneven per-layer amounts (global scope) so the config alone cannot express the shapes
        callback = PruningCallback(
            PruningConfig(structure=structure, target_sparsity=0.5, scope="global", schedule="oneshot")
        )
        callback.setup(model, max_steps=1)
        callback.prune(0.5)
        callback.shrink(model)
        assert callback.shrink_result.shrunk
        case = str(root / kind)
        save_compressed(model, os.path.join(case, "model"))
        write_case(case, model, auto_class, batch_for(kind))
    return root


def test_reload_in_fresh_process_with_hf_compress(saved_cases):
    results = run_reload([str(saved_cases / kind) for kind in CASES])
    assert set(results) == set(CASES)
    import hf_compress

    if "load_compressed" in hf_compress.__all__:  # once exported, `import hf_compress` alone must be enough
        assert all(result["top_level_registers"] for result in results.values())
    for kind, result in results.items():
        assert "error" not in result, result
        info = result["loading_info"]
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == [], kind
        for loader in ("auto", "load_compressed"):
            assert result[f"{loader}_shapes_equal"], (kind, loader)
            assert result[f"{loader}_max_diff"] <= 1e-5, (kind, loader, result)


def test_plain_transformers_refuses_instead_of_random_weights(saved_cases, tmp_path):
    # uniform FFN widths: config.intermediate_size expresses the shapes, so plain transformers loads it correctly
    uniform = tiny_bert()
    callback = PruningCallback(PruningConfig(structure="neurons", target_sparsity=0.5, schedule="oneshot"))
    callback.setup(uniform, max_steps=1)
    callback.prune(0.5)
    callback.shrink(uniform)
    save_compressed(uniform, str(tmp_path / "uniform" / "model"))
    write_case(str(tmp_path / "uniform"), uniform, "AutoModelForSequenceClassification", batch_for("bert"))

    results = run_reload(
        [str(saved_cases / "bert"), str(saved_cases / "llama"), str(tmp_path / "uniform")], plain=True
    )
    for kind in ("bert", "llama"):  # per-layer shapes: never a silent load, an error naming the mismatch
        assert "error" in results[kind] and "ignore_mismatched_sizes" in results[kind]["error"], results[kind]
    assert "hf_compress" in results["bert"]["stderr"]  # transformers names the unknown quant_method it skipped
    assert "error" not in results["uniform"] and results["uniform"]["auto_max_diff"] <= 1e-5
    assert results["uniform"]["loading_info"]["missing_keys"] == []


def test_trainer_save_model_writes_the_reloadable_format(tmp_path):
    model = tiny_bert()
    callback = PruningCallback(
        PruningConfig(
            structure="heads+neurons",
            target_flops_reduction=0.5,
            schedule="cubic",
            frequency=2,
            end_step=6,
            sequence_length=16,
        )
    )
    trainer = train(model, callback, str(tmp_path / "run"), max_steps=8)
    assert model.bert.encoder.layer[0].intermediate.dense.out_features < 64  # shrunk at on_train_end
    case = str(tmp_path / "case")
    trainer.save_model(os.path.join(case, "model"))
    config = json.load(open(os.path.join(case, "model", "config.json")))
    assert config["quantization_config"]["quant_method"] == "hf_compress"
    assert "pruned_shapes" in config["quantization_config"]["layouts"]
    write_case(case, model, "AutoModelForSequenceClassification", batch_for("bert"))
    result = run_reload([case])["case"]
    assert result["loading_info"]["missing_keys"] == [] and result["loading_info"]["mismatched_keys"] == []
    assert result["auto_max_diff"] <= 1e-5 and result["auto_shapes_equal"]


def test_save_is_atomic(tmp_path, monkeypatch):
    from hf_compress.config import CompressionConfig

    model = tiny_bert()
    target = tmp_path / "out"
    compression = CompressionConfig(pruning=[PruningConfig(structure="heads+neurons", target_flops_reduction=0.8)])
    save_compressed(model, target, compression_config=compression)
    assert CompressionConfig.from_pretrained(str(target)).to_dict() == compression.to_dict()
    before = sorted(os.listdir(target))

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(model), "save_pretrained", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        save_compressed(model, target)
    assert sorted(os.listdir(target)) == before  # the previous save is untouched
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no temporary directory left behind
    with pytest.raises(ValueError, match="safe_serialization=False"):
        save_compressed(model, tmp_path / "x", safe_serialization=False)
