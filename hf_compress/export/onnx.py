"""`export_onnx`: a compressed (or plain) transformers model to ONNX, optionally with ONNX Runtime int8 MatMuls."""

import copy
import json
import os
import shutil
import tempfile
from typing import Any

import torch
import torch.nn as nn

from ..quantization.dequantize import dequantize_layers_
from ..quantization.quantized_embedding import QuantizedEmbedding
from ..quantization.quantized_linear import QuantizedLinear
from ..utils.config_mixin import atomic_write_text
from ..utils.files import apply_default_permissions
from .deps import require
from .fusion import FUSABLE_MODEL_TYPES, LAYERS_PER_BLOCK, PROJECTION_NAMES, fuse_attention_blocks


QUANTIZE_CHOICES = (None, "int8")
# transformers' scaled-dot-product attention exports to a longer graph (the scale applied to queries and keys
# separately, an `IsNaN` + `Where` guard over every attention matrix); under ONNX Runtime (Intel Xeon, 2 threads) the
# eager graph ran the SST-2 MiniLM teacher's ORT int8 1.14x / 1.32x and its -80% int8 student 1.07x / 1.17x as fast
# (batch 1 / 32), with the same accuracy (`benchmarks/onnx_attention_export.py`, 2026-12-05)
EXPORT_ATTENTION = "eager"
ATTENTION_CHOICES = (None, "eager", "sdpa")


def materialize_quantized(model: nn.Module) -> tuple[nn.Module, list[str]]:
    """
    A copy of `model` where every `QuantizedLinear` is an `nn.Linear` (and every `QuantizedEmbedding` an
    `nn.Embedding`) holding its exact dequantized weights.

    Returns:
        `(model_copy, names)`: the copy and the names of the Linear layers that were quantized.
    """
    model = copy.deepcopy(model).eval()
    names = dequantize_layers_(model)
    return model, names


class _LogitsOnly(nn.Module):
    def __init__(self, model: nn.Module, input_names: list[str]):
        super().__init__()
        self.model, self.input_names = model, input_names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = self.model(**dict(zip(self.input_names, inputs)), return_dict=True)
        return out.logits if hasattr(out, "logits") else out.last_hidden_state


