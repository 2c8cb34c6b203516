"""Dotted overrides: typed like TrainingArguments (HfArgumentParser conventions) and applied everywhere asked."""

from hf_compress.recipes import load_recipe
from hf_compress.recipes.overrides import parse_scalar


def test_training_override_applies_to_every_stage_and_wins(base_recipe):
    base_recipe["stages"][0]["training"]["learning_rate"] = 0.5
    recipe = load_recipe(base_recipe, [("training.learning_rate", "3e-4"), ("stages.1.training.max_steps", "7")])
    assert [stage.training["learning_rate"] for stage in recipe.stages] == [3e-4, 3e-4]
    assert recipe.stages[1].training["max_steps"] == 7 and isinstance(recipe.stages[1].training["max_steps"], int)
    assert recipe.data["stages"][0]["training"]["learning_rate"] == 3e-4  # recipe.yaml records what ran


def test_override_types(base_recipe):
    recipe = load_recipe(
        base_recipe,
        [
            ("training.disable_tqdm", "false"),
            ("training.report_to", "none"),
            ("teacher.training.num_train_epochs", "2"),
            ("stages.0.pruning.target_sparsity", "0.25"),
            ("stages.0.pruning.structure", "neurons"),
            ("evaluation.batch_sizes", "[1, 8]"),
            ("dataset.max_eval_samples", "null"),
        ],
    )
    assert recipe.stages[0].training["disable_tqdm"] is False
    assert recipe.teacher["training"]["num_train_epochs"] == 2.0
    assert recipe.stages[0].pruning[0].target_sparsity == 0.25
    assert recipe.evaluation["batch_sizes"] == [1, 8]
    assert recipe.dataset["max_eval_samples"] is None


def test_parse_scalar():
    assert parse_scalar("1e-3") == 1e-3 and parse_scalar("10") == 10 and parse_scalar("true") is True
    assert parse_scalar("heads+neurons") == "heads+neurons" and parse_scalar("2:4") == "2:4"
