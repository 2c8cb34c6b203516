"""Every shipped recipe passes schema validation (SST-2 paths fall back to a tiny local copy when missing)."""

import glob
import os

import pytest

from hf_compress import prune_
from hf_compress.analysis import count_flops
from hf_compress.recipes import load_recipe
from tests.pruning.tiny_models import labelled_batches, tiny_bert


RECIPES = sorted(glob.glob("recipes/*.yaml"))
REQUIRED = {"quickstart", "paper-prune-quantize-distill", "sst2-minilm", "sparse-2of4-int8", "unstructured-90",
            "int4-qat", "tiny-llama-causal-lm"}  # fmt: skip


def test_all_required_recipes_are_shipped():
    assert REQUIRED <= {os.path.splitext(os.path.basename(path))[0] for path in RECIPES}


def load_shipped(path, tmp_path):
    """`load_recipe` of a shipped recipe, its SST-2 files replaced by a two-row copy where `../shared` is missing."""
    overrides = []
    if not os.path.isdir("../shared/data/sst2"):
        (tmp_path / "s.tsv").write_text("sentence\tlabel\ngood\t1\nbad\t0\n")
        overrides = [("dataset.data_files.train", str(tmp_path / "s.tsv")),
                     ("dataset.data_files.validation", str(tmp_path / "s.tsv"))]  # fmt: skip
    return load_recipe(path, overrides if "data_files" in open(path).read() else [])


@pytest.mark.parametrize("path", RECIPES, ids=[os.path.basename(p) for p in RECIPES])
def test_shipped_recipe_is_valid(path, tmp_path):
    recipe = load_shipped(path, tmp_path)
    assert recipe.stages and recipe.name == os.path.splitext(os.path.basename(path))[0]
    assert recipe.output_dir.endswith(os.path.join("outputs", recipe.name))


def test_quickstart_meets_the_issue_settings():
    recipe = load_recipe("recipes/quickstart.yaml")
    assert recipe.dataset["name"] == "sklearn_digits" and recipe.teacher["source"] == "finetune"
    pruning = [p for s in recipe.stages for p in s.pruning]
    assert pruning[0].is_structured and pruning[0].target_flops_reduction >= 0.8
    assert any(s.quantization is not None and s.quantization.bits == 8 for s in recipe.stages)
    assert all(s.distillation is not None for s in recipe.stages)


def test_depth_recipe_drops_two_of_six_blocks_and_leaves_a_fifth_of_the_flops(tmp_path):
    # the stage's two prunings run in order, each target relative to the model it is given (as the runner does)
    (stage,) = load_shipped("recipes/sst2-minilm-depth.yaml", tmp_path).stages
    shape = {"num_hidden_layers": 6, "hidden_size": 64, "intermediate_size": 128}
    teacher, model = tiny_bert(**shape), tiny_bert(**shape)
    assert stage.prune_before_training and [c.structure for c in stage.pruning] == ["layers", "heads+neurons"]
    for config in stage.pruning:
        prune_(model, config, calibration_data=labelled_batches())
    assert model.config.num_hidden_layers == len(model.bert.encoder.layer) == 4
    removed = (
        1 - count_flops(model, sequence_length=64).total_macs / count_flops(teacher, sequence_length=64).total_macs
    )
    assert 0.78 <= removed <= 0.82, removed
