"""The `README.md` model card of a compressed model (huggingface_hub `ModelCard` / `ModelCardData`)."""

import json
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData


TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

{{ summary }}

Compressed with [hf_compress](https://github.com/hf-compress/hf_compress) following Bao, Liu & Zhang (MLMI 2019):
structured pruning and quantization first, then distillation from the original model.

## Compression settings

{{ settings }}

## Compression ledger (teacher vs compressed)

{{ ledger }}

{{ data_note }}

## How to load

```python
import hf_compress

model = hf_compress.load_compressed("{{ repo_hint }}")
```

`import hf_compress` also registers the `hf_compress` quantizer, so `AutoModelFor*.from_pretrained` works too.
Files: `compression_config.json` (every setting), `recipe.yaml` (the recipe that produced it, when made by
`hf-compress run`), `report.json` / `report.md` (the full per-layer report).
"""

TASK_TYPES = {
    "sequence-classification": "text-classification",
    "image-classification": "image-classification",
    "token-classification": "token-classification",
    "causal-lm": "text-generation",
}


def _settings(compression: dict[str, Any]) -> str:
    lines = []
    for i, pruning in enumerate(compression.get("pruning") or []):
        lines.append(f"- **pruning[{i}]**: `{json.dumps(pruning, sort_keys=True)}`")
    for key in ("quantization", "distillation"):
        if compression.get(key):
            lines.append(f"- **{key}**: `{json.dumps(compression[key], sort_keys=True)}`")
    return "\n".join(lines) or "- none"


def _eval_results(report: dict[str, Any], task: str | None, dataset: dict[str, Any] | None) -> list[EvalResult]:
    metrics = (report.get("compressed") or {}).get("metrics") or {}
    dataset = dataset or {}
    results = []
    for name, value in metrics.items():
        if name in ("loss", "accuracy", "f1", "perplexity"):
            results.append(
                EvalResult(
                    task_type=TASK_TYPES.get(task or "", "other"),
                    dataset_type=dataset.get("type") or "custom",
                    dataset_name=dataset.get("name") or "held-out split",
                    dataset_split=dataset.get("split"),
                    metric_type=name,
                    metric_value=float(value),
                )
            )
    return results


def build_model_card(
    compression: dict[str, Any],
    report: dict[str, Any] | None = None,
    model_name: str = "compressed-model",
    base_model: str | None = None,
    task: str | None = None,
    dataset: dict[str, Any] | None = None,
    description: str | None = None,
    repo_hint: str = "path/or/repo-id",
) -> ModelCard:
    """
    Build the model card.

    Args:
        compression (`dict`): `CompressionConfig.to_dict()`.
        report (`dict`, *optional*): the run report (`build_report`): the ledger table and `model-index` results.
        model_name (`str`): title and `model-index` name.
        base_model (`str`, *optional*): Hub id of the model that was compressed.
        task (`str`, *optional*): the recipe task. dataset (`dict`, *optional*): `{"name", "type", "split"}` of the
            held-out data. description (`str`, *optional*): free text.
        repo_hint (`str`): the id shown in the loading snippet.
    """
    from ..reporting.summary import report_markdown

    quantized = bool(compression.get("quantization"))
    tags = ["hf-compress", "compressed"]
    tags += ["pruned"] if compression.get("pruning") else []
    tags += ["quantized"] if quantized else []
    tags += ["distillation"] if compression.get("distillation") else []
    results = _eval_results(report or {}, task, dataset)
    data = ModelCardData(
        library_name="transformers",
        tags=tags,
        base_model=base_model,
        base_model_relation=("quantized" if quantized else "finetune") if base_model else None,
        pipeline_tag=TASK_TYPES.get(task or ""),
        model_name=model_name if results else None,
        eval_results=results or None,
    )
    ledger = report_markdown(report).split("\n\n")[0] if report else "(no report)"
    return ModelCard.from_template(
        data,
        template_str=TEMPLATE,
        model_name=model_name,
        summary=description or f"A compressed version of `{base_model or 'a model built from a config'}`.",
        settings=_settings(compression),
        ledger=ledger,
        data_note=f"Evaluated on: {report.get('dataset')}." if report and report.get("dataset") else "",
        repo_hint=repo_hint,
    )
