"""
Fused attention for ONNX Runtime, pruned layers included: each layer's head count written into the graph, then ONNX
Runtime's own transformer optimizer fuses every attention block into one `Attention` node (`QAttention` once
quantized).
"""

import os

import numpy as np

from .deps import require


# the query, key and value layers of each model type whose attention ONNX Runtime's "bert" optimizer fuses, by their
# last name (checked: a fused graph computes what the model does, `tests/export/test_fusion.py`)
FUSED_PROJECTIONS = {
    "bert": ("query", "key", "value"),
    "camembert": ("query", "key", "value"),
    "distilbert": ("q_lin", "k_lin", "v_lin"),
    "electra": ("query", "key", "value"),
    "roberta": ("query", "key", "value"),
    "xlm-roberta": ("query", "key", "value"),
}
FUSABLE_MODEL_TYPES = tuple(FUSED_PROJECTIONS)
PROJECTION_NAMES = frozenset(name for names in FUSED_PROJECTIONS.values() for name in names)
# each fused block multiplies three layers (query, key and value)
LAYERS_PER_BLOCK = 3


def resolve_head_counts(model) -> int:
    """
    Write the head count of every attention reshape that transformers exported as -1.

    transformers reshapes queries, keys and values with `view(batch, length, -1, head_size)`; ONNX Runtime's
    optimizer needs the head count itself, and falls back to one count for all layers, which a model with pruned
    heads does not have. `Reshape(x, Concat(b, s, -1, d))` with `x = MatMul(h, W) + bias` gets `W.shape[1] // d`
    heads, the value the -1 resolves to at run time, so the graph computes the same.

    Args:
        model (`onnx.ModelProto`): rewritten in place.

    Returns:
        `int`: how many reshapes were rewritten.
    """
    numpy_helper = require("onnx").numpy_helper
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    producer = {output: node for node in graph.node for output in node.output}
    rewritten = 0
    for reshape in (n for n in graph.node if n.op_type == "Reshape"):
        shape, data = producer.get(reshape.input[1]), producer.get(reshape.input[0])
        if (
            shape is None
            or shape.op_type != "Concat"
            or len(shape.input) != 4
            or data is None
            or data.op_type != "Add"
        ):
            continue
        heads, head_size = constants.get(shape.input[2]), constants.get(shape.input[3])
        if heads is None or head_size is None or heads.size != 1 or head_size.size != 1 or int(heads.item()) != -1:
            continue
        matmuls = [producer[i] for i in data.input if i in producer and producer[i].op_type == "MatMul"]
        weight = constants.get(matmuls[0].input[1]) if len(matmuls) == 1 else None
        if weight is None or weight.ndim != 2 or weight.shape[1] % int(head_size.item()):
            continue
        name = f"{shape.name or shape.output[0]}_heads"
        count = np.array([weight.shape[1] // int(head_size.item())], dtype=heads.dtype)
        graph.initializer.append(numpy_helper.from_array(count, name))
        shape.input[2] = name
        rewritten += 1
    return rewritten


def fuse_attention_blocks(fp32_path: str | os.PathLike, output_path: str | os.PathLike) -> int:
    """
    Write `fp32_path` with every attention block fused to `output_path` (ONNX Runtime's `Attention` contrib op).

    The residual LayerNormalization stays unfused (`SLOW_FUSIONS`), and so do the embeddings, whose lookups
    `export_onnx` may quantize.

    Args:
        fp32_path (`str` or `os.PathLike`): an fp32 graph written by `export_onnx`.
        output_path (`str` or `os.PathLike`): where to write the fused graph.

    Returns:
        `int`: the number of fused attention blocks.
    """
    onnx = require("onnx")
    require("onnxruntime")
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    model = onnx.load(str(fp32_path))
    resolve_head_counts(model)
    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    options.enable_embed_layer_norm = False
    optimized = optimize_model(model, model_type="bert", num_heads=0, hidden_size=0, optimization_options=options,
                               opt_level=0)  # fmt: skip
    fused = optimized.get_fused_operator_statistics().get("Attention", 0)
    if not fused:
        raise RuntimeError("export_onnx: fuse_attention=True, but ONNX Runtime's optimizer fused no attention block.")
    optimized.save_model_to_file(str(output_path))
    return fused
