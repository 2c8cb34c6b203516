"""Every kind of bad recipe fails before anything runs, with the YAML path in the message, and writes nothing."""

import os

import pytest

from hf_compress.recipes import RecipeError, load_recipe, run_recipe


def _set(data, dotted, value):
    keys = dotted.split(".")
    target = data
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
    last = int(keys[-1]) if isinstance(target, list) else keys[-1]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value


_DELETE = object()

CASES = [
    # (id, dotted key, value, expected path, expected message fragment)
    ("unknown-root-key", "stagess", [], "stagess", "unknown key; did you mean 'stages'?"),
    ("unknown-pruning-key", "stages.0.pruning.target_sparsty", 0.5, "stages[0].pruning.target_sparsty",
     "did you mean 'target_sparsity'?"),
    ("unknown-dataset-key", "dataset.lable_column", "y", "dataset.lable_column", "known keys:"),
    ("unknown-teacher-key", "teacher.epochs", 3, "teacher.epochs", "known keys: path, source, training"),
    ("wrong-type-root", "seed", "zero", "seed", "expected int, got 'zero'"),
    ("wrong-type-training", "stages.0.training.learning_rate", "fast", "stages[0].training.learning_rate",
     "expected float"),
    ("wrong-type-stage", "stages.1.quantization", "int8", "stages[1].quantization", "expected a mapping"),
    ("bad-task", "task", "summarization", "task", "allowed values: sequence-classification"),
    ("bad-structure", "stages.0.pruning.structure", "rows", "stages[0].pruning.structure",
     "allowed values: ['unstructured', 'n:m', 'heads', 'neurons', 'channels', 'layers']"),
    ("bad-bits", "stages.1.quantization.bits", 3, "stages[1].quantization.bits", "allowed values: [8, 4, 2"),
    ("missing-stages", "stages", _DELETE, "stages", "required key is missing"),
    ("missing-model", "model", _DELETE, "model", "required key is missing"),
    ("sparsity-out-of-range", "stages.0.pruning.target_sparsity", 1.5, "stages[0].pruning.target_sparsity",
     "out of range"),
    ("both-budgets", "stages.0.pruning.target_flops_reduction", 0.8, "stages[0].pruning", "set exactly one budget"),
    ("unknown-training-arg", "stages.0.training.learning_rat", 0.1, "stages[0].training.learning_rat",
     "learning_rate"),
    ("bad-training-value", "training.eval_strategy", "sometimes", "stages[0].training", "not a valid IntervalStrategy"),
    ("missing-data-file", "dataset", {"data_files": {"train": "nope/train.csv"}, "image_column": "img"},
     "dataset.data_files.train", "does not exist"),
    ("teacher-path-missing", "teacher", {"source": "path"}, "teacher.path", "required when teacher.source is 'path'"),
    ("bad-model-config", "model.config.model_type", "not-a-model", "model.config", "does not build"),
    ("distillation-bad-alpha", "stages.0.distillation.alpha", 2, "stages[0].distillation.alpha", "out of range"),
    ("qat-with-shrink", "stages.0.quantization", {"bits": 8}, "stages[0].pruning", "fake-quantized layers cannot"),
    ("empty-stages", "stages", [], "stages", "needs at least one stage"),
    ("bad-sampling", "stages.0.training.train_sampling_strategy", "lenght_buckets",
     "stages[0].training.train_sampling_strategy", "'length_buckets']"),
    ("buckets-for-images", "training.train_sampling_strategy", "length_buckets", "training.train_sampling_strategy",
     "an image-classification recipe has none"),
    ("before-not-bool", "stages.0.prune_before_training", "yes", "stages[0].prune_before_training", "expected bool"),
    ("before-without-pruning", "stages.1.prune_before_training", True, "stages[1].prune_before_training",
     "the stage has no pruning"),
    ("before-unstructured", "stages.0", {"pruning": {"structure": "unstructured", "target_sparsity": 0.5},
                                         "prune_before_training": True},
     "stages[0].prune_before_training", "zeroed weights would grow back"),
    ("before-masked-only", "stages.0", {"pruning": {"structure": "neurons", "target_sparsity": 0.5, "shrink": False},
                                        "prune_before_training": True},
     "stages[0].prune_before_training", "shrink=False"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_recipe_names_the_path_and_writes_nothing(case, base_recipe, tmp_path):
    _, dotted, value, path, fragment = case
    _set(base_recipe, dotted, value)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(RecipeError) as info:
        run_recipe(base_recipe)
    assert info.value.path == path, str(info.value)
    assert str(info.value).startswith(f"{path}: ")
    assert fragment in str(info.value)
    assert not os.path.exists(base_recipe["output_dir"])
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize(
    "override, path, fragment",
    [
        (("stages.5.training.max_steps", "1"), "--stages.5.training.max_steps", "index 5 is out of range"),
        (("training.learning_rat", "1"), "--training.learning_rat", "learning_rate"),
        (("stages.0.training.max_steps", "ten"), "--stages.0.training.max_steps", "expected int"),
        (("stages.x.name", "a"), "--stages.x.name", "not a list index"),
        (("dataset.max_train_sample", "3"), "dataset.max_train_sample", "did you mean 'max_train_samples'?"),
    ],
)
def test_bad_override(override, path, fragment, base_recipe):
    with pytest.raises(RecipeError) as info:
        load_recipe(base_recipe, [override])
    assert info.value.path == path and fragment in str(info.value)
    assert not os.path.exists(base_recipe["output_dir"])


def test_bad_yaml_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(RecipeError, match="is not valid YAML"):
        load_recipe(bad)
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "missing.yaml")


def test_unquoted_n_m_gets_a_hint(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "task: image-classification\nmodel: {path: x/y}\ndataset: {name: sklearn_digits}\n"
        "stages:\n  - pruning: {structure: 2:4}\n"
    )
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe)
    assert info.value.path == "stages[0].pruning.structure" and 'structure: "2:4"' in str(info.value)
