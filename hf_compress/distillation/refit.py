"""
`refit_to_teacher_`: layer-wise distillation in closed form, to repair a structurally pruned model without training.

Removing attention heads or FFN neurons leaves the layer that *reads* them (the attention output projection, the FFN
down projection) summing fewer inputs than it was trained for, and the error compounds through the stack. Because
that layer is linear, the weights that best reproduce the original model's output from the inputs that are left are
a ridge least-squares solution: no gradient steps, a few forward passes over calibration batches. The layers are
solved in forward order, each on the inputs the already-repaired layers before it produce, so every layer also
absorbs the drift of the ones before it. This is the layer-wise reconstruction of Kwon et al., "A Fast Post-Training
Pruning Framework for Transformers" (NeurIPS 2022), which solves for per-head/per-neuron scales; here the whole
projection is re-solved, pulled towards its current weights by the ridge term.
"""

from collections.abc import Iterable, Mapping

import torch
import torch.nn as nn

from ..pruning.layers import find_layer_stack
from .intermediate import kept_layer_origin


class _StopForward(Exception):
    """Raised by a capture hook: nothing after the captured layer is needed."""


def shrunk_linear_pairs(student: nn.Module, teacher: nn.Module) -> list[tuple[str, nn.Linear, nn.Linear]]:
    """
    The student's `nn.Linear` layers that lost inputs to pruning, each with the teacher layer it was pruned from.

    A layer qualifies when the teacher has a linear layer at the same place with the same number of outputs and more
    inputs. For a student whose blocks were dropped (`structure="layers"`), block `i` is matched with the teacher
    block it was copied from.

    Returns:
        `list[tuple[str, nn.Linear, nn.Linear]]`: `(student_name, student_linear, teacher_linear)` in forward
        (registration) order.
    """
    teacher_modules = dict(teacher.named_modules())
    rename = _block_renaming(student)
    pairs = []
    for name, module in student.named_modules():
        origin = teacher_modules.get(rename(name))
        if not isinstance(module, nn.Linear) or not isinstance(origin, nn.Linear):
            continue
        if module.out_features == origin.out_features and module.in_features < origin.in_features:
            pairs.append((name, module, origin))
    return pairs


def _block_renaming(student: nn.Module):
    """Map a student module name to the teacher's: renumber kept blocks to their original index."""
    origin = kept_layer_origin(student)
    if origin is None:
        return lambda name: name
    stack, _ = find_layer_stack(student)
    prefix = stack + "."

    def rename(name: str) -> str:
        if not name.startswith(prefix):
            return name
        index, _, rest = name[len(prefix) :].partition(".")
        if not index.isdigit() or int(index) >= len(origin):
            return name
        return f"{prefix}{origin[int(index)]}" + (f".{rest}" if rest else "")

    return rename


def _capture(model: nn.Module, module: nn.Module, batch: Mapping, take_input: bool) -> torch.Tensor:
    """Run `model` on `batch` until `module` has run; return its input (`take_input`) or its output."""
    captured = {}

    def hook(_module, inputs, output):
        captured["value"] = (inputs[0] if take_input else output).detach()
        raise _StopForward

    handle = module.register_forward_hook(hook)
    try:
        model(**batch)
    except _StopForward:
        pass
    finally:
        handle.remove()
    if "value" not in captured:
        raise ValueError(f"refit_to_teacher_: {type(module).__name__} never ran in the forward pass.")
    return captured["value"]


