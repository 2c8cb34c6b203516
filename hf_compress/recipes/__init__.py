"""Staged YAML recipes: a strict schema, command-line overrides, and the runner behind `hf-compress run`."""

from .errors import RecipeError
from .loader import Recipe, Stage, load_recipe, validate_recipe
from .runner import RunResult, run_recipe


__all__ = ["Recipe", "RecipeError", "RunResult", "Stage", "load_recipe", "run_recipe", "validate_recipe"]
