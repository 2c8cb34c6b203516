"""Validate `training:` sections against `transformers.TrainingArguments` and parse command-line values for them."""

import dataclasses
import enum
import types
import typing
from functools import cache
from typing import Any

from transformers import TrainingArguments
from transformers.hf_argparser import string_to_bool

from ..utils.batching import LENGTH_BUCKETS
from .errors import RecipeError, join_path, unknown_key_message


MANAGED = {"output_dir": "the runner sets it per stage (inside the recipe's output_dir)"}
# `train_sampling_strategy`: the Trainer's own orders, plus hf_compress's similar-length batches in random order
# (`utils/batching.py`; the Trainer itself falls back to random order for a name it does not know)
SAMPLING_STRATEGIES = ("random", "sequential", "group_by_length", "batch_rebalance", LENGTH_BUCKETS)


@cache
def training_fields() -> dict[str, Any]:
    """`TrainingArguments` init fields by name, with their resolved type annotations."""
    hints = typing.get_type_hints(TrainingArguments)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(TrainingArguments) if f.init}


def _members(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _members(a)]
    return [annotation]


def _matches(value: Any, annotation: Any) -> bool:
    if annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if value is None:
        return annotation is type(None)
    if origin in (list, tuple) or annotation in (list, tuple):
        return isinstance(value, (list, tuple))
    if origin is dict or annotation is dict:
        return isinstance(value, dict)
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return value in {m.value for m in annotation} or isinstance(value, annotation)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def _describe(annotation: Any) -> str:
    parts = []
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, enum.Enum):
            parts.append(f"one of {[m.value for m in member]}")
        elif member is type(None):
            parts.append("null")
        else:
            parts.append(getattr(member, "__name__", str(member)))
    return " or ".join(dict.fromkeys(parts))


def check_training_section(section: Any, path: str) -> dict[str, Any]:
    """
    Check a `training:` mapping: every key a `TrainingArguments` field, every value of the field's type.

    Args:
        section (`Any`): the parsed YAML value (`None` means empty).
        path (`str`): its YAML path, for error messages.

    Returns:
        `dict`: the section (a copy).
    """
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise RecipeError(path, f"must be a mapping of TrainingArguments fields, got {type(section).__name__}")
    fields = training_fields()
    for key, value in section.items():
        key_path = join_path(path, key)
        if key in MANAGED:
            raise RecipeError(key_path, f"cannot be set in a recipe: {MANAGED[key]}")
        if key not in fields:
            raise RecipeError(key_path, unknown_key_message(key, ["<any TrainingArguments field>"] + _close(key)))
        if not any(_matches(value, member) for member in _members(fields[key])):
            raise RecipeError(key_path, f"expected {_describe(fields[key])}, got {value!r} ({type(value).__name__})")
        if key == "train_sampling_strategy" and value not in SAMPLING_STRATEGIES:
            raise RecipeError(key_path, f"got {value!r}; allowed values: {list(SAMPLING_STRATEGIES)}")
    return dict(section)


def trainer_kwargs(section: dict[str, Any]) -> dict[str, Any]:
    """
    A checked `training:` section as `TrainingArguments` keyword arguments: `length_buckets` becomes the Trainer's
    `sequential` order (the runner hands the Trainer rows already in length-bucketed order).
    """
    if section.get("train_sampling_strategy") == LENGTH_BUCKETS:
        return {**section, "train_sampling_strategy": "sequential"}
    return dict(section)


def _close(key: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(key, list(training_fields()), n=3)


def parse_training_value(key: str, text: str, path: str) -> Any:
    """
    Convert a command-line string to the type of `TrainingArguments.<key>` (HfArgumentParser conventions).

    Args:
        key (`str`): the field name.
        text (`str`): the raw value, e.g. `"3e-4"`, `"true"`, `"none"`, `"tensorboard,wandb"`.
        path (`str`): the override path, for error messages.
    """
    fields = training_fields()
    if key not in fields:
        raise RecipeError(path, unknown_key_message(key, ["<any TrainingArguments field>"] + _close(key)))
    members = _members(fields[key])
    if text.lower() in ("none", "null") and type(None) in members:
        return None
    for member in members:
        try:
            if member is bool:
                return string_to_bool(text)
            if member in (int, float):
                return member(text)
            if typing.get_origin(member) is list or member is list:
                return [item for item in text.split(",") if item]
            if isinstance(member, type) and issubclass(member, enum.Enum):
                return member(text).value
            if member is str:
                return text
        except Exception:  # noqa: BLE001 - try the next member of the union
            continue
    raise RecipeError(path, f"expected {_describe(fields[key])}, got {text!r}")


def dry_run_training_args(kwargs: dict[str, Any], path: str) -> None:
    """
    Construct `TrainingArguments` once with `kwargs` (in a placeholder, never created, output dir) so that value errors
    (bad strategy names, inconsistent options) surface before anything runs.

    Args:
        kwargs (`dict`): the merged training section.
        path (`str`): its YAML path.
    """
    import os
    import tempfile

    placeholder = os.path.join(tempfile.gettempdir(), "hf-compress-validation-never-written")
    try:
        TrainingArguments(output_dir=placeholder, **trainer_kwargs(kwargs))
    except (ValueError, TypeError) as err:
        raise RecipeError(path, str(err).splitlines()[0]) from None