def export_onnx(
    model_or_dir: nn.Module | str | os.PathLike,
    output_dir: str | os.PathLike,
    quantize: str | None = "int8",
    opset: int = 17,
    sequence_length: int = 16,
    input_names: list[str] | None = None,
    quantize_all_linear: bool = False,
    quantize_embeddings: bool | None = None,
    attn_implementation: str | None = EXPORT_ATTENTION,
    fuse_attention: bool = False,
) -> dict[str, Any]:
    """
    Export a model to `output_dir/model.onnx` (fp32 graph) and, with `quantize="int8"`, `model_int8.onnx`.

    The files are written to a staging folder beside `output_dir` and moved in only once all of them are complete, so
    a failed export leaves `output_dir` as it was; other files in `output_dir` are left alone.

    Quantized layers are first materialized with their exact dequantized weights. The int8 model uses ONNX Runtime
    dynamic quantization (int8 weights per output channel, activations quantized at run time, `MatMulInteger`
    kernels); for a model converted with symmetric per-channel 8-bit weights the re-quantization reproduces our int8
    codes. By default only the layers hf_compress quantized become int8 (plain models: every `MatMul`).

    Args:
        model_or_dir (`nn.Module`, `str` or `os.PathLike`): a model, or a directory saved by `save_compressed` /
            `save_pretrained`.
        output_dir (`str` or `os.PathLike`): where to write the ONNX files (created).
        quantize (`str`, *optional*, defaults to `"int8"`): `"int8"` or `None` (fp32 graph only).
        opset (`int`, defaults to 17): ONNX opset.
        sequence_length (`int`, defaults to 16): length of the dummy input (the axes stay dynamic).
        input_names (`list[str]`, *optional*): model inputs; default `input_ids`, `attention_mask` (+
            `token_type_ids` when the config has a token-type vocabulary).
        quantize_all_linear (`bool`, defaults to `False`): int8 for every `MatMul`, not only our quantized layers.
        quantize_embeddings (`bool`, *optional*): also store the embedding tables (`Gather` of a 2-D weight) as int8
            with one scale per table, as ONNX Runtime's own `quantize_dynamic` does; the vocabulary table is most of a
            small model's bytes. Default: when the model's own tables are quantized
            (`QuantizationConfig(embeddings=...)`, one scale per row), else not. Outputs differ slightly more from
            the PyTorch model than its Linear layers alone would make them.
        attn_implementation (`str`, *optional*, defaults to `"eager"`): the transformers attention implementation the
            exported copy runs (`model.set_attn_implementation`), `"eager"` or `"sdpa"`; `None` keeps the model's
            own. The eager graph is shorter than the SDPA one and runs faster under ONNX Runtime; the model passed in
            is not changed.
        fuse_attention (`bool`, defaults to `False`): also write `model_fused.onnx`, the fp32 graph with every
            attention block fused into ONNX Runtime's `Attention` op (pruned layers with their own head counts
            included), and quantize that one: each layer's query/key/value become one `QAttention`. The SST-2 -80%
            student ran 1.17x / 1.03x as fast as its unfused int8 export (batch 1 / 32) at the same validation
            accuracy. `QAttention` re-quantizes those weights to 7 bits, so outputs may move further from the
            PyTorch model; BERT-type encoders only (`FUSABLE_MODEL_TYPES`); the graph runs on ONNX Runtime only.

    Returns:
        `dict`: paths (`onnx`, `onnx_int8`, with `fuse_attention` `onnx_fused`), `input_names`, the quantized layer
        names and, with `fuse_attention`, `fused_attention_blocks`.
    """
    if quantize not in QUANTIZE_CHOICES:
        raise ValueError(
            f"export_onnx: quantize={quantize!r} is not supported; allowed values: {list(QUANTIZE_CHOICES)}."
        )
    if attn_implementation not in ATTENTION_CHOICES:
        raise ValueError(
            f"export_onnx: attn_implementation={attn_implementation!r} is not supported; allowed values: "
            f"{list(ATTENTION_CHOICES)} (None keeps the model's own)."
        )
    require("onnx")
    if not isinstance(model_or_dir, nn.Module):
        model_or_dir = _load(model_or_dir)
    if fuse_attention:
        _check_fusable(model_or_dir, attn_implementation)
    per_channel = any(
        isinstance(m, QuantizedLinear) and m.spec.granularity != "per_tensor" for m in model_or_dir.modules()
    )
    if quantize_embeddings is None:
        quantize_embeddings = any(isinstance(m, QuantizedEmbedding) for m in model_or_dir.modules())
    model, quantized_names = materialize_quantized(model_or_dir)
    if attn_implementation is not None and hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(attn_implementation)
    config = getattr(model, "config", None)
    if input_names is None:
        input_names = ["input_ids", "attention_mask"]
        if getattr(config, "type_vocab_size", 0):
            input_names.append("token_type_ids")
    # everything is written to a staging folder beside `output_dir` and moved in only once complete: a failed export
    # (e.g. a graph ONNX Runtime cannot fuse) leaves `output_dir` as it was
    parent = os.path.dirname(os.path.abspath(output_dir))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=f".tmp-{os.path.basename(os.path.abspath(output_dir))}-")
    try:
        fp32_path = os.path.join(staging, "model.onnx")
        dummy = tuple(torch.ones(2, sequence_length, dtype=torch.long) for _ in input_names)
        axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
        axes["logits"] = {0: "batch"}
        with torch.no_grad():
            torch.onnx.export(_LogitsOnly(model, input_names), dummy, fp32_path, input_names=input_names,
                              output_names=["logits"], dynamic_axes=axes, opset_version=opset, dynamo=False)  # fmt: skip
        result: dict[str, Any] = {"onnx": fp32_path, "input_names": input_names, "quantized_layers": quantized_names}
        source = fp32_path
        if fuse_attention:
            source = result["onnx_fused"] = os.path.join(staging, "model_fused.onnx")
            result["fused_attention_blocks"] = fuse_attention_blocks(fp32_path, source)
        if quantize == "int8":
            result["onnx_int8"] = _quantize_int8(
                source, staging, None if quantize_all_linear else quantized_names, per_channel, quantize_embeddings
            )
        return _publish(staging, output_dir, result)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: str, output_dir: str | os.PathLike, result: dict[str, Any]) -> dict[str, Any]:
    """
    Move the complete export from `staging` into `output_dir` file by file (other files there are left alone), point
    `result`'s paths at their new place and write `hf_compress_export.json` last.
    """
    output_dir = os.fspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    for name in sorted(os.listdir(staging)):
        apply_default_permissions(os.path.join(staging, name))
        os.replace(os.path.join(staging, name), os.path.join(output_dir, name))
    result = {
        key: os.path.join(output_dir, os.path.basename(value)) if key.startswith("onnx") else value
        for key, value in result.items()
    }
    atomic_write_text(os.path.join(output_dir, "hf_compress_export.json"), json.dumps(result, indent=2))
    return result


