"""What ONNX Runtime's graph optimizations turn a model into, for tests that check which fusions ran."""

from collections.abc import Sequence


def optimized_op_types(model: str | bytes, disabled_optimizers: Sequence[str], work_dir) -> list[str]:
    """
    The node types of `model` (an `.onnx` path or a serialized model) after `ORT_ENABLE_ALL` on the CPU without
    `disabled_optimizers`, read back from the optimized graph ONNX Runtime writes into `work_dir`.
    """
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(work_dir / f"optimized_{len(disabled_optimizers)}.onnx")
    ort.InferenceSession(
        model, options, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled_optimizers)
    )
    return [node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node]