def _tokens(values: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Flatten `(batch, seq, features)` activations to `(tokens, features)`, keeping only attended tokens."""
    if attention_mask is not None and attention_mask.shape == values.shape[:-1]:
        values = values[attention_mask.bool()]
    return values.reshape(-1, values.shape[-1])


@torch.no_grad()
def refit_to_teacher_(
    student: nn.Module,
    teacher: nn.Module,
    calibration_data: Iterable[Mapping],
    damping: float = 0.1,
    solve: str = "weights",
) -> list[str]:
    """
    Re-solve, in place, every linear layer of a structurally pruned `student` that lost inputs, so that on
    `calibration_data` its output matches the same layer of the unpruned `teacher` (ridge least squares).

    Use it when the pruned model will not be trained further: `prune_(..., shrink=True)` -> `refit_to_teacher_` ->
    `quantize_(mode="ptq")` -> `save_compressed`. On SST-2 (MiniLM, `benchmarks/refit_sst2.py`) it recovered 3-7 points
    right after pruning; as the starting point of a short fine-tuning it did worse than the plain pruned model
    (`benchmarks/suite/NOTES.md`), so do not combine the two without measuring. Weight and bias of each layer are
    solved jointly:
    `argmin_W sum_tokens ||W [x_s; 1] - y_t||^2 + lam ||W - W_0||^2`, where `x_s` is the layer's input in the student,
    `y_t` the same layer's output in the teacher, `W_0` the current (pruned) weights and
    `lam = damping * mean(diag(X^T X))`. Padding tokens (`attention_mask == 0`) are left out.

    Args:
        student (`nn.Module`): the pruned model (physically shrunk: the qualifying layers have fewer inputs).
        teacher (`nn.Module`): the model it was pruned from, unchanged.
        calibration_data (iterable of dict batches): model inputs, e.g. a `DataLoader` over a few hundred training
            rows; labels are ignored. It is iterated once per refit layer, so pass a re-iterable (a list or a
            `DataLoader`), not a generator.
        damping (`float`, defaults to 0.1): ridge strength relative to the mean input energy (> 0 keeps the solve
            well-posed when calibration tokens are few; larger stays closer to the pruned weights).
        solve (`str`, defaults to `"weights"`): `"weights"` re-solves the whole weight matrix and bias;
            `"scales"` only one scale per remaining input (per neuron; per channel of each head), as Kwon et al. do
            per unit: far fewer unknowns, so the weights stay close to the trained ones in size and shape.

    Returns:
        `list[str]`: the names of the refit layers, in order (empty when nothing was pruned structurally).

    Raises:
        ValueError: `damping` is negative, `solve` is not `"weights"` or `"scales"`, or `calibration_data` is empty
            or not re-iterable.
    """
    if not isinstance(damping, (int, float)) or isinstance(damping, bool) or damping < 0:
        raise ValueError(f"refit_to_teacher_: damping must be a number >= 0, got {damping!r}.")
    if solve not in SOLVES:
        raise ValueError(f"refit_to_teacher_: solve must be one of {list(SOLVES)}, got {solve!r}.")
    if iter(calibration_data) is calibration_data:
        raise ValueError("refit_to_teacher_: calibration_data must be re-iterable (a list or a DataLoader).")
    pairs = shrunk_linear_pairs(student, teacher)
    was_training = student.training, teacher.training
    student.eval()
    teacher.eval()
    try:
        for _, student_linear, teacher_linear in pairs:
            gram, cross = _normal_equations(student, teacher, student_linear, teacher_linear, calibration_data)
            SOLVES[solve](student_linear, gram, cross, damping)
    finally:
        student.train(was_training[0])
        teacher.train(was_training[1])
    return [name for name, _, _ in pairs]


def _normal_equations(student, teacher, student_linear, teacher_linear, calibration_data):
    """
    `X^T X` and `X^T Y` over the attended calibration tokens, `X` = the student layer's input with a constant 1
    appended (the bias), `Y` = the teacher layer's output; float64.

    The teacher runs again (up to this layer) for every refit layer although its outputs never change: keeping all
    layers' outputs for all calibration tokens instead would cost tokens x width x layers of memory, which for a
    large model outgrows the forward passes it saves. Both passes stop at the captured layer.
    """
    weight = student_linear.weight
    inputs = student_linear.in_features + 1
    gram = torch.zeros(inputs, inputs, dtype=torch.float64, device=weight.device)
    cross = torch.zeros(inputs, student_linear.out_features, dtype=torch.float64, device=weight.device)
    batches = 0
    for batch in calibration_data:
        batch = {
            k: v.to(weight.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items() if k != "labels"
        }
        mask = batch.get("attention_mask")
        x = _tokens(_capture(student, student_linear, batch, take_input=True), mask).double()
        y = _tokens(_capture(teacher, teacher_linear, batch, take_input=False), mask).double()
        x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], dim=1)
        gram += x.T @ x
        cross += x.T @ y
        batches += 1
    if batches == 0:
        raise ValueError("refit_to_teacher_: calibration_data yielded no batches.")
    return gram, cross


def _solve_weights(linear: nn.Linear, gram: torch.Tensor, cross: torch.Tensor, damping: float) -> None:
    """Ridge least squares for the whole weight matrix (and the bias, if the layer has one), towards the current."""
    weight, bias = linear.weight, linear.bias
    if bias is None:  # no constant input
        gram, cross = gram[:-1, :-1], cross[:-1]
    current = weight.detach().T if bias is None else torch.cat([weight.detach().T, bias.detach()[None]], dim=0)
    solved = _ridge(gram, cross, current.double(), damping)
    weight.data.copy_(solved[: linear.in_features].T.to(weight.dtype))
    if bias is not None:
        bias.data.copy_(solved[-1].to(bias.dtype))


def _solve_scales(linear: nn.Linear, gram: torch.Tensor, cross: torch.Tensor, damping: float) -> None:
    """
    Ridge least squares for one scale `s_j` per input column (`W -> W diag(s)`, bias kept), towards `s = 1`: the
    output is linear in `s` with features `W[:, j] x_j`, whose Gram matrix is `(X^T X) * (W^T W)`.
    """
    weight = linear.weight.detach().double()
    bias = linear.bias.detach().double() if linear.bias is not None else torch.zeros_like(weight[:, 0])
    k = linear.in_features
    features_gram = gram[:k, :k] * (weight.T @ weight)
    # sum_t x_tj * W[:, j] . (y_t - b), from X^T Y and the column sums of X (the gram row of the constant input)
    target = (cross[:k] * weight.T).sum(dim=1) - gram[:k, k] * (weight.T @ bias)
    scales = _ridge(features_gram, target[:, None], torch.ones_like(target)[:, None], damping)[:, 0]
    linear.weight.data.copy_((weight * scales[None]).to(linear.weight.dtype))


def _ridge(gram: torch.Tensor, cross: torch.Tensor, prior: torch.Tensor, damping: float) -> torch.Tensor:
    """`argmin_W ||X W - Y||^2 + lam ||W - prior||^2` from the normal equations, `lam = damping * mean(diag)`."""
    ridge = damping * gram.diagonal().mean().clamp_min(1e-12)
    identity = torch.eye(len(gram), dtype=gram.dtype, device=gram.device)
    return torch.linalg.solve(gram + ridge * identity, cross + ridge * prior)


SOLVES = {"weights": _solve_weights, "scales": _solve_scales}