def _check_fusable(model: nn.Module, attn_implementation: str | None) -> None:
    """`fuse_attention=True` needs a BERT-type model exported with eager attention (the pattern ONNX Runtime fuses)."""
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in FUSABLE_MODEL_TYPES:
        raise ValueError(
            f"export_onnx: fuse_attention=True supports config.model_type in {list(FUSABLE_MODEL_TYPES)}, not "
            f"{model_type!r}; export with fuse_attention=False."
        )
    if attn_implementation != "eager":
        raise ValueError(
            f"export_onnx: fuse_attention=True needs attn_implementation='eager', not {attn_implementation!r}."
        )


def _quantize_int8(
    fp32_path: str, output_dir: str, layer_names: list[str] | None, per_channel: bool, embeddings: bool = False
) -> str:
    """
    ONNX Runtime dynamic int8 of `fp32_path`, restricted to the MatMuls of `layer_names` when given. Weight scales
    are per output channel when our layers were per-channel/per-group, else per tensor (then a symmetric 8-bit
    per-tensor model re-quantizes to exactly its own codes and runs ONNX Runtime's default kernels).
    """
    require("onnxruntime")
    onnx = require("onnx")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    nodes = None
    if layer_names:
        owners = {name: "/model/" + name.replace(".", "/") + "/" for name in layer_names}
        wanted = set(owners.values())
        graph = onnx.load(fp32_path, load_external_data=False).graph
        matched = [n for n in graph.node if n.op_type in ("MatMul", "Gemm") and _owner(n.name) in wanted]
        fused = [n.name for n in graph.node if n.op_type == "Attention"]
        found = {_owner(n.name) for n in matched}
        # a fused attention block (`fuse_attention=True`) holds its layer's query, key and value
        absorbed = [name for name, owner in owners.items() if owner not in found]
        if len(absorbed) != LAYERS_PER_BLOCK * len(fused) or any(
            name.rsplit(".", 1)[-1] not in PROJECTION_NAMES for name in absorbed
        ):
            raise RuntimeError(
                f"export_onnx: found {len(matched)} ONNX MatMul nodes and {len(fused)} fused attention blocks for "
                f"{len(layer_names)} quantized layers; a fused block needs its query, key and value quantized."
            )
        # quantize_dynamic first rewrites a Gemm into `<name>_MatMul` + `<name>_Add`, and filters on the new name
        nodes = [n.name for n in matched] + [n.name + "_MatMul" for n in matched if n.op_type == "Gemm"] + fused
        if embeddings:
            nodes += embedding_gathers(graph)
    elif not embeddings:
        nodes = [n.name for n in onnx.load(fp32_path, load_external_data=False).graph.node if n.op_type != "Gather"]
    int8_path = os.path.join(output_dir, "model_int8.onnx")
    quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8, per_channel=per_channel, nodes_to_quantize=nodes,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fmt: skip
    if layer_names:
        integer_matmuls = count_integer_matmuls(int8_path)
        if integer_matmuls != len(layer_names):
            raise RuntimeError(
                f"export_onnx: the int8 graph has {integer_matmuls} integer MatMuls for {len(layer_names)} quantized "
                "layers; some layers were left in fp32."
            )
    return int8_path


def embedding_gathers(graph) -> list[str]:
    """Names of the `Gather` nodes that look up rows of a 2-D initializer (embedding tables)."""
    tables = {t.name for t in graph.initializer if len(t.dims) == 2}
    return [n.name for n in graph.node if n.op_type == "Gather" and n.input and n.input[0] in tables]


def count_integer_matmuls(onnx_path: str) -> int:
    """
    Number of layers an ONNX graph multiplies in integers: one per `MatMulInteger` / `DynamicQuantizeMatMul`, three
    per `QAttention` (query, key and value).
    """
    onnx = require("onnx")
    graph = onnx.load(onnx_path, load_external_data=False).graph
    per_node = {"MatMulInteger": 1, "DynamicQuantizeMatMul": 1, "QAttention": LAYERS_PER_BLOCK}
    return sum(per_node.get(n.op_type, 0) for n in graph.node)


def _owner(node_name: str) -> str:
    """'/bert/encoder/layer.0/attention/self/query/MatMul' -> '/bert/encoder/layer/0/attention/self/query/'."""
    return node_name.rsplit("/", 1)[0].replace(".", "/") + "/"


def _load(path: str | os.PathLike) -> nn.Module:
    """Load a saved model: hf_compress's compressed format when available, else plain transformers."""
    try:
        from ..serialization import load_compressed  # type: ignore[attr-defined]
    except ImportError:
        load_compressed = None
    if load_compressed is not None:
        return load_compressed(str(path))
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(str(path))
