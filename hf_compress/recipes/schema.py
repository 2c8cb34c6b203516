"""
The strict recipe schema: every section's keys, types, defaults and allowed values. `check_mapping` walks a parsed
YAML mapping against a spec and raises a `RecipeError` naming the YAML path on the first unknown key, wrong type,
bad value or missing required key.
"""

from dataclasses import dataclass
from typing import Any

from .errors import RecipeError, join_path, unknown_key_message


TASKS = ("sequence-classification", "image-classification", "token-classification", "causal-lm")
BUILTIN_DATASETS = ("sklearn_digits",)
FILE_FORMATS = ("csv", "tsv", "json", "parquet")
TEACHER_SOURCES = ("original", "finetune", "path")
_REQUIRED = object()


@dataclass(frozen=True)
class Field:
    """
    One key of a section.

    Args:
        kinds (`tuple[str, ...]`): allowed YAML kinds among `str`, `int`, `float`, `bool`, `dict`, `list`, `null`.
        default (`Any`): value when absent; `_REQUIRED` makes the key mandatory.
        choices (`tuple`, *optional*): allowed values.
        help (`str`): one line shown in `hf-compress run --help-recipe`.
    """

    kinds: tuple[str, ...]
    default: Any = None
    choices: tuple | None = None
    help: str = ""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    for kind, py in (("int", int), ("float", float), ("str", str), ("dict", dict), ("list", list)):
        if isinstance(value, py):
            return kind
    return type(value).__name__


def check_value(value: Any, spec: Field, path: str) -> Any:
    """Check one value's kind and choices; ints are accepted where floats are expected."""
    kind = _kind(value)
    if kind not in spec.kinds and not (kind == "int" and "float" in spec.kinds):
        expected = " or ".join("a mapping" if k == "dict" else k for k in spec.kinds)
        raise RecipeError(path, f"expected {expected}, got {value!r} ({kind})")
    if spec.choices is not None and value is not None and value not in spec.choices:
        raise RecipeError(path, f"{value!r} is not allowed; allowed values: {', '.join(map(str, spec.choices))}")
    return value


def check_mapping(data: Any, spec: dict[str, Field], path: str) -> dict[str, Any]:
    """
    Validate `data` against `spec` and return a new dict with defaults filled in.

    Args:
        data (`Any`): the parsed YAML value.
        spec (`dict[str, Field]`): the allowed keys.
        path (`str`): the YAML path of `data`.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(path, f"expected a mapping with keys {', '.join(spec)}, got {_kind(data)}")
    for key in data:
        if key not in spec:
            raise RecipeError(join_path(path, key), unknown_key_message(key, spec))
    out = {}
    for key, field in spec.items():
        if key not in data:
            if field.default is _REQUIRED:
                raise RecipeError(join_path(path, key), f"required key is missing ({field.help})")
            out[key] = field.default() if callable(field.default) else field.default
            continue
        out[key] = check_value(data[key], field, join_path(path, key))
    return out


ROOT = {
    "name": Field(("str", "null"), help="a short name; defaults to the recipe file name"),
    "description": Field(("str", "null"), help="free text, copied into the model card"),
    "output_dir": Field(("str", "null"), help="where the compressed model goes; default outputs/<name>"),
    "seed": Field(("int",), 42, help="seed of data splits, model init and training"),
    "num_threads": Field(("int", "null"), help="torch CPU threads during the run (default: torch's choice)"),
    "model": Field(("dict",), _REQUIRED, help="the model to compress: path or config"),
    "task": Field(("str",), _REQUIRED, TASKS, help="the task head"),
    "dataset": Field(("dict",), _REQUIRED, help="the training / evaluation data"),
    "teacher": Field(("str", "dict"), "original", help="original | finetune | a path or repo id"),
    "training": Field(("dict", "null"), dict, help="TrainingArguments shared by every stage"),
    "stages": Field(("list",), _REQUIRED, help="the compression stages, run in order"),
    "evaluation": Field(("dict", "null"), dict, help="what the final report measures"),
}

MODEL = {
    "path": Field(("str", "null"), help="local directory, Hub repo id, or an installed model package name"),
    "config": Field(("dict", "null"), help="build a randomly initialised model from this config (needs model_type)"),
    "revision": Field(("str", "null"), help="Hub revision"),
    "tokenizer": Field(("str", "null"), help="tokenizer path / repo id / package (default: the model path)"),
    "num_labels": Field(("int", "null"), help="number of classes (default: from the dataset)"),
}

DATASET = {
    "name": Field(("str", "null"), help=f"Hub dataset id, or a built-in: {', '.join(BUILTIN_DATASETS)}"),
    "config": Field(("str", "null"), help="Hub dataset config name, e.g. sst2"),
    "data_files": Field(("dict", "str", "null"), help="local files: {train: path, validation: path}"),
    "format": Field(("str", "null"), None, FILE_FORMATS, help="format of data_files (default: from the extension)"),
    "text_column": Field(("str", "null"), help="text column (sequence / token classification, causal LM)"),
    "text_pair_column": Field(("str", "null"), help="second text column for sentence pairs"),
    "image_column": Field(("str", "null"), help="image column (image classification)"),
    "label_column": Field(("str", "null"), "label", help="label column (class ids, or tags for tokens)"),
    "train_split": Field(("str",), "train", help="training split name"),
    "eval_split": Field(("str", "null"), help="held-out split name (default: carve test_size out of train)"),
    "test_size": Field(("float",), 0.2, help="held-out fraction when there is no eval_split"),
    "max_train_samples": Field(("int", "null"), help="truncate the training split"),
    "max_eval_samples": Field(("int", "null"), help="truncate the held-out split"),
    "max_length": Field(("int",), 128, help="max tokens per text example"),
    "block_size": Field(("int",), 128, help="causal LM: tokens per training block"),
    "image_size": Field(("int", "null"), help="resize images to this side (built-in digits: 8 = as is)"),
}

TEACHER = {
    "source": Field(("str",), _REQUIRED, TEACHER_SOURCES, help="original | finetune | path"),
    "path": Field(("str", "null"), help="teacher directory / repo id (source: path)"),
    "training": Field(("dict", "null"), dict, help="TrainingArguments of the teacher fine-tuning (source: finetune)"),
}

STAGE = {
    "name": Field(("str", "null"), help="a label for logs and the report"),
    "pruning": Field(("dict", "list", "null"), help="one PruningConfig mapping, or a list of them"),
    "quantization": Field(("dict", "null"), help="a QuantizationConfig mapping"),
    "distillation": Field(("dict", "null"), help="a DistillationConfig mapping (distil from the teacher)"),
    "training": Field(("dict", "null"), dict, help="TrainingArguments overrides for this stage"),
    "prune_before_training": Field(
        ("bool",),
        False,
        help="prune once with prune_ before this stage trains (calibrated, units removed) instead of during training",
    ),
}

EVALUATION = {
    "latency": Field(("bool",), True, help="measure CPU latency (median, batch 1 and 32)"),
    "latency_threads": Field(("int",), 2, help="torch threads while timing"),
    "latency_runs": Field(("int",), 20, help="timed forward passes per batch size"),
    "batch_sizes": Field(("list",), lambda: [1, 32], help="batch sizes timed"),
    "sequence_length": Field(("int",), 128, help="text models: tokens per input for FLOPs and latency"),
    "image_size": Field(("int", "null"), help="vision models: input side for FLOPs and latency"),
    "max_report_rows": Field(("int",), 40, help="per-layer rows printed in report.md"),
}
