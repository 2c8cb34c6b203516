"""`load_recipe`: parse a YAML recipe, apply overrides and validate every section before anything runs."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..utils.batching import LENGTH_BUCKETS
from .configs import build_stage_configs
from .errors import RecipeError, join_path
from .schema import DATASET, EVALUATION, MODEL, ROOT, STAGE, TEACHER, check_mapping
from .sources import check_data_section, check_model_section
from .training_args import check_training_section, dry_run_training_args


@dataclass
class Stage:
    """One validated stage: its configs and merged `TrainingArguments` kwargs."""

    name: str
    pruning: list = field(default_factory=list)
    quantization: Any = None
    distillation: Any = None
    training: dict[str, Any] = field(default_factory=dict)
    prune_before_training: bool = False


@dataclass
class Recipe:
    """
    A validated recipe. `data` is the recipe as written (after overrides) and is saved as `recipe.yaml`.

    Args:
        name (`str`): short name. output_dir (`str`): absolute output directory. base_dir (`str`): the recipe's folder.
        model / dataset / teacher / evaluation (`dict`): the validated sections, defaults filled in.
        task (`str`): the task. seed (`int`): the seed. num_threads (`int`, *optional*): torch threads.
        stages (`list[Stage]`): the stages.
    """

    name: str
    output_dir: str
    base_dir: str
    task: str
    seed: int
    num_threads: int | None
    model: dict[str, Any]
    dataset: dict[str, Any]
    teacher: dict[str, Any]
    evaluation: dict[str, Any]
    stages: list[Stage]
    data: dict[str, Any]
    description: str | None = None

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.data, sort_keys=False)


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a recipe file with `yaml.safe_load` (no Python object tags)."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError("", f"recipe file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise RecipeError("", f"{path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise RecipeError("", f"{path} must contain a YAML mapping at the top level")
    return data


def _teacher(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        source = value if value in ("original", "finetune") else "path"
        value = {"source": source, "path": value if source == "path" else None}
    teacher = check_mapping(value, TEACHER, "teacher")
    if teacher["source"] == "path" and not teacher["path"]:
        raise RecipeError("teacher.path", "required when teacher.source is 'path'")
    teacher["training"] = check_training_section(teacher["training"], "teacher.training")
    return teacher


def validate_recipe(data: dict[str, Any], base_dir: str = ".", default_name: str = "recipe") -> Recipe:
    """
    Validate a parsed recipe mapping and return a `Recipe`. Raises `RecipeError` on the first problem.

    Args:
        data (`dict`): the recipe (after overrides).
        base_dir (`str`): folder relative data paths are also looked up in (the recipe's folder).
        default_name (`str`): name used when the recipe has none.
    """
    root = check_mapping(data, ROOT, "")
    name = root["name"] or default_name
    output_dir = os.path.abspath(root["output_dir"] or os.path.join("outputs", name))
    model = check_model_section(check_mapping(root["model"], MODEL, "model"), base_dir)
    dataset = check_data_section(check_mapping(root["dataset"], DATASET, "dataset"), root["task"], base_dir)
    teacher = _teacher(root["teacher"])
    shared = check_training_section(root["training"], "training")
    if not root["stages"]:
        raise RecipeError("stages", "needs at least one stage")
    stages = []
    for i, raw in enumerate(root["stages"]):
        path = join_path("stages", i)
        stage = check_mapping(raw, STAGE, path)
        configs = build_stage_configs(stage, path, stage["prune_before_training"])
        training = {**shared, **check_training_section(stage["training"], join_path(path, "training"))}
        dry_run_training_args(training, join_path(path, "training"))
        stages.append(Stage(name=stage["name"] or f"stage{i}", training=training,
                            prune_before_training=stage["prune_before_training"], **configs))  # fmt: skip
    if teacher["source"] == "finetune":
        dry_run_training_args({**shared, **teacher["training"]}, "teacher.training")
    check_length_buckets(root, shared, teacher, stages)
    evaluation = check_mapping(root["evaluation"], EVALUATION, "evaluation")
    return Recipe(
        name=name,
        output_dir=output_dir,
        base_dir=os.path.abspath(base_dir),
        task=root["task"],
        seed=root["seed"],
        num_threads=root["num_threads"],
        model=model,
        dataset=dataset,
        teacher=teacher,
        evaluation=evaluation,
        stages=stages,
        data=data,
        description=root["description"],
    )


def check_length_buckets(root: dict[str, Any], shared: dict, teacher: dict, stages: list) -> None:
    """`train_sampling_strategy: length_buckets` measures token sequences: image recipes cannot use it."""
    if root["task"] != "image-classification":
        return
    sections = [("training", shared), ("teacher.training", teacher.get("training") or {})]
    sections += [(join_path(join_path("stages", i), "training"), stage.training) for i, stage in enumerate(stages)]
    for path, section in sections:
        if section.get("train_sampling_strategy") == LENGTH_BUCKETS:
            raise RecipeError(
                join_path(path, "train_sampling_strategy"),
                "length_buckets batches token sequences of similar length; an image-classification recipe has none "
                "(use random, sequential or group_by_length)",
            )


def load_recipe(recipe: str | os.PathLike | dict[str, Any], overrides: list[tuple[str, str]] | None = None) -> Recipe:
    """
    Load and validate a recipe. Nothing is downloaded, trained or written.

    Args:
        recipe (`str`, `os.PathLike` or `dict`): a YAML file or an already parsed mapping.
        overrides (`list[tuple[str, str]]`, *optional*): dotted command-line overrides, e.g.
            `[("stages.0.training.max_steps", "10"), ("training.learning_rate", "3e-4")]`.

    Returns:
        `Recipe`.

    Raises:
        `RecipeError`: naming the YAML path, on any unknown key, wrong type or bad value.
    """
    from .overrides import apply_overrides

    if isinstance(recipe, dict):
        data, base_dir, default_name = recipe, ".", "recipe"
    else:
        data, base_dir, default_name = read_yaml(recipe), str(Path(recipe).parent), Path(recipe).stem
    if overrides:
        data = apply_overrides(data, overrides)
    return validate_recipe(data, base_dir, default_name)
