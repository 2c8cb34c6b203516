"""What ONNX Runtime's graph optimizations turn a model into, for tests that check which fusions ran."""

import functools
import os
import tempfile
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


def ort_dynamic_int8_linear(weight, bias, work_dir):
    """
    An ONNX Runtime CPU session of `x @ weight (+ bias)` (numpy float32, `weight` `(K, N)`, `x` `(batch, K)`) after
    ORT's own `quantize_dynamic` (int8 per-channel weights, uint8 activations quantized at run time).
    """
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw" if bias is not None else "y"])]
    initializers = [numpy_helper.from_array(weight, "w")]
    if bias is not None:
        nodes.append(helper.make_node("Add", ["xw", "b"], ["y"]))
        initializers.append(numpy_helper.from_array(bias, "b"))
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, weight.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, weight.shape[1]])],
        initializers,
    )
    fp32, int8 = os.path.join(work_dir, "linear.onnx"), os.path.join(work_dir, "linear_int8.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), fp32)
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True)
    return ort.InferenceSession(int8, providers=["CPUExecutionProvider"])


@functools.cache
def onnxruntime_int8_matmul_is_exact() -> bool:
    """
    Whether ONNX Runtime's dynamic int8 MatMul on this CPU sums `uint8 x int8` products exactly. Without VNNI (AVX2
    only, as on AMD Zen 3) its kernel adds pairs of products into int16 with saturation, so two 255 x 127 products
    (64770) come out as 32767: this probe quantizes `[1, 1] @ [[1], [1]]` (codes 255 and 127) and checks for 2.0.
    """
    import numpy as np

    with tempfile.TemporaryDirectory() as work_dir:
        session = ort_dynamic_int8_linear(np.ones((2, 1), dtype=np.float32), None, work_dir)
        (output,) = session.run(None, {"x": np.ones((1, 2), dtype=np.float32)})
    return abs(float(output[0, 0]) - 2.0) < 1e-3
