"""Every shipped recipe passes schema validation (SST-2 paths fall back to a tiny local copy when missing)."""

import glob
import os

import pytest

from hf_compress.recipes import load_recipe


RECIPES = sorted(glob.glob("recipes/*.yaml"))
REQUIRED = {"quickstart", "paper-prune-quantize-distill", "sst2-minilm", "sparse-2of4-int8", "unstructured-90",
            "int4-qat", "tiny-llama-causal-lm"}  # fmt: skip


def test_all_required_recipes_are_shipped():
    assert REQUIRED <= {os.path.splitext(os.path.basename(path))[0] for path in RECIPES}


@pytest.mark.parametrize("path", RECIPES, ids=[os.path.basename(p) for p in RECIPES])
def test_shipped_recipe_is_valid(path, tmp_path):
    overrides = []
    if not os.path.isdir("../shared/data/sst2"):
        (tmp_path / "s.tsv").write_text("sentence\tlabel\ngood\t1\nbad\t0\n")
        overrides = [("dataset.data_files.train", str(tmp_path / "s.tsv")),
                     ("dataset.data_files.validation", str(tmp_path / "s.tsv"))]  # fmt: skip
    recipe = load_recipe(path, overrides if "data_files" in open(path).read() else [])
    assert recipe.stages and recipe.name == os.path.splitext(os.path.basename(path))[0]
    assert recipe.output_dir.endswith(os.path.join("outputs", recipe.name))


def test_quickstart_meets_the_issue_settings():
    recipe = load_recipe("recipes/quickstart.yaml")
    assert recipe.dataset["name"] == "sklearn_digits" and recipe.teacher["source"] == "finetune"
    pruning = [p for s in recipe.stages for p in s.pruning]
    assert pruning[0].is_structured and pruning[0].target_flops_reduction >= 0.8
    assert any(s.quantization is not None and s.quantization.bits == 8 for s in recipe.stages)
    assert all(s.distillation is not None for s in recipe.stages)
