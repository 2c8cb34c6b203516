"""Dotted command-line overrides (`--stages.0.training.max_steps 10`) applied to a parsed recipe mapping."""

import copy
import re
from typing import Any

import yaml

from .errors import RecipeError
from .training_args import parse_training_value


_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def parse_scalar(text: str) -> Any:
    """A command-line string as YAML would read it, plus `1e-3`-style floats (which YAML 1.1 keeps as strings)."""
    if re.fullmatch(r"\s*\d+\s*:\s*\d+\s*", text):  # "2:4" (YAML 1.1 would read a base-60 number)
        return text.strip()
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and _NUMBER.match(text.strip()):
        return float(text)
    return value


def _is_training_path(keys: list[str]) -> bool:
    """`training.x`, `teacher.training.x` and `stages.N.training.x` hold TrainingArguments fields."""
    return len(keys) >= 2 and keys[-2] == "training"


def _step(container: Any, key: str, flag: str, create: bool) -> Any:
    if isinstance(container, list):
        if not key.isdigit():
            raise RecipeError(flag, f"{key!r} is not a list index (this part of the recipe is a list)")
        index = int(key)
        if index >= len(container):
            raise RecipeError(flag, f"index {index} is out of range: the recipe has {len(container)} item(s) there")
        return container[index]
    if not isinstance(container, dict):
        raise RecipeError(flag, f"cannot set {key!r} inside a {type(container).__name__} value")
    if key not in container or container[key] is None:
        if not create:
            return None
        container[key] = {}
    return container[key]


def apply_overrides(data: dict[str, Any], overrides: list[tuple[str, str]]) -> dict[str, Any]:
    """
    Return a copy of `data` with each `(dotted.key, raw value)` applied. `training.<field>` applies to the shared
    `training` section and to every stage that sets that field itself, so the command line always wins.

    Args:
        data (`dict`): the parsed recipe.
        overrides (`list[tuple[str, str]]`): e.g. `[("stages.0.training.max_steps", "10")]`.
    """
    data = copy.deepcopy(data)
    for dotted, raw in overrides:
        flag = f"--{dotted}"
        keys = [k for k in dotted.split(".") if k]
        if not keys:
            raise RecipeError(flag, "empty override key")
        value = parse_training_value(keys[-1], raw, flag) if _is_training_path(keys) else parse_scalar(raw)
        container: Any = data
        for key in keys[:-1]:
            container = _step(container, key, flag, create=True)
        last = keys[-1]
        if isinstance(container, list):
            _step(container, last, flag, create=False)
            container[int(last)] = value
        elif isinstance(container, dict):
            container[last] = value
        else:
            raise RecipeError(flag, f"cannot set {last!r} inside a {type(container).__name__} value")
        if keys[0] == "training" and len(keys) == 2:
            for stage in data.get("stages") or []:
                if isinstance(stage, dict) and isinstance(stage.get("training"), dict) and last in stage["training"]:
                    stage["training"][last] = value
    return data
