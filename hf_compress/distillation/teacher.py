"""Loading, checking and placing the frozen teacher."""

import os

import torch
import transformers
from transformers.models.auto import modeling_auto

from ..utils.validation import check_choice
from .heads import CAUSAL_LM, QUESTION_ANSWERING, detect_head


_TASK_AUTO_CLASSES = (
    ("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", "AutoModelForCausalLM"),
    ("MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES", "AutoModelForSequenceClassification"),
    ("MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES", "AutoModelForTokenClassification"),
    ("MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES", "AutoModelForQuestionAnswering"),
    ("MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES", "AutoModelForImageClassification"),
    ("MODEL_FOR_MASKED_LM_MAPPING_NAMES", "AutoModelForMaskedLM"),
)


def load_teacher(teacher: str | os.PathLike | torch.nn.Module, student: torch.nn.Module, **init_kwargs):
    """
    Return the teacher module: `teacher` itself, or a model loaded from a repo id / path with the student's task head.

    Args:
        teacher (`str`, `os.PathLike` or `torch.nn.Module`): the model, or where to load it from.
        student (`torch.nn.Module`): its class picks the `AutoModelFor*` used to load a teacher given by name.
        init_kwargs: forwarded to `from_pretrained` (e.g. `torch_dtype`, `revision`).
    """
    if isinstance(teacher, torch.nn.Module):
        return teacher
    if not isinstance(teacher, (str, os.PathLike)):
        raise ValueError(f"teacher_model must be a model, a repo id or a path; got {type(teacher).__name__}.")
    student_class = type(student).__name__
    for mapping_name, auto_name in _TASK_AUTO_CLASSES:
        if student_class in getattr(modeling_auto, mapping_name, {}).values():
            return getattr(transformers, auto_name).from_pretrained(teacher, **init_kwargs)
    return type(student).from_pretrained(teacher, **init_kwargs)


def _text_config(model: torch.nn.Module):
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "get_text_config"):
        return config.get_text_config()
    return config


def check_teacher_student(teacher: torch.nn.Module, student: torch.nn.Module) -> None:
    """
    Refuse, before any training, a teacher whose outputs can't be compared with the student's.

    Raises:
        ValueError: different head types, numbers of labels, or vocabulary sizes; or a problem type whose logits
            are not class scores.
    """
    teacher_head, student_head = detect_head(teacher), detect_head(student)
    if teacher_head.kind != student_head.kind:
        raise ValueError(
            f"teacher_model has a {teacher_head.kind!r} head ({type(teacher).__name__}) but the student has a "
            f"{student_head.kind!r} head ({type(student).__name__}); they must match."
        )
    teacher_config, student_config = _text_config(teacher), _text_config(student)
    if teacher_config is None or student_config is None:
        return
    if student_head.kind == CAUSAL_LM:
        field, t_value, s_value = "vocab_size", teacher_config.vocab_size, student_config.vocab_size
    elif student_head.kind == QUESTION_ANSWERING:
        return
    else:
        field, t_value, s_value = "num_labels", teacher.config.num_labels, student.config.num_labels
        problem_type = getattr(student.config, "problem_type", None)
        check_choice("student.config", "problem_type", problem_type, [None, "single_label_classification"])
    if t_value != s_value:
        raise ValueError(
            f"teacher_model and student have different {field}: teacher {field}={t_value}, student {field}={s_value}. "
            f"Distillation compares their logits class by class, so they must be equal."
        )


def prepare_teacher(teacher: torch.nn.Module, trainer: "transformers.Trainer") -> torch.nn.Module:
    """
    Freeze the teacher and place it like the student: same device and floating dtype, prepared by accelerate in
    evaluation mode (sharded under FSDP, an inference engine under DeepSpeed), never wrapped in DDP.
    """
    teacher.eval()
    teacher.requires_grad_(False)
    student_dtype = next(trainer.model.parameters()).dtype
    if trainer.is_deepspeed_enabled:
        return _prepare_deepspeed(teacher, trainer.accelerator)
    teacher = teacher.to(device=trainer.args.device, dtype=student_dtype if student_dtype.is_floating_point else None)
    return trainer.accelerator.prepare_model(teacher, evaluation_mode=True)


def _prepare_deepspeed(teacher: torch.nn.Module, accelerator) -> torch.nn.Module:
    """Wrap the teacher in a DeepSpeed inference engine that shares the student's ZeRO-3 partitioning (if any)."""
    import deepspeed

    plugin = accelerator.state.deepspeed_plugin
    config = {key: value for key, value in plugin.deepspeed_config.items() if key != "optimizer"}
    config.pop("scheduler", None)
    if config.get("zero_optimization", {}).get("stage") != 3:
        config["zero_optimization"] = {"stage": 0}
    engine, *_ = deepspeed.initialize(model=teacher, config=config)
    engine.eval()
    return engine
