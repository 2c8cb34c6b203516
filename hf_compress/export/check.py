"""Check an exported ONNX model against the PyTorch model it came from."""

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from .deps import require


# graph fusions left out of every session by default: on the CPU measured (Intel Xeon with AVX-512, onnxruntime
# 1.32) the fused SkipLayerNormalization kernel took 2.2-3.6x the time of the Add + LayerNormalization it replaces
# at 2 threads, and the int8 -80% MiniLM students took 14-27% less time without it (`benchmarks/ort_skip_layernorm.py`,
# `benchmarks/results/ort_skip_layernorm.json`)
SLOW_FUSIONS = ("SkipLayerNormFusion",)


def onnx_session(
    path: str | os.PathLike | bytes, threads: int | None = None, disabled_optimizers: Sequence[str] = SLOW_FUSIONS
):
    """
    An ONNX Runtime CPU `InferenceSession` for `path`, with every graph optimization but `disabled_optimizers`.

    Args:
        path (`str`, `os.PathLike` or `bytes`): the `.onnx` file, or a serialized model.
        threads (`int`, *optional*): intra-op threads (and one inter-op thread); ONNX Runtime's default otherwise.
        disabled_optimizers (sequence of `str`, defaults to `SLOW_FUSIONS`): ONNX Runtime graph transformers to
            skip. Pass `()` to keep all of them (ONNX Runtime's own default).
    """
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(
        path if isinstance(path, bytes) else str(path),
        options,
        providers=["CPUExecutionProvider"],
        disabled_optimizers=list(disabled_optimizers),
    )


def check_onnx_export(
    onnx_path: str | os.PathLike,
    model: nn.Module,
    batches: Iterable[dict[str, torch.Tensor]],
    min_agreement: float = 0.995,
) -> dict[str, Any]:
    """
    Compare an exported model with the PyTorch `model` on `batches`.

    Args:
        onnx_path (`str` or `os.PathLike`): the `.onnx` file.
        model (`nn.Module`): the reference PyTorch model (e.g. the converted compressed model).
        batches (iterable of `dict[str, torch.Tensor]`): model inputs (a `labels` key is ignored).
        min_agreement (`float`, defaults to 0.995): `passed` is `argmax_agreement >= min_agreement`.

    Returns:
        `dict`: `argmax_agreement`, `max_abs_logit_diff`, `num_examples`, `passed`.
    """
    session = onnx_session(onnx_path)
    input_names = [i.name for i in session.get_inputs()]
    model = model.eval()
    agree, total, max_diff = 0, 0, 0.0
    for batch in batches:
        feed = {name: batch[name].numpy().astype(np.int64) for name in input_names}
        onnx_logits = session.run(None, feed)[0]
        with torch.no_grad():
            torch_logits = model(**{k: v for k, v in batch.items() if k in input_names}).logits.float().numpy()
        agree += int((onnx_logits.argmax(-1) == torch_logits.argmax(-1)).sum())
        total += len(torch_logits)
        max_diff = max(max_diff, float(np.abs(onnx_logits - torch_logits).max()))
    agreement = agree / max(total, 1)
    return {"argmax_agreement": agreement, "max_abs_logit_diff": max_diff, "num_examples": total,
            "passed": agreement >= min_agreement}  # fmt: skip
