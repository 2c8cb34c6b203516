"""Hidden-state and attention-map distillation: the student->teacher layer map and the learned projections."""

import torch
import torch.nn as nn

from .config import DistillationConfig
from .losses import attention_map_kl, hidden_state_mse, sum_over_items


def _num_layers_and_width(model: nn.Module, role: str) -> tuple[int, int]:
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    layers, width = getattr(config, "num_hidden_layers", None), getattr(config, "hidden_size", None)
    if layers is None or width is None:
        raise ValueError(
            f"Hidden-state/attention distillation needs num_hidden_layers and hidden_size in the {role}'s config "
            f"({type(model).__name__} has neither); set hidden_loss_weight=0 and attention_loss_weight=0."
        )
    return layers, width


def uniform_layer_map(student_layers: int, teacher_layers: int) -> list[int]:
    """Map student layer i to teacher layer round((i + 1) * T / S) - 1, so the last layers always meet."""
    return [max(0, round((i + 1) * teacher_layers / student_layers) - 1) for i in range(student_layers)]


def kept_layer_origin(model: nn.Module) -> list[int] | None:
    """The original indices of the blocks a `structure="layers"` pruning kept (`None` if it never ran)."""
    from ..pruning.layers import KEPT_LAYERS_ATTR, text_config

    origin = getattr(text_config(model), KEPT_LAYERS_ATTR, None)
    return list(origin) if isinstance(origin, (list, tuple)) and origin else None


def resolve_layer_map(config: DistillationConfig, student: nn.Module, teacher: nn.Module) -> list[int]:
    """
    Return the student->teacher layer map, checking it against both models before any training. Default: the
    blocks' origin for a student whose layers were dropped by `prune_(structure="layers")`, else uniform.

    Raises:
        ValueError: the map's length differs from the student's number of layers, or it names a teacher layer that
            does not exist.
    """
    student_layers, _ = _num_layers_and_width(student, "student")
    teacher_layers, _ = _num_layers_and_width(teacher, "teacher")
    if config.layer_map is None:
        origin = kept_layer_origin(student)
        if origin is not None and len(origin) == student_layers and max(origin) < teacher_layers:
            return origin  # a depth-pruned student: each block meets the teacher block it was copied from
        return uniform_layer_map(student_layers, teacher_layers)
    if len(config.layer_map) != student_layers:
        raise ValueError(
            f"DistillationConfig.layer_map has {len(config.layer_map)} entries but the student has {student_layers} "
            f"layers; give one teacher layer index per student layer."
        )
    bad = [index for index in config.layer_map if not 0 <= index < teacher_layers]
    if bad:
        raise ValueError(
            f"DistillationConfig.layer_map={config.layer_map} points outside the teacher: {bad}; "
            f"allowed teacher layer indices: 0..{teacher_layers - 1}."
        )
    return list(config.layer_map)


def build_projections(student: nn.Module, teacher: nn.Module, num_mapped: int) -> nn.ModuleList | None:
    """One learned `Linear(student_hidden, teacher_hidden)` per mapped layer when the widths differ, else `None`."""
    _, student_width = _num_layers_and_width(student, "student")
    _, teacher_width = _num_layers_and_width(teacher, "teacher")
    if student_width == teacher_width:
        return None
    return nn.ModuleList(nn.Linear(student_width, teacher_width, bias=False) for _ in range(num_mapped))


def intermediate_loss_sums(
    student_outputs,
    teacher_outputs,
    layer_map: list[int],
    projections: nn.ModuleList | None,
    mask: torch.Tensor,
    token_level: bool,
    with_hidden: bool,
    with_attention: bool,
) -> dict[str, torch.Tensor]:
    """
    Sum over loss items of the hidden-state MSE and attention KL across mapped layers (averaged over layers).

    `hidden_states[0]` is the embedding output, so student block `i` is `hidden_states[i + 1]`.
    """
    sums = {}
    if with_hidden:
        terms = []
        for student_index, teacher_index in enumerate(layer_map):
            student_hidden = student_outputs.hidden_states[student_index + 1]
            if projections is not None:
                student_hidden = projections[student_index](student_hidden.to(projections[student_index].weight.dtype))
            per_token = hidden_state_mse(student_hidden, teacher_outputs.hidden_states[teacher_index + 1])
            terms.append(sum_over_items(per_token, mask, token_level))
        sums["hidden"] = torch.stack(terms).mean()
    if with_attention:
        terms = []
        for student_index, teacher_index in enumerate(layer_map):
            per_query = attention_map_kl(
                student_outputs.attentions[student_index], teacher_outputs.attentions[teacher_index]
            )
            terms.append(sum_over_items(per_query, mask, token_level))
        sums["attention"] = torch.stack(terms).mean()
    return sums
