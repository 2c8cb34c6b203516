"""Task metrics: `evaluate` when its metric scripts are available (e.g. cached or online), else a local fallback."""

import logging
import math
from collections.abc import Callable
from functools import cache

import numpy as np


logger = logging.getLogger(__name__)


def _local_accuracy(predictions: np.ndarray, references: np.ndarray) -> float:
    return float((predictions == references).mean()) if len(references) else 0.0


def _local_macro_f1(predictions: np.ndarray, references: np.ndarray) -> float:
    scores = []
    for label in np.unique(np.concatenate([predictions, references])):
        tp = np.sum((predictions == label) & (references == label))
        fp = np.sum((predictions == label) & (references != label))
        fn = np.sum((predictions != label) & (references == label))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(scores)) if scores else 0.0


@cache
def _evaluate_metric(name: str):
    """`evaluate.load(name)`, or `None` when it cannot be loaded (offline without a cached script)."""
    try:
        import evaluate

        return evaluate.load(name)
    except Exception as err:  # noqa: BLE001 - any failure means: use the local implementation
        logger.info("evaluate.load(%r) unavailable (%s); using hf_compress's local metric", name, type(err).__name__)
        return None


def classification_scores(predictions: np.ndarray, references: np.ndarray, backend: str = "auto") -> dict[str, float]:
    """
    Accuracy and macro F1.

    Args:
        predictions / references (`np.ndarray`): class ids. backend (`str`): `"auto"` (evaluate, else local) or
            `"local"`.
    """
    accuracy = f1 = None
    if backend == "auto":
        acc_metric, f1_metric = _evaluate_metric("accuracy"), _evaluate_metric("f1")
        if acc_metric is not None and f1_metric is not None:
            accuracy = acc_metric.compute(predictions=predictions, references=references)["accuracy"]
            f1 = f1_metric.compute(predictions=predictions, references=references, average="macro")["f1"]
    if accuracy is None:
        accuracy, f1 = _local_accuracy(predictions, references), _local_macro_f1(predictions, references)
    return {"accuracy": float(accuracy), "f1": float(f1)}


def compute_metrics_for(task: str, backend: str = "auto") -> Callable | None:
    """A `compute_metrics` function for the `Trainer` (classification tasks), or `None` (causal LM: loss only)."""
    if task == "causal-lm":
        return None

    def compute(eval_pred) -> dict[str, float]:
        logits, labels = eval_pred.predictions, eval_pred.label_ids
        logits = logits[0] if isinstance(logits, tuple) else logits
        predictions = np.asarray(logits).argmax(-1)
        labels = np.asarray(labels)
        keep = labels != -100
        return classification_scores(predictions[keep], labels[keep], backend)

    return compute


def finalize_metrics(metrics: dict[str, float], task: str) -> dict[str, float]:
    """Strip the `eval_` prefix, drop timing keys, and add perplexity for causal LMs."""
    out = {
        key.removeprefix("eval_"): float(value)
        for key, value in metrics.items()
        if isinstance(value, (int, float))
        and not key.endswith(("_runtime", "_per_second", "epoch", "_preparation_time"))
    }
    if task == "causal-lm" and "loss" in out:
        out["perplexity"] = float(math.exp(min(out["loss"], 50.0)))
    return out
